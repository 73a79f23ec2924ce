#include "common/base64.h"

namespace phigate {

namespace {
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encode(ByteSpan data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = data[i] << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (data[i] << 16) | (data[i + 1] << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out += "=";
  }
  return out;
}

int value_of(char c, const char* alphabet) {
  for (int i = 0; i < 64; ++i)
    if (alphabet[i] == c) return i;
  return -1;
}

// Decodes unpadded text strictly: a length of 1 mod 4 is impossible, and the unused low bits of the
// last character must be zero, so every byte string has exactly one accepted encoding.
std::optional<Bytes> decode_unpadded(std::string_view text, const char* alphabet) {
  if (text.size() % 4 == 1) return std::nullopt;
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value_of(c, alphabet);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(uint8_t(acc >> bits));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}
}  // namespace

std::string base64url_encode(ByteSpan data) { return encode(data, kUrl, false); }

std::optional<Bytes> base64url_decode(std::string_view text) { return decode_unpadded(text, kUrl); }

std::string base64_encode(ByteSpan data) { return encode(data, kStd, true); }

std::optional<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  std::string_view body = text.substr(0, text.size() - pad);
  if (body.find('=') != std::string_view::npos) return std::nullopt;
  auto out = decode_unpadded(body, kStd);
  if (!out) return std::nullopt;
  // Padding must be exactly what the unpadded length implies.
  if (body.size() % 4 == 2 && pad != 2) return std::nullopt;
  if (body.size() % 4 == 3 && pad != 1) return std::nullopt;
  if (body.size() % 4 == 0 && pad != 0) return std::nullopt;
  return out;
}

}  // namespace phigate
