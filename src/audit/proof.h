#pragma once
// Inclusion proofs (`phigate audit prove SEQ`, `phigate audit verify-proof FILE`): a self-contained
// JSON document showing that one record is leaf seq-1 of the Merkle tree a signed checkpoint
// covers (RFC 9162 §2.1.3), checkable offline with only the audit public key:
//   {"format": "phigate-inclusion-proof/v1", "seq": N, "leaf_index": N-1, "tree_size": S,
//    "leaf": "<the stored record line>", "leaf_hash": hex, "path": [hex, ...],   // deepest first
//    "checkpoint": {key_id, node_id, root_hex, signature_b64, time_ns, tree_size}}
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audit/store.h"
#include "common/bytes.h"

namespace phigate::audit {

inline constexpr std::string_view kProofFormat = "phigate-inclusion-proof/v1";

// Builds the proof against the checkpoint with tree_size == checkpoint_size, or by default the
// newest checkpoint that covers seq. Reads the first tree_size records once (O(tree_size)).
// Errors: "not_found" (no such record or checkpoint), "tampered" (the store does not reproduce the
// checkpoint's root: run `audit verify`).
Result<std::string> make_inclusion_proof(Store& store, uint64_t seq,
                                         std::optional<uint64_t> checkpoint_size);

struct ProofReport {
  uint64_t seq = 0, tree_size = 0;
  int64_t checkpoint_time_ns = 0;
  std::string key_id, node_id;
};
// Checks a proof document: checkpoint signature under public_key (raw 32 bytes), the leaf is a
// well-formed record whose own seq is `seq` and whose chain hash is consistent, and the path
// leads from its leaf hash at index seq-1 to the signed root. Error "invalid" for a malformed
// document, "bad_proof" for one that does not verify.
Result<ProofReport> verify_inclusion_proof(std::string_view document, ByteSpan public_key);

}  // namespace phigate::audit
