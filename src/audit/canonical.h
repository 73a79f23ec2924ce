#pragma once
// Canonical encoding and hash chain. The canonical form is JSON with keys sorted and no whitespace
// of every field except `hash`; hash = SHA-256(prev_hash_hex || "\n" || canonical) in hex. Anyone
// can recompute it from an exported record, so verification needs no phigate code beyond this rule.
//
// The rule, precisely (so an external verifier can reproduce it, e.g. in Python:
//   canon = json.dumps({k: v for k, v in rec.items() if k != "hash"}, sort_keys=True,
//                      separators=(",", ":"), ensure_ascii=False)
//   hash  = sha256((rec["prev_hash"] + "\n" + canon).encode()).hexdigest()):
// - every Event field is present under its C++ member name, empty strings/arrays/objects included;
// - strings are UTF-8 and emitted raw (not \u-escaped) except `"`, `\` and control characters
//   below U+0020, which use the short escapes (\b \f \n \r \t) or \u00xx (lowercase hex);
// - integers are plain decimal; `masked` is an object with sorted keys.
// Adapters may hand us arbitrary bytes (SQL text, bind parameters): before encoding, every byte
// that does not start a well-formed UTF-8 sequence is replaced by U+FFFD (see sanitize_utf8). The
// stored/exported record therefore always holds valid UTF-8, and parsing it back and re-encoding
// reproduces the same canonical bytes and hash.
#include <optional>
#include <string>
#include <string_view>

#include "audit/event.h"

namespace phigate::audit {

inline const std::string kGenesisHash(64, '0');

std::string canonical_json(const Event& e);  // excludes `hash`
std::string chain_hash(const std::string& prev_hash, const std::string& canonical);
// Full record including `hash`, for storage and export (JSONL line).
std::string to_json_line(const Event& e);
// Parses a stored/exported line back; nullopt if it is not a well-formed record: not JSON, a field
// missing or of the wrong type, or an unknown field. Never throws.
std::optional<Event> from_json_line(const std::string& line);

// Replaces each byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF) with U+FFFD. Valid input is returned unchanged. Stores use it
// for indexed copies of record fields so the copy equals what the record holds.
std::string sanitize_utf8(std::string_view s);
bool is_valid_utf8(std::string_view s);

}  // namespace phigate::audit
