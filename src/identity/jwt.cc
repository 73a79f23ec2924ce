#include "identity/jwt.h"

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "common/base64.h"

namespace phigate {

using nlohmann::json;

std::optional<json> parse_json_object_strict(std::string_view text) {
  // nlohmann skips a UTF-8 BOM silently; RFC 8259 §8.1 forbids emitting one, so no issuer does.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") return std::nullopt;

  // nlohmann keeps the last of duplicate names without telling; the parser callback sees every
  // name, so track the names of each open object on a stack and flag any repeat.
  std::vector<std::set<std::string, std::less<>>> names;
  bool rejected = false;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
        if (depth >= kMaxJsonDepth) rejected = true;
        names.emplace_back();
        break;
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) rejected = true;
        break;
      case json::parse_event_t::key:
        if (names.empty() || !parsed.is_string() ||
            !names.back().insert(parsed.get_ref<const std::string&>()).second) {
          rejected = true;
        }
        break;
      case json::parse_event_t::object_end:
        if (!names.empty()) names.pop_back();
        break;
      default:
        break;
    }
    return true;  // always keep: rejection is decided after the parse, from `rejected`
  };
  // allow_exceptions = false: a syntax error yields a discarded value instead of a throw.
  json value = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false,
                           /*ignore_comments=*/false);
  if (rejected || value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

Result<Jws> parse_jws(std::string_view token) {
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return make_error("malformed",
                      "token is not a compact JWS (expected three dot-separated parts)");
  }
  auto header_bytes = base64url_decode(token.substr(0, first));
  auto payload_bytes = base64url_decode(token.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header_bytes || !payload_bytes || !signature) {
    return make_error("malformed", "token is not valid unpadded base64url");
  }
  auto header = parse_json_object_strict(as_sv(*header_bytes));
  if (!header) return make_error("malformed", "token header is not a valid JSON object");
  auto payload = parse_json_object_strict(as_sv(*payload_bytes));
  if (!payload) return make_error("malformed", "token claims are not a valid JSON object");

  Jws jws;
  jws.header = std::move(*header);
  jws.payload = std::move(*payload);
  jws.signing_input.assign(token.substr(0, second));
  jws.signature = std::move(*signature);
  return jws;
}

std::optional<int64_t> numeric_date(const json& v) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    return u > static_cast<uint64_t>(kMax) ? kMax : static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isnan(d)) return std::nullopt;
    d = std::floor(d);
    // 2^63 is exactly representable; anything at or beyond it saturates instead of overflowing.
    if (d >= 9223372036854775808.0) return kMax;
    if (d < -9223372036854775808.0) return kMin;
    return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

bool is_printable_claim(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

}  // namespace phigate
