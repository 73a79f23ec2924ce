// Fuzz target for parser reuse on a keep-alive connection: the byte stream is parsed request after
// request once with a fresh RequestParser per message and once with one parser reset between
// messages, whose heads are moved out and kept (as the proxy keeps an exchange's head) while the
// parser goes on. Invariants: both give the same heads, fields, bodies and error; every kept head
// still reads the same after all parsing (its field views stay valid), and so does a copy of it.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "codec/http/parser.h"

using namespace phigate::http;

namespace {

std::string describe(const RequestHead& h) {
  std::string out = h.method + " " + h.target + "\n";
  for (const Field& f : h.fields.list) {
    out.append(f.name);
    out += ':';
    out.append(f.value);
    out += '\n';
  }
  return out;
}

struct Outcome {
  std::vector<std::string> heads;
  std::string bodies;
  std::string error;
};

Outcome parse_stream(std::string_view in, size_t step, bool reuse, std::vector<RequestHead>* kept) {
  Outcome o;
  std::string buf;
  size_t fed = 0;
  auto parser = std::make_unique<RequestParser>();
  for (int messages = 0; messages < 64; ++messages) {
    if (reuse) {
      if (messages > 0) parser->reset();
    } else {
      parser = std::make_unique<RequestParser>();
    }
    for (;;) {
      size_t consumed = 0;
      std::string body;
      ParseStatus st = parser->feed(buf, consumed, body);
      buf.erase(0, consumed);
      o.bodies += body;
      if (st == ParseStatus::kError) {
        o.error = parser->error().code;
        return o;
      }
      if (st == ParseStatus::kHeader) {
        o.heads.push_back(describe(parser->head()));
        if (kept) kept->push_back(std::move(parser->head()));
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
  std::vector<RequestHead> kept;
  Outcome fresh = parse_stream(in, in.size() + 1, false, nullptr);
  Outcome reused = parse_stream(in, step, true, &kept);
  if (fresh.heads != reused.heads || fresh.bodies != reused.bodies || fresh.error != reused.error)
    abort();
  if (kept.size() != reused.heads.size()) abort();
  for (size_t i = 0; i < kept.size(); ++i) {
    if (describe(kept[i]) != reused.heads[i]) abort();
    RequestHead copy = kept[i];
    if (describe(copy) != reused.heads[i]) abort();
  }
  return 0;
}
