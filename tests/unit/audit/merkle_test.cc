#include "audit/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto.h"

namespace phigate::audit {
namespace {

// The certificate-transparency reference leaves and the root for each size 1..8 (the same
// vectors transparency-dev/merkle and CT's merkle_tree_test use).
const std::vector<std::string> kCtLeaves = {
    std::string(),
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};
const char* const kCtRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::string hex(const Sha256& h) { return to_hex(h); }
std::vector<std::string> hexes(const std::vector<Sha256>& v) {
  std::vector<std::string> out;
  for (const auto& h : v) out.push_back(hex(h));
  return out;
}

std::vector<Sha256> ct_leaf_hashes() {
  std::vector<Sha256> out;
  for (const auto& l : kCtLeaves) out.push_back(merkle_leaf_hash(l));
  return out;
}

// The RFC 9162 §2.1.1 definition written out naively (its own split loop, no shared helper), as an
// independent oracle for the accumulator.
Sha256 naive_mth(const std::vector<Sha256>& h, size_t begin, size_t end) {
  size_t n = end - begin;
  if (n == 0) return sha256(std::string_view());
  if (n == 1) return h[begin];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return merkle_node_hash(naive_mth(h, begin, begin + k), naive_mth(h, begin + k, end));
}

std::vector<Sha256> numbered_leaves(size_t n) {
  std::vector<Sha256> out;
  for (size_t i = 0; i < n; ++i) out.push_back(merkle_leaf_hash("record-" + std::to_string(i)));
  return out;
}

LeafHashFn accessor(const std::vector<Sha256>& v) {
  return [&v](uint64_t i) { return v.at(i); };
}

TEST(Merkle, LeafAndNodePrefixes) {
  // SHA-256("") and SHA-256(0x00): the empty tree and the empty leaf.
  EXPECT_EQ(hex(merkle_empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(merkle_leaf_hash("")), kCtRoots[0]);
  Sha256 a = merkle_leaf_hash("a"), b = merkle_leaf_hash("b");
  std::string buf("\x01", 1);
  buf.append(reinterpret_cast<const char*>(a.data()), 32);
  buf.append(reinterpret_cast<const char*>(b.data()), 32);
  EXPECT_EQ(merkle_node_hash(a, b), sha256(buf));
}

TEST(Merkle, AccumulatorMatchesCtReferenceRoots) {
  MerkleAccumulator acc;
  EXPECT_EQ(acc.root(), merkle_empty_root());
  for (size_t i = 0; i < kCtLeaves.size(); ++i) {
    acc.append_leaf(kCtLeaves[i]);
    EXPECT_EQ(acc.size(), i + 1);
    EXPECT_EQ(hex(acc.root()), kCtRoots[i]) << "size " << i + 1;
  }
  auto leaves = ct_leaf_hashes();
  for (size_t n = 1; n <= 8; ++n)
    EXPECT_EQ(hex(merkle_root(0, n, accessor(leaves))), kCtRoots[n - 1]);
}

TEST(Merkle, AccumulatorMatchesNaiveDefinition) {
  auto leaves = numbered_leaves(300);
  MerkleAccumulator acc;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    acc.append_leaf_hash(leaves[n - 1]);
    ASSERT_EQ(acc.root(), naive_mth(leaves, 0, n)) << "size " << n;
    ASSERT_EQ(acc.frontier().size(), static_cast<size_t>(__builtin_popcountll(n)));
  }
}

TEST(Merkle, FrontierRestoreContinuesTheSameTree) {
  auto leaves = numbered_leaves(50);
  MerkleAccumulator acc;
  for (size_t i = 0; i < 21; ++i) acc.append_leaf_hash(leaves[i]);
  auto restored = MerkleAccumulator::from_frontier(acc.size(), acc.frontier());
  ASSERT_TRUE(restored.has_value());
  for (size_t i = 21; i < 50; ++i) restored->append_leaf_hash(leaves[i]);
  EXPECT_EQ(restored->root(), naive_mth(leaves, 0, 50));
  EXPECT_FALSE(MerkleAccumulator::from_frontier(21, {}).has_value());
  EXPECT_FALSE(MerkleAccumulator::from_frontier(4, acc.frontier()).has_value());
}

TEST(Merkle, CtReferenceProofs) {
  auto leaves = ct_leaf_hashes();
  auto get = accessor(leaves);
  auto p0 = merkle_inclusion_proof(0, 8, get);
  ASSERT_TRUE(p0.ok());
  EXPECT_EQ(hexes(*p0), (std::vector<std::string>{
                            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                        }));
  auto p5 = merkle_inclusion_proof(5, 8, get);
  ASSERT_TRUE(p5.ok());
  EXPECT_EQ(hexes(*p5), (std::vector<std::string>{
                            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                        }));
  auto c25 = merkle_consistency_proof(2, 5, get);
  ASSERT_TRUE(c25.ok());
  EXPECT_EQ(hexes(*c25), (std::vector<std::string>{
                             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                         }));
  // From a one-leaf tree the consistency proof is that leaf's inclusion path (RFC 9162 §2.1.4.3).
  auto c18 = merkle_consistency_proof(1, 8, get);
  ASSERT_TRUE(c18.ok());
  EXPECT_EQ(hexes(*c18), hexes(*p0));
  auto c88 = merkle_consistency_proof(8, 8, get);
  ASSERT_TRUE(c88.ok());
  EXPECT_TRUE(c88->empty());
}

TEST(Merkle, ProofArgumentsOutOfRange) {
  auto leaves = numbered_leaves(4);
  auto get = accessor(leaves);
  EXPECT_EQ(merkle_inclusion_proof(4, 4, get).error().code, "range");
  EXPECT_EQ(merkle_inclusion_proof(0, 0, get).error().code, "range");
  EXPECT_EQ(merkle_consistency_proof(0, 4, get).error().code, "range");
  EXPECT_EQ(merkle_consistency_proof(4, 3, get).error().code, "range");
  Sha256 root = naive_mth(leaves, 0, 4);
  EXPECT_FALSE(merkle_verify_inclusion(4, 4, leaves[0], {}, root));
  EXPECT_FALSE(merkle_verify_consistency(0, 4, root, root, {}));
  EXPECT_FALSE(merkle_verify_consistency(4, 3, root, root, {}));
}

Sha256 flipped(Sha256 h, size_t byte) {
  h[byte % h.size()] ^= 0x01;
  return h;
}

TEST(Merkle, EveryInclusionProofUpTo64VerifiesAndTamperingFails) {
  auto leaves = numbered_leaves(64);
  auto get = accessor(leaves);
  for (uint64_t n = 1; n <= 64; ++n) {
    Sha256 root = naive_mth(leaves, 0, n);
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = merkle_inclusion_proof(i, n, get);
      ASSERT_TRUE(proof.ok());
      const auto& p = *proof;
      ASSERT_TRUE(merkle_verify_inclusion(i, n, leaves[i], p, root)) << i << "/" << n;
      EXPECT_FALSE(merkle_verify_inclusion(i, n, flipped(leaves[i], i), p, root));
      EXPECT_FALSE(merkle_verify_inclusion(i, n, leaves[i], p, flipped(root, n)));
      if (n > 1) {
        EXPECT_FALSE(merkle_verify_inclusion((i + 1) % n, n, leaves[i], p, root)) << i << "/" << n;
        EXPECT_FALSE(merkle_verify_inclusion(i, n, leaves[(i + 1) % n], p, root));
      }
      EXPECT_FALSE(merkle_verify_inclusion(i + n, n, leaves[i], p, root));
      for (size_t k = 0; k < p.size(); ++k) {
        auto bad = p;
        bad[k] = flipped(bad[k], k + i);
        EXPECT_FALSE(merkle_verify_inclusion(i, n, leaves[i], bad, root));
      }
      if (!p.empty()) {
        auto shorter = p;
        shorter.pop_back();
        EXPECT_FALSE(merkle_verify_inclusion(i, n, leaves[i], shorter, root));
      }
      auto longer = p;
      longer.push_back(leaves[0]);
      EXPECT_FALSE(merkle_verify_inclusion(i, n, leaves[i], longer, root));
    }
  }
}

TEST(Merkle, EveryConsistencyProofUpTo64VerifiesAndTamperingFails) {
  auto leaves = numbered_leaves(64);
  auto get = accessor(leaves);
  std::vector<Sha256> roots(65);
  for (uint64_t n = 1; n <= 64; ++n) roots[n] = naive_mth(leaves, 0, n);
  for (uint64_t n = 1; n <= 64; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = merkle_consistency_proof(m, n, get);
      ASSERT_TRUE(proof.ok());
      const auto& p = *proof;
      ASSERT_TRUE(merkle_verify_consistency(m, n, roots[m], roots[n], p)) << m << "->" << n;
      EXPECT_FALSE(merkle_verify_consistency(m, n, flipped(roots[m], m), roots[n], p));
      EXPECT_FALSE(merkle_verify_consistency(m, n, roots[m], flipped(roots[n], n), p));
      if (m < n) {
        EXPECT_FALSE(merkle_verify_consistency(m, n, roots[n], roots[m], p));
      }
      for (size_t k = 0; k < p.size(); ++k) {
        auto bad = p;
        bad[k] = flipped(bad[k], k + m);
        EXPECT_FALSE(merkle_verify_consistency(m, n, roots[m], roots[n], bad)) << m << "->" << n;
      }
      if (!p.empty()) {
        auto shorter = p;
        shorter.pop_back();
        EXPECT_FALSE(merkle_verify_consistency(m, n, roots[m], roots[n], shorter));
      }
      auto longer = p;
      longer.push_back(leaves[0]);
      EXPECT_FALSE(merkle_verify_consistency(m, n, roots[m], roots[n], longer));
    }
  }
}

TEST(Merkle, ConsistencyDetectsARewrittenPrefix) {
  // A log that edits an old record after a checkpoint cannot prove consistency with it.
  auto leaves = numbered_leaves(40);
  auto edited = leaves;
  edited[7] = merkle_leaf_hash("record-7-edited");
  Sha256 old_root = naive_mth(leaves, 0, 20);
  auto proof = merkle_consistency_proof(20, 40, accessor(edited));
  ASSERT_TRUE(proof.ok());
  EXPECT_FALSE(merkle_verify_consistency(20, 40, old_root, naive_mth(edited, 0, 40), *proof));
}

}  // namespace
}  // namespace phigate::audit
