#pragma once
// I/O-free HTTP/1.1 parsers on Boost.Beast's basic_parser (RFC 9112). Bytes in, a message head and
// body bytes out; three results as every codec here: need-more-data, progress, protocol-error.
//
// Beast does the grammar; phigate adds what a proxy needs against request smuggling, before any
// byte is forwarded (RFC 9112 §6.1, §6.3, §11.2): it refuses obs-fold, control bytes in the head,
// Content-Length together with Transfer-Encoding, repeated Content-Length or Transfer-Encoding
// fields, any transfer coding other than exactly "chunked", Transfer-Encoding on HTTP/1.0, a
// missing or repeated Host, and request-targets that are not origin-form.
#include <memory>
#include <string>
#include <string_view>

#include "codec/http/message.h"

namespace phigate::http {

struct Limits {
  uint32_t header_bytes = 64 * 1024;  // request/status line + fields (431 / 502 when exceeded)
  uint32_t max_fields = 200;
};

enum class ParseStatus {
  kNeedMore,  // feed more bytes (for the head: the whole buffer again, plus what arrived)
  kHeader,    // the head is complete; head() is valid; body bytes follow
  kBody,      // some body bytes were appended to the caller's output
  kDone,      // the message is complete
  kError,     // error() says why; the connection must be closed
};

struct ParseError {
  int status = 400;     // HTTP status for the client: 400, 413, 431, 501
  std::string code;     // stable machine code, e.g. "cl_and_te", "obs_fold"
  std::string message;  // human text, safe to show (no message bytes echoed)
};

class RequestParser {
 public:
  explicit RequestParser(Limits limits = {});
  ~RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;
  // Starts the next message on the same connection. The head's buffers (its strings, its field
  // list and the bytes the fields are views into) keep their capacity, so a keep-alive
  // connection parses heads without allocating.
  void reset();

  // Parses from `in`; `consumed` is how many bytes were used (erase them from the caller's buffer).
  // Until the head is complete nothing is consumed and the whole buffered head must be passed
  // again. Body bytes are appended to `body`. Returns kHeader once, then kBody/kNeedMore, then
  // kDone; after kDone, bytes left in the caller's buffer belong to the next (pipelined) request.
  ParseStatus feed(std::string_view in, size_t& consumed, std::string& body);
  const RequestHead& head() const;
  RequestHead& head();
  const ParseError& error() const;
  uint64_t body_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ResponseParser {
 public:
  // `head_request`: the response to HEAD has no body whatever its fields say (RFC 9110 §9.3.2).
  explicit ResponseParser(bool head_request, Limits limits = {});
  ~ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;
  // The next response on the same connection (as RequestParser::reset).
  void reset(bool head_request);

  ParseStatus feed(std::string_view in, size_t& consumed, std::string& body);
  // The upstream closed the connection: completes a close-delimited body, else an error.
  ParseStatus feed_eof();
  const ResponseHead& head() const;
  const ParseError& error() const;
  uint64_t body_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Finds the end of a head (the first blank line) in `in`, checking on the way what Beast tolerates
// but a proxy must not: obs-fold (RFC 9112 §5.2), bare CR or LF, NUL and other control bytes
// (RFC 9110 §5.5). Only the first `limit` bytes are looked at. kNeedMore leaves in `pos` where to
// go on once more bytes arrived (pass the same bytes again, plus the new ones): a head that
// arrives in pieces is scanned once, and the result does not depend on the split.
struct HeadScan {
  enum Result { kNeedMore, kComplete, kError } result = kNeedMore;
  size_t size = 0;  // kComplete: bytes of the head, blank line included
  ParseError err;   // kError
};
HeadScan scan_head(std::string_view in, size_t& pos, size_t limit);

}  // namespace phigate::http
