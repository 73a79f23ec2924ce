#pragma once
// JWS compact serialization (RFC 7515 §7.1) split and strict parse, shared by every JWT issuer.
// Parsing here is purely structural: it never checks a signature or a claim value.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "common/result.h"

namespace phigate {

// A JSON object parsed without exceptions, refusing what lenient parsers accept and issuers never
// produce: duplicate member names at any depth (RFC 7515 §5.2 / RFC 7519 §4 let a verifier reject
// them, and "last one wins" is how a claim gets smuggled past one parser and into another), a
// non-object top level, a byte-order mark, trailing data, comments, invalid UTF-8, and nesting
// deeper than kMaxJsonDepth.
inline constexpr int kMaxJsonDepth = 16;
std::optional<nlohmann::json> parse_json_object_strict(std::string_view text);

struct Jws {
  nlohmann::json header;      // protected header (object)
  nlohmann::json payload;     // claims (object)
  std::string signing_input;  // "b64header.b64payload", exactly as received
  Bytes signature;            // decoded, any length (the algorithm checks it)
};

// Exactly three '.'-separated strict base64url segments (no padding, no whitespace), header and
// payload JSON objects as parse_json_object_strict accepts. Error code: "malformed". The message
// never quotes the token.
Result<Jws> parse_jws(std::string_view token);

// RFC 7519 NumericDate: any JSON number; fractions are truncated toward negative infinity and
// out-of-range values saturate, so a huge "exp" cannot overflow. nullopt if `v` is not a number.
std::optional<int64_t> numeric_date(const nlohmann::json& v);

// True if `s` is usable as an identity string in logs and audit: no C0 control characters or DEL
// (NUL would truncate it in C APIs; newlines would forge log lines).
bool is_printable_claim(std::string_view s);

}  // namespace phigate
