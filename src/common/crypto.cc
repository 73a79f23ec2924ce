#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "common/ascii.h"

namespace phigate {

Sha256 sha256(ByteSpan data) {
  Sha256 out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

Sha256 sha256(std::string_view data) { return sha256(as_bytes(data)); }

Sha256 hmac_sha256(ByteSpan key, ByteSpan data) {
  Sha256 out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(),
       &len);
  return out;
}

std::string to_hex(ByteSpan data) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (uint8_t b : data) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

Bytes from_hex(std::string_view hex) {
  if (hex.size() % 2) return {};
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return {};
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void random_bytes(uint8_t* out, size_t n) {
  // A CSPRNG failure leaves no safe way to mint keys or ids: stop rather than continue weakly.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

std::string random_id() {
  uint8_t b[16];
  random_bytes(b, sizeof b);
  return to_hex(ByteSpan(b, sizeof b));
}

uint32_t random_u32() {
  uint32_t v;
  random_bytes(reinterpret_cast<uint8_t*>(&v), sizeof v);
  return v;
}

bool equal_ct(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace phigate
