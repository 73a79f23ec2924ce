#pragma once
// Thin wrappers over OpenSSL for the few primitives several folders need.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace phigate {

using Sha256 = std::array<uint8_t, 32>;

Sha256 sha256(ByteSpan data);
Sha256 sha256(std::string_view data);
Sha256 hmac_sha256(ByteSpan key, ByteSpan data);
std::string to_hex(ByteSpan data);
Bytes from_hex(std::string_view hex);  // empty on malformed input
void random_bytes(uint8_t* out, size_t n);
// 128-bit random identifier as 32 lowercase hex characters.
std::string random_id();
uint32_t random_u32();
// Constant-time comparison for secrets and MACs.
bool equal_ct(ByteSpan a, ByteSpan b);

}  // namespace phigate
