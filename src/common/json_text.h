#pragma once
// JSON string literals (RFC 8259 §7) for text phigate writes itself: error bodies, masked values.
// Invalid UTF-8 becomes U+FFFD, so the output is always valid JSON.
#include <string>
#include <string_view>

namespace phigate {

// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);
inline std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace phigate
