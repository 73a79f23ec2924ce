#include "audit/merkle.h"

#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <memory>
#include <utility>

namespace phigate::audit {
namespace {

const EVP_MD* fetched_sha256() {
  struct MdDeleter {
    void operator()(EVP_MD* m) const { EVP_MD_free(m); }
  };
  thread_local std::unique_ptr<EVP_MD, MdDeleter> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md ? md.get() : EVP_sha256();
}

// RFC 9162 §2.1.1: k is the largest power of two smaller than n (n >= 2).
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

void path(uint64_t index, uint64_t begin, uint64_t end, const LeafHashFn& leaf,
          std::vector<Sha256>& out) {
  uint64_t n = end - begin;
  if (n <= 1) return;
  uint64_t k = split_point(n);
  if (index < k) {
    path(index, begin, begin + k, leaf, out);
    out.push_back(merkle_root(begin + k, end, leaf));
  } else {
    path(index - k, begin + k, end, leaf, out);
    out.push_back(merkle_root(begin, begin + k, leaf));
  }
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[begin:end], b).
void subproof(uint64_t m, uint64_t begin, uint64_t end, bool whole, const LeafHashFn& leaf,
              std::vector<Sha256>& out) {
  uint64_t n = end - begin;
  if (m == n) {
    // The old tree is this whole subtree: the verifier already knows its root when it is the
    // entire old tree (whole == true); otherwise it needs it.
    if (!whole) out.push_back(merkle_root(begin, end, leaf));
    return;
  }
  uint64_t k = split_point(n);
  if (m <= k) {
    subproof(m, begin, begin + k, whole, leaf, out);
    out.push_back(merkle_root(begin + k, end, leaf));
  } else {
    subproof(m - k, begin + k, end, false, leaf, out);
    out.push_back(merkle_root(begin, begin + k, leaf));
  }
}

}  // namespace

Sha256 merkle_leaf_hash(std::string_view leaf_bytes) {
  // Verification hashes every record, so the digest context is reused per thread rather than
  // allocated per leaf, and the 0x00 prefix is fed separately rather than copying the record.
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  static const uint8_t kLeafPrefix = 0x00;
  Sha256 out{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), fetched_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), &kLeafPrefix, 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), leaf_bytes.data(), leaf_bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) {
    // Only an allocation failure inside OpenSSL gets here; a zero hash can never match a real
    // root, so verification fails closed instead of passing.
    return Sha256{};
  }
  return out;
}

Sha256 merkle_node_hash(const Sha256& left, const Sha256& right) {
  // Fixed 65-byte input: one stack buffer and a one-shot digest.
  uint8_t buf[1 + 2 * 32];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  // The digest is fetched once per thread (EVP_sha256() looks it up under a lock on every call)
  // and the context reused: EVP_Digest allocates and frees one per node (~20% of a node hash).
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  Sha256 out{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), fetched_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), buf, sizeof buf) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) {
    return Sha256{};
  }
  return out;
}

Sha256 merkle_empty_root() { return sha256(std::string_view()); }

std::optional<MerkleAccumulator> MerkleAccumulator::from_frontier(uint64_t size,
                                                                  std::vector<Sha256> frontier) {
  if (frontier.size() != static_cast<size_t>(std::popcount(size))) return std::nullopt;
  MerkleAccumulator acc;
  acc.size_ = size;
  acc.frontier_ = std::move(frontier);
  return acc;
}

void MerkleAccumulator::append_leaf_hash(const Sha256& leaf_hash) {
  // Each trailing 1 bit of size_ is a perfect subtree of the same height as the one being carried
  // up: merge them, like binary addition.
  Sha256 carry = leaf_hash;
  for (uint64_t n = size_; n & 1; n >>= 1) {
    carry = merkle_node_hash(frontier_.back(), carry);
    frontier_.pop_back();
  }
  frontier_.push_back(carry);
  ++size_;
}

Sha256 MerkleAccumulator::root() const {
  if (frontier_.empty()) return merkle_empty_root();
  Sha256 r = frontier_.back();
  for (size_t i = frontier_.size() - 1; i-- > 0;) r = merkle_node_hash(frontier_[i], r);
  return r;
}

Sha256 merkle_root(uint64_t begin, uint64_t end, const LeafHashFn& leaf) {
  MerkleAccumulator acc;
  for (uint64_t i = begin; i < end; ++i) acc.append_leaf_hash(leaf(i));
  return acc.root();
}

Result<std::vector<Sha256>> merkle_inclusion_proof(uint64_t index, uint64_t size,
                                                   const LeafHashFn& leaf) {
  if (index >= size) return make_error("range", "leaf index is not below the tree size");
  std::vector<Sha256> out;
  path(index, 0, size, leaf, out);
  return out;
}

bool merkle_verify_inclusion(uint64_t index, uint64_t size, const Sha256& leaf_hash,
                             const std::vector<Sha256>& proof, const Sha256& root) {
  // RFC 9162 §2.1.3.2, step by step: fn walks the leaf's position up the tree, sn the last
  // leaf's; where they coincide the node has no right sibling at that level and is skipped.
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Sha256 r = leaf_hash;
  for (const Sha256& p : proof) {
    if (sn == 0) return false;  // proof longer than the tree is tall
    if ((fn & 1) || fn == sn) {
      r = merkle_node_hash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

Result<std::vector<Sha256>> merkle_consistency_proof(uint64_t first, uint64_t second,
                                                     const LeafHashFn& leaf) {
  if (first == 0 || first > second) {
    return make_error("range", "consistency proof needs 0 < first <= second");
  }
  std::vector<Sha256> out;
  subproof(first, 0, second, true, leaf, out);
  return out;
}

bool merkle_verify_consistency(uint64_t first, uint64_t second, const Sha256& first_root,
                               const Sha256& second_root, const std::vector<Sha256>& proof) {
  if (first == 0 || first > second) return false;
  if (first == second) return proof.empty() && first_root == second_root;
  // RFC 9162 §2.1.4.2.
  if (proof.empty()) return false;  // step 1
  std::vector<Sha256> path;
  path.reserve(proof.size() + 1);
  // Step 2: when the old tree is a perfect subtree its root is not in the proof.
  if (std::has_single_bit(first)) path.push_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = first - 1, sn = second - 1;  // step 3
  while (fn & 1) {                           // step 4
    fn >>= 1;
    sn >>= 1;
  }
  Sha256 fr = path[0], sr = path[0];  // step 5
  for (size_t i = 1; i < path.size(); ++i) {
    const Sha256& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_root && sr == second_root && sn == 0;  // step 7
}

}  // namespace phigate::audit
