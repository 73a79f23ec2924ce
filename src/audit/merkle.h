#pragma once
// Merkle tree hashing over audit records, exactly as RFC 6962 §2.1 / RFC 9162 §2.1 define it, so
// any Certificate-Transparency-style verifier (and a few lines of Python) can check phigate's
// checkpoints and proofs without phigate code:
//   leaf hash  = SHA-256(0x00 || leaf bytes)      leaf bytes = the record's stored JSON line
//   node hash  = SHA-256(0x01 || left || right)
//   MTH({})    = SHA-256("")
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k = the largest power of two < n.
// The 0x00/0x01 prefixes keep a leaf from ever being passed off as an interior node (second
// preimage attack on naive Merkle trees).
//
// Leaf i of the audit tree is the record with the i-th smallest seq (0-based), so tree_size is the
// number of records a checkpoint covers.
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/result.h"

namespace phigate::audit {

Sha256 merkle_leaf_hash(std::string_view leaf_bytes);
Sha256 merkle_node_hash(const Sha256& left, const Sha256& right);
// MTH of the empty list (RFC 9162 §2.1.1): SHA-256 of the empty string.
Sha256 merkle_empty_root();

// Returns the hash of leaf `index` (0-based). Lets proofs be built over a store without loading
// the whole log; callers check that every index below the tree size exists before asking.
using LeafHashFn = std::function<Sha256(uint64_t index)>;

// Incremental MTH: keeps only the roots of the perfect subtrees that make up the current tree
// (one per set bit of size(), largest/leftmost first), so appending is amortised O(1) hashes and
// state is O(log n). root() folds them right to left, which is the RFC split rule: the leftmost
// perfect subtree has exactly the largest power of two < n leaves.
class MerkleAccumulator {
 public:
  MerkleAccumulator() = default;
  // Restores a saved state (e.g. persisted next to a checkpoint). nullopt unless `frontier` holds
  // exactly popcount(size) hashes.
  static std::optional<MerkleAccumulator> from_frontier(uint64_t size,
                                                        std::vector<Sha256> frontier);

  void append_leaf_hash(const Sha256& leaf_hash);
  void append_leaf(std::string_view leaf_bytes) { append_leaf_hash(merkle_leaf_hash(leaf_bytes)); }
  uint64_t size() const { return size_; }
  Sha256 root() const;
  const std::vector<Sha256>& frontier() const { return frontier_; }

 private:
  uint64_t size_ = 0;
  std::vector<Sha256> frontier_;
};

// MTH(D[begin:end]) reading leaf hashes through `leaf`; O(end - begin) reads, O(log n) memory.
Sha256 merkle_root(uint64_t begin, uint64_t end, const LeafHashFn& leaf);

// RFC 9162 §2.1.3.1 PATH(index, D[0:size]), deepest sibling first. O(size) leaf reads: it hashes
// every sibling subtree. Error "range" unless index < size.
Result<std::vector<Sha256>> merkle_inclusion_proof(uint64_t index, uint64_t size,
                                                   const LeafHashFn& leaf);
// RFC 9162 §2.1.3.2. True only if `proof` shows `leaf_hash` at `index` in the tree of `size`
// leaves whose root is `root`. Never reads past the proof; any length mismatch fails.
bool merkle_verify_inclusion(uint64_t index, uint64_t size, const Sha256& leaf_hash,
                             const std::vector<Sha256>& proof, const Sha256& root);

// RFC 9162 §2.1.4.1 PROOF(first, D[0:second]): shows that the tree of `first` leaves is a prefix of
// the tree of `second` leaves. Empty when first == second. Error "range" unless
// 0 < first <= second (a consistency proof from the empty tree proves nothing).
Result<std::vector<Sha256>> merkle_consistency_proof(uint64_t first, uint64_t second,
                                                     const LeafHashFn& leaf);
// RFC 9162 §2.1.4.2, plus the first == second case (empty proof, equal roots).
bool merkle_verify_consistency(uint64_t first, uint64_t second, const Sha256& first_root,
                               const Sha256& second_root, const std::vector<Sha256>& proof);

}  // namespace phigate::audit
