#include "audit/checkpoint.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/merkle.h"
#include "common/base64.h"
#include "common/crypto.h"

namespace phigate::audit {
namespace {

// RFC 8410 §10.3 example Ed25519 private key (PKCS#8), whose public key is given in §10.1.
constexpr std::string_view kRfc8410Pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kRfc8410PublicHex =
    "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";

std::vector<Sha256> records(size_t n) {
  std::vector<Sha256> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(merkle_leaf_hash("{\"seq\":" + std::to_string(i + 1) + "}"));
  }
  return out;
}

Sha256 root_of(const std::vector<Sha256>& leaves, uint64_t n) {
  MerkleAccumulator acc;
  for (uint64_t i = 0; i < n; ++i) acc.append_leaf_hash(leaves[i]);
  return acc.root();
}

std::shared_ptr<const CheckpointKey> fresh_key() {
  auto key = CheckpointKey::generate();
  EXPECT_TRUE(key.ok());
  return *key;
}

TEST(Checkpoint, SignedTextIsTheDocumentedFormat) {
  Checkpoint c{"gw-1", 42, std::string(64, 'a'), 1700000000000000000, "k", "s"};
  auto text = checkpoint_signed_text(c);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "phigate-checkpoint/v1\ngw-1\n42\n" + std::string(64, 'a') + "\n1700000000000000000\n");
  c.node_id = "gw\n1";
  EXPECT_EQ(checkpoint_signed_text(c).error().code, "invalid");
  c.node_id = "gw-1";
  c.root_hex = std::string(64, 'A');  // upper case would make two texts for one root
  EXPECT_EQ(checkpoint_signed_text(c).error().code, "invalid");
  c.root_hex = std::string(62, 'a');
  EXPECT_EQ(checkpoint_signed_text(c).error().code, "invalid");
}

TEST(Checkpoint, SignAndVerify) {
  auto key = fresh_key();
  auto leaves = records(10);
  auto c = sign_checkpoint(*key, "gw-1", 10, root_of(leaves, 10), 1234);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tree_size, 10u);
  EXPECT_EQ(c->root_hex, to_hex(root_of(leaves, 10)));
  EXPECT_EQ(c->key_id, checkpoint_key_id(key->public_key()));
  EXPECT_EQ(c->key_id.size(), 16u);
  auto sig = base64_decode(c->signature_b64);
  ASSERT_TRUE(sig.has_value());
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(verify_checkpoint_signature(*c, key->public_key()).ok());
  EXPECT_FALSE(sign_checkpoint(*key, "bad\nnode", 10, root_of(leaves, 10), 1).ok());
}

TEST(Checkpoint, TamperedFieldsAreRejected) {
  auto key = fresh_key();
  auto signed_c = sign_checkpoint(*key, "gw-1", 7, root_of(records(7), 7), 99);
  ASSERT_TRUE(signed_c.ok());
  const Checkpoint good = *signed_c;
  auto expect_rejected = [&](Checkpoint c, const std::string& code) {
    auto st = verify_checkpoint_signature(c, key->public_key());
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, code);
  };
  Checkpoint c = good;
  c.node_id = "gw-2";
  expect_rejected(c, "bad_signature");
  c = good;
  c.tree_size = 8;
  expect_rejected(c, "bad_signature");
  c = good;
  c.root_hex[0] = c.root_hex[0] == '0' ? '1' : '0';
  expect_rejected(c, "bad_signature");
  c = good;
  c.time_ns = 100;
  expect_rejected(c, "bad_signature");
  c = good;
  c.key_id = "0000000000000000";
  expect_rejected(c, "wrong_key");
  c = good;
  Bytes sig = *base64_decode(c.signature_b64);
  sig[10] ^= 0x80;
  c.signature_b64 = base64_encode(sig);
  expect_rejected(c, "bad_signature");
  c = good;
  c.signature_b64 = "not base64!";
  expect_rejected(c, "invalid");
  c = good;
  c.signature_b64 = base64_encode(Bytes(63, 1));
  expect_rejected(c, "invalid");
  c = good;
  c.root_hex = "zz";
  expect_rejected(c, "invalid");
  EXPECT_EQ(verify_checkpoint_signature(good, Bytes(31, 0)).error().code, "invalid");
}

TEST(Checkpoint, WrongKeyIsRejected) {
  auto key = fresh_key();
  auto other = fresh_key();
  ASSERT_NE(key->public_key(), other->public_key());
  auto c = sign_checkpoint(*key, "gw-1", 3, root_of(records(3), 3), 5);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(verify_checkpoint_signature(*c, other->public_key()).error().code, "wrong_key");
  // Even with the key_id relabelled, the other key's signature check fails.
  Checkpoint relabelled = *c;
  relabelled.key_id = other->key_id();
  EXPECT_EQ(verify_checkpoint_signature(relabelled, other->public_key()).error().code,
            "bad_signature");
}

