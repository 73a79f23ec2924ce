#pragma once
// Strict base64url (RFC 4648 §5) without padding, as JWS compact serialization requires (RFC 7515
// §2): padding, whitespace, non-alphabet characters and non-canonical trailing bits are rejected.
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace phigate {

std::string base64url_encode(ByteSpan data);
std::optional<Bytes> base64url_decode(std::string_view text);
// Standard base64 with padding (RFC 4648 §4), used by SCRAM.
std::string base64_encode(ByteSpan data);
std::optional<Bytes> base64_decode(std::string_view text);

}  // namespace phigate
