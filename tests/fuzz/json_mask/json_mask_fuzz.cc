// Fuzz target for the streaming JSON masker: the input (after a split-size byte) is a response
// body. Invariants: no crash; the output does not depend on how the body is split; when the masker
// accepts the whole body its output is valid JSON (checked with nlohmann) whenever the input was,
// and no value under a masked path survives.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "mask/json_stream.h"

using namespace phigate::mask;

namespace {

const JsonMaskConfig& config() {
  static JsonMaskConfig c = [] {
    JsonMaskConfig c;
    for (const char* p : {"$.ssn", "$..secret", "$.list[*].v", "$.o.*"}) {
      JsonRule r;
      r.path_text = p;
      r.path = *parse_json_path(p);
      r.action = Action::kRedact;
      r.label = "M";
      c.rules.push_back(std::move(r));
    }
    Profile prof;
    prof.detectors = {"US_SSN", "EMAIL_ADDRESS"};
    c.engine = *Engine::compile(prof);
    c.max_value = 64;
    c.max_depth = 64;
    return c;
  }();
  return c;
}

bool run(std::string_view in, size_t step, std::string& out) {
  JsonStreamMasker m(config());
  for (size_t i = 0; i < in.size(); i += step)
    if (!m.feed(in.substr(i, step), out)) return false;
  return m.finish(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 32;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string a, b;
  bool ok_a = run(in, step, a);
  bool ok_b = run(in, in.size() + 1, b);
  if (ok_a != ok_b) abort();
  if (ok_a && a != b) abort();
  if (ok_a) {
    auto src = nlohmann::json::parse(in, nullptr, false);
    if (!src.is_discarded()) {
      auto out = nlohmann::json::parse(a, nullptr, false);
      if (out.is_discarded()) abort();
      if (out.is_object() && out.contains("ssn") && out["ssn"] != "[M]" && !out["ssn"].is_null())
        abort();
    }
  }
  return 0;
}
