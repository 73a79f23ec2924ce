#pragma once
// A zero-copy view of one stored audit line (audit::to_json_line), for the paths that touch every
// record: verification, export, proofs. Parsing a line with nlohmann costs ~5 us; this walks the
// top-level object once, checks that it has exactly the canonical keys in canonical (sorted) order,
// and keeps spans of the few fields those paths need. No allocation.
//
// Why verification may hash the raw line instead of re-encoding a parsed record: the gateway only
// ever hashes canonical encodings, so a line whose bytes (minus the `hash` field) hash to its
// `hash` is byte-identical to what the gateway hashed (SHA-256 second-preimage resistance). A line
// that is not canonical (different escaping, whitespace, duplicated keys) therefore fails the hash
// check exactly like an edited one. The key-order check only makes sure the `hash` field we cut out
// is the real top-level one.
#include <cstdint>
#include <string_view>

namespace phigate::audit {

struct RecordView {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  // Raw JSON string contents (between the quotes, still escaped). `escaped` says whether any of
  // the string fields below holds a backslash, i.e. differs from its decoded text.
  std::string_view prev_hash, hash, node_id, session_id, type, sub, resource;
  bool escaped = false;
  // What a per-session summary needs (store/sqlite/sqlite_sessions.h), kept apart so `escaped`
  // (which makes scan_lines compare columns the slow way) still covers only the fields above.
  // Raw string contents like the above; `roles` is the raw JSON array text, brackets included.
  std::string_view decision, status, issuer, task_id, workflow_id, act_sub, client_addr,
      client_user, protocol, client_tls, upstream_tls, roles;
  // `capture` (hex name of a result's captured blob): what retention keeps blobs for.
  std::string_view capture;
  bool summary_escaped = false;
  // The `,"hash":"<64 hex>"` field: the canonical form hashed by the chain is the line without
  // [hash_field_begin, hash_field_end).
  size_t hash_field_begin = 0, hash_field_end = 0;
};

// False unless `line` is one JSON object with exactly the 33 record keys (plus the optional
// appended ones), in sorted order, with values of the right JSON kinds, seq a non-negative integer
// and hash/prev_hash 64 lowercase hex digits. Cheap enough to run on every record (~100-200 ns for
// a typical line).
bool parse_record_view(std::string_view line, RecordView& out);

// Hex SHA-256 chain hash of a viewed line: SHA-256(prev_hash "\n" line-without-hash-field).
// Writes 32 raw bytes to `out`.
void record_chain_digest(std::string_view line, const RecordView& v, uint8_t out[32]);

// Lowercase hex of 32 bytes compared with a 64-char hex string, without allocating.
bool digest_equals_hex(const uint8_t d[32], std::string_view hex);

}  // namespace phigate::audit
