#pragma once
// Canonical encoding and hash chain. The canonical form is JSON with keys sorted and no whitespace
// of every field except `hash`; hash = SHA-256(prev_hash_hex || "\n" || canonical) in hex. Anyone
// can recompute it from an exported record, so verification needs no phigate code beyond this rule.
//
// The rule, precisely (so an external verifier can reproduce it, e.g. in Python:
//   canon = json.dumps({k: v for k, v in rec.items() if k != "hash"}, sort_keys=True,
//                      separators=(",", ":"), ensure_ascii=False)
//   hash  = sha256((rec["prev_hash"] + "\n" + canon).encode()).hexdigest()):
// - every Event field is present under its C++ member name, empty strings/arrays/objects included,
//   except the optional fields appended later (act_chain, approval_id, capture, client_tls,
//   upstream_tls), which are omitted while empty so that records written before they existed keep
//   their hashes;
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

// OpenSSL types, declared here so callers need not include <openssl/evp.h>.
struct evp_md_st;
struct evp_md_ctx_st;

namespace phigate::audit {

inline const std::string kGenesisHash(64, '0');

std::string canonical_json(const Event& e);  // excludes `hash`
std::string chain_hash(const std::string& prev_hash, const std::string& canonical);
// Full record including `hash`, for storage and export (JSONL line).
std::string to_json_line(const Event& e);

// to_json_line(e) appended to a reused buffer.
void append_json_line(const Event& e, std::string& out);

// chain_hash with a digest context kept across calls (one per thread; not thread-safe).
class ChainHasher {
 public:
  ChainHasher();
  ~ChainHasher();
  ChainHasher(const ChainHasher&) = delete;
  ChainHasher& operator=(const ChainHasher&) = delete;
  std::string hash(std::string_view prev_hash, std::string_view canonical) {
    return hash(prev_hash, canonical, {});
  }
  // The same over a canonical form held in two pieces (it is canonical_head + canonical_tail).
  std::string hash(std::string_view prev_hash, std::string_view canonical_head,
                   std::string_view canonical_tail);
  // Writes the 64 hex digits to `hex` instead of a new string.
  void hash_hex(std::string_view prev_hash, std::string_view canonical_head,
                std::string_view canonical_tail, char* hex);

 private:
  evp_md_st* md_;
  evp_md_ctx_st* ctx_;
};
// The writer's one-pass form of the above: sets e.hash = chain_hash(e.prev_hash, canonical_json(e))
// and appends to_json_line(e) to `out`, encoding the record once and copying nothing: the line is
// encoded around a placeholder hash of the final length, the canonical form is hashed as the two
// pieces either side of the hash field, and the placeholder is then overwritten.
void append_chained_line(Event& e, ChainHasher& hasher, std::string& out);

// Parses a stored/exported line back; nullopt if it is not a well-formed record: not JSON, a field
// missing or of the wrong type, or an unknown field. Never throws.
std::optional<Event> from_json_line(const std::string& line);

// Replaces each byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF) with U+FFFD. Valid input is returned unchanged. Stores use it
// for indexed copies of record fields so the copy equals what the record holds.
std::string sanitize_utf8(std::string_view s);
bool is_valid_utf8(std::string_view s);

}  // namespace phigate::audit
