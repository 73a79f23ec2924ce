#pragma once
// Retention anchor (issue 6): what remains of a pruned prefix of the audit log so that the rest
// still verifies. Records 1..tree_size are gone; the anchor keeps
//   - last_hash: the hash of record tree_size, where the hash chain continues (record
//     tree_size + 1 must name it as prev_hash);
//   - frontier: the Merkle accumulator state after tree_size leaves (the roots of the perfect
//     subtrees, largest first, as MerkleAccumulator::frontier()), from which the tree over the
//     remaining records continues, so later checkpoints still recompute.
// Pruning happens only at a signed checkpoint whose tree_size equals the anchor's: the frontier's
// root must equal that checkpoint's signed root, which authenticates the frontier; a changed
// last_hash breaks the chain at record tree_size + 1. Both are checked by verify_log.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"

namespace phigate::audit {

struct Anchor {
  uint64_t tree_size = 0;
  std::string last_hash;         // hex, hash of record seq == tree_size
  std::vector<Sha256> frontier;  // popcount(tree_size) subtree roots
  int64_t last_time_ns = 0;      // time of record tree_size
  int64_t pruned_at_ns = 0;      // when the prune ran
  std::string retention;         // the horizon that applied, e.g. "6y"

  bool operator==(const Anchor&) const = default;
};

// One JSON object, keys sorted, frontier as hex strings.
std::string anchor_to_json(const Anchor& a);
// nullopt unless exactly the fields above with the right types and a well-formed frontier.
std::optional<Anchor> anchor_from_json(std::string_view text);

}  // namespace phigate::audit
