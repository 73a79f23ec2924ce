#pragma once
// HTTP body capture for the audit record (issue 7, `http.capture_bodies: N` per resource): the
// first N bytes of the request body as forwarded upstream and the first N bytes of the response
// body as sent to the client (after masking; decoded when the upstream compressed it), stored as a
// content-addressed blob in the audit blob store, named by the `capture` field of the
// `http_result` record (the same mechanism as PostgreSQL result capture, proxy/result_capture.h).
//
// Blob format (JSON, keys sorted; a side is absent when it had no body bytes):
//   {"request": {"content_type":"application/json","body":"{\"a\":1}","bytes":7,
//                "truncated":false},
//    "response":{"content_type":"application/json","body":"{\"ssn\":\"[US_SSN]\"}","bytes":17,
//                "truncated":false,"status":200}}
// "body" is the captured text when it is printable UTF-8, else "\\x" followed by lowercase hex of
// the captured bytes (as result_capture renders binary values). A UTF-8 sequence is never split by
// the cap. "bytes" is the whole body's size as it went through phigate (not only the captured
// part); "truncated" is true when the body was longer than the cap. Header fields are not captured
// at all (the Authorization token never reaches the audit log); only bodies and Content-Type.
//
// Bounded memory: at most N bytes per side, reserved once per exchange.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace phigate::audit {
class BlobStore;
}

namespace phigate::proxy {

class HttpBodyCapture {
 public:
  // `cap` 0 turns capture off (every call below is then one comparison).
  void start(uint64_t cap, std::string_view request_content_type);
  bool enabled() const { return cap_ > 0; }

  void request(std::string_view piece) { add(req_, piece); }
  // The whole request body at once (replaces what was captured: a retried send counts once).
  void request_whole(std::string_view body);
  void response_head(int status, std::string_view content_type);
  void response(std::string_view piece) { add(resp_, piece); }
  // phigate answered itself instead (a refusal after the upstream's head, e.g. a body that could
  // not be masked or decoded): the upstream's body never reached the client, so it is not kept.
  void drop_response();

  // The blob ("" when capture is off or neither side had a body).
  std::string render() const;
  // Stores the blob and returns its hash; "" when there is nothing to store or the store failed
  // (logged: the result record is still written, without a capture).
  std::string store(audit::BlobStore* blobs, const std::string& session_id) const;

 private:
  struct Side {
    std::string content_type;
    std::string data;
    uint64_t total = 0;
    bool seen = false;
  };
  void add(Side& s, std::string_view piece);

  uint64_t cap_ = 0;
  int status_ = 0;
  Side req_, resp_;
};

}  // namespace phigate::proxy