TEST(Checkpoint, KeyFromPkcs8Pem) {
  auto key = CheckpointKey::from_pem(kRfc8410Pem);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(to_hex((*key)->public_key()), kRfc8410PublicHex);
  // Ed25519 is deterministic (RFC 8032 §5.1.6): one checkpoint, one signature.
  Sha256 root = root_of(records(4), 4);
  auto a = sign_checkpoint(**key, "gw-1", 4, root, 1);
  auto b = sign_checkpoint(**key, "gw-1", 4, root, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->signature_b64, b->signature_b64);
  EXPECT_TRUE(verify_checkpoint_signature(*a, (*key)->public_key()).ok());

  EXPECT_EQ(CheckpointKey::from_pem("garbage").error().code, "invalid_key");
  // A P-256 key is a valid PKCS#8 key but not Ed25519.
  EVP_PKEY* ec = EVP_EC_gen("P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string ec_pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  EXPECT_EQ(CheckpointKey::from_pem(ec_pem).error().code, "invalid_key");
}

TEST(Checkpoint, JsonRoundTripAndStrictParsing) {
  auto key = fresh_key();
  auto c = sign_checkpoint(*key, "gw-é", 12, root_of(records(12), 12), -5);
  ASSERT_TRUE(c.ok());
  std::string line = checkpoint_to_json(*c);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"key_id\":", 0), 0u);  // sorted keys
  auto back = checkpoint_from_json(line);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, *c);
  EXPECT_TRUE(verify_checkpoint_signature(*back, key->public_key()).ok());

  EXPECT_FALSE(checkpoint_from_json("").has_value());
  EXPECT_FALSE(checkpoint_from_json("[]").has_value());
  EXPECT_FALSE(checkpoint_from_json("{\"node_id\":").has_value());
  auto j = nlohmann::json::parse(line);
  auto mutated = [&](auto f) {
    nlohmann::json m = j;
    f(m);
    return checkpoint_from_json(m.dump()).has_value();
  };
  EXPECT_FALSE(mutated([](nlohmann::json& m) { m.erase("key_id"); }));
  EXPECT_FALSE(mutated([](nlohmann::json& m) { m["extra"] = 1; }));
  EXPECT_FALSE(mutated([](nlohmann::json& m) { m["tree_size"] = -1; }));
  EXPECT_FALSE(mutated([](nlohmann::json& m) { m["tree_size"] = "12"; }));
  EXPECT_FALSE(mutated([](nlohmann::json& m) { m["tree_size"] = 1.5; }));
  EXPECT_FALSE(mutated([](nlohmann::json& m) { m["time_ns"] = UINT64_MAX; }));
  EXPECT_FALSE(mutated([](nlohmann::json& m) { m["node_id"] = 3; }));
  EXPECT_TRUE(mutated([](nlohmann::json& m) { m["time_ns"] = 7; }));
}

TEST(Checkpoint, VerifyAgainstTheLog) {
  auto key = fresh_key();
  auto leaves = records(25);
  auto c = sign_checkpoint(*key, "gw-1", 20, root_of(leaves, 20), 1);
  ASSERT_TRUE(c.ok());
  auto get = [&](const std::vector<Sha256>& v) {
    return LeafHashFn([&v](uint64_t i) { return v.at(i); });
  };
  // The log may have grown past the checkpoint; only the first tree_size leaves count.
  EXPECT_TRUE(verify_checkpoint_against(*c, 25, get(leaves)).ok());
  EXPECT_TRUE(verify_checkpoint_against(*c, 20, get(leaves)).ok());
  EXPECT_EQ(verify_checkpoint_against(*c, 19, get(leaves)).error().code, "truncated");

  auto edited = leaves;
  edited[3] = merkle_leaf_hash("{\"seq\":4,\"edited\":true}");
  EXPECT_EQ(verify_checkpoint_against(*c, 25, get(edited)).error().code, "root_mismatch");
  auto swapped = leaves;
  std::swap(swapped[5], swapped[6]);
  EXPECT_EQ(verify_checkpoint_against(*c, 25, get(swapped)).error().code, "root_mismatch");
  auto deleted = leaves;
  deleted.erase(deleted.begin() + 2);
  EXPECT_EQ(verify_checkpoint_against(*c, 24, get(deleted)).error().code, "root_mismatch");
  // An edit after the checkpoint is outside what it covers (a later checkpoint catches it).
  auto late = leaves;
  late[22] = merkle_leaf_hash("late");
  EXPECT_TRUE(verify_checkpoint_against(*c, 25, get(late)).ok());

  Checkpoint bad = *c;
  bad.root_hex = "xyz";
  EXPECT_EQ(verify_checkpoint_against(bad, 25, get(leaves)).error().code, "invalid");
}

}  // namespace
}  // namespace phigate::audit
