// Fuzz target for the HTTP body capture (proxy/http_capture.h): the input is split into a cap, a
// content type, a request body and a response body, fed in pieces. Invariants: no crash; the
// blob, when there is one, is JSON (nlohmann parses it) whose bodies keep to the cap (text never
// longer than the cap, hex never more than two digits per captured byte), whose "bytes" are the
// full sizes, and whose "truncated" says whether a body was longer than the cap.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "proxy/http_capture.h"

using phigate::proxy::HttpBodyCapture;

namespace {

void check_side(const nlohmann::json& side, std::string_view body, uint64_t cap) {
  if (side.is_null()) {
    if (!body.empty()) std::abort();  // a side with bytes is never left out
    return;
  }
  // Text is at most `cap` bytes; hex ("\\x" + two digits a byte) at most `cap` bytes' worth.
  const std::string text = side.at("body").get<std::string>();
  const bool hex_form = text.rfind("\\x", 0) == 0 && text.size() % 2 == 0;
  if (text.size() > cap && !(hex_form && (text.size() - 2) / 2 <= cap)) std::abort();
  if (side.at("bytes").get<uint64_t>() != body.size()) std::abort();
  if (side.at("truncated").get<bool>() != (body.size() > cap)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint64_t cap = 1 + data[0] % 64;
  const size_t step = 1 + data[1] % 16;
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t split = rest.empty() ? 0 : data[2] % (rest.size() + 1);
  std::string_view req = rest.substr(0, split), resp = rest.substr(split);
  std::string_view ctype = req.substr(0, std::min<size_t>(req.size(), 8));

  HttpBodyCapture c;
  c.start(cap, ctype);
  for (size_t i = 0; i < req.size(); i += step) c.request(req.substr(i, step));
  c.response_head(200, "application/json");
  for (size_t i = 0; i < resp.size(); i += step) c.response(resp.substr(i, step));
  const std::string blob = c.render();
  if (blob.empty()) {
    if (!req.empty() || !resp.empty()) std::abort();
    return 0;
  }
  auto j = nlohmann::json::parse(blob, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) std::abort();
  check_side(j.contains("request") ? j["request"] : nlohmann::json(), req, cap);
  check_side(j.contains("response") ? j["response"] : nlohmann::json(), resp, cap);
  return 0;
}
