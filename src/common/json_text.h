#pragma once
// JSON string literals (RFC 8259 §7): written for text phigate produces (error bodies, masked
// values; invalid UTF-8 becomes U+FFFD, so the output is always valid JSON) and decoded for values
// it reads (the streaming masker).
#include <string>
#include <string_view>

namespace phigate {

// Appends `s` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view s);
// True when append_json_string writes `s` unchanged between the quotes: printable ASCII
// (0x20-0x7e) without '"' or '\\'.
bool json_plain(std::string_view s);
// The text of a JSON string literal's contents (`raw`: between the quotes, escapes as written):
// escapes decoded, \u surrogate pairs joined, a lone surrogate as U+FFFD. False on a malformed
// escape.
bool decode_json_string(std::string_view raw, std::string& out);
inline std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

}  // namespace phigate
