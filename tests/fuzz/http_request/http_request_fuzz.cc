// Fuzz target for the HTTP request parser: the input is a client connection's byte stream, parsed
// request after request (pipelining) in pieces whose sizes come from the first byte. Invariants:
// no crash; a split never changes the outcome (the same stream parsed whole gives the same heads,
// bodies and error); after a head is accepted, its framing is never ambiguous (not chunked and a
// Content-Length at once); an accepted target normalises or is refused, never crashes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "codec/http/headers.h"
#include "codec/http/parser.h"
#include "codec/http/target.h"

using namespace phigate::http;

namespace {

struct Outcome {
  std::vector<std::string> heads;  // method + target per accepted head
  std::string bodies;
  std::string error;
};

Outcome parse_stream(std::string_view in, size_t step) {
  Outcome o;
  std::string buf;
  size_t fed = 0;
  for (int messages = 0; messages < 64; ++messages) {
    RequestParser p;
    bool head_seen = false;
    for (;;) {
      size_t consumed = 0;
      std::string body;
      ParseStatus st = p.feed(buf, consumed, body);
      buf.erase(0, consumed);
      o.bodies += body;
      if (st == ParseStatus::kError) {
        o.error = p.error().code;
        return o;
      }
      if (st == ParseStatus::kHeader && !head_seen) {
        head_seen = true;
        const RequestHead& h = p.head();
        if (h.framing.chunked && h.framing.content_length) abort();
        if (h.fields.count("content-length") > 1 || h.fields.count("transfer-encoding") > 1)
          abort();
        o.heads.push_back(h.method + " " + h.target);
        Target t;
        std::string why;
        if (normalize_target(h.target, t, why)) {
          if (t.path.empty() || t.path[0] != '/') abort();
          if (t.path.find("/../") != std::string::npos || t.path.find("//") != std::string::npos)
            abort();
        }
        std::string tok;
        bool present = false;
        bearer_token(h.fields, tok, present);
        Fields f = h.fields;
        strip_hop_by_hop(f);
        strip_identity_fields(f);
        audit_query(t.query);
      }
      if (st == ParseStatus::kDone) break;
      if (st == ParseStatus::kNeedMore) {
        if (fed == in.size()) return o;
        size_t n = std::min(step, in.size() - fed);
        buf.append(in.substr(fed, n));
        fed += n;
      }
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Outcome a = parse_stream(in, step);
  Outcome b = parse_stream(in, in.size() + 1);
  if (a.heads != b.heads || a.bodies != b.bodies || a.error != b.error) abort();
  return 0;
}
