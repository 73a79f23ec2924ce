// JWK Set parsing: which keys are usable for which algorithms, and which documents are refused.
#include "identity/jwk.h"

#include <gtest/gtest.h>

#include "jose_test_keys.h"

namespace phigate {
namespace {

using nlohmann::json;

std::string doc(std::vector<json> keys) { return json{{"keys", keys}}.dump(); }

TEST(Jwks, KeyTypesAndTheirAlgorithms) {
  auto rsa = testing::make_rsa(), ec = testing::make_ec("P-256"), ed = testing::make_ed25519();
  auto p384 = testing::make_ec("P-384");
  auto set = parse_jwks(doc({rsa.jwk, ec.jwk, ed.jwk, p384.jwk}));
  ASSERT_TRUE(set.ok()) << set.error().message;
  ASSERT_EQ(set->keys.size(), 4u);
  EXPECT_EQ(set->keys[0].algs,
            (std::vector<std::string>{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}));
  EXPECT_EQ(set->keys[1].algs, std::vector<std::string>{"ES256"});
  EXPECT_EQ(set->keys[2].algs, std::vector<std::string>{"EdDSA"});
  EXPECT_EQ(set->keys[3].algs, std::vector<std::string>{"ES384"});
  EXPECT_TRUE(set->candidates("", "HS256").empty());
  EXPECT_TRUE(set->candidates("", "none").empty());
}

TEST(Jwks, UnusableKeysAreSkipped) {
  auto rsa = testing::make_rsa();
  json enc = rsa.jwk, ops = rsa.jwk, priv = rsa.jwk, mismatch = rsa.jwk, hs = rsa.jwk;
  enc["use"] = "enc";
  ops["key_ops"] = {"encrypt"};
  priv["d"] = "AQAB";
  mismatch["alg"] = "ES256";  // an RSA key that claims an EC algorithm
  hs["alg"] = "HS256";
  json oct = {{"kty", "oct"}, {"k", "c2VjcmV0"}};
  json x25519 = {{"kty", "OKP"}, {"crv", "X25519"}, {"x", "AAAA"}};
  json p521 = {{"kty", "EC"}, {"crv", "P-521"}, {"x", "AA"}, {"y", "AA"}};
  json future = {{"kty", "AKP"}, {"pub", "AA"}};
  auto weak = testing::make_rsa(1024);
  auto set = parse_jwks(doc({enc, ops, priv, mismatch, hs, oct, x25519, p521, future, weak.jwk}));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_TRUE(set->keys.empty());
}

TEST(Jwks, BrokenDocumentsAreRefused) {
  auto ec = testing::make_ec("P-256");
  EXPECT_FALSE(parse_jwks("").ok());
  EXPECT_FALSE(parse_jwks("[]").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":{}})").ok());
  EXPECT_FALSE(parse_jwks(R"({"keys":[],"keys":[]})").ok());  // duplicate member
  json dup = ec.jwk;
  std::string dup_text = dup.dump();
  dup_text = dup_text.substr(0, dup_text.size() - 1) + R"(,"x":"AAAA"})";
  EXPECT_FALSE(parse_jwks(R"({"keys":[)" + dup_text + "]}").ok());
  json off_curve = ec.jwk;
  auto y = *base64url_decode(off_curve["y"].get<std::string>());
  y.back() ^= 1;
  off_curve["y"] = base64url_encode(y);
  EXPECT_EQ(parse_jwks(doc({off_curve})).error().code, "malformed_jwks");
  json short_x = ec.jwk;
  short_x["x"] = base64url_encode(Bytes(31, 1));
  EXPECT_FALSE(parse_jwks(doc({short_x})).ok());
  json padded = ec.jwk;
  padded["x"] = padded["x"].get<std::string>() + "=";
  EXPECT_FALSE(parse_jwks(doc({padded})).ok());
  json even_e = testing::make_rsa().jwk;
  even_e["e"] = "AAI";  // 2
  EXPECT_FALSE(parse_jwks(doc({even_e})).ok());
  std::vector<json> many(kMaxJwksKeys + 1, ec.jwk);
  EXPECT_FALSE(parse_jwks(doc(many)).ok());
  EXPECT_FALSE(parse_jwks(std::string(kMaxJwksBytes + 1, ' ')).ok());
  json kid_ctrl = ec.jwk;
  kid_ctrl["kid"] = "a\nb";
  EXPECT_FALSE(parse_jwks(doc({kid_ctrl})).ok());
}

TEST(Jwks, SignatureChecksAreBoundToTheKey) {
  auto ec = testing::make_ec("P-256");
  auto set = parse_jwks(doc({ec.jwk}));
  ASSERT_TRUE(set.ok());
  const Jwk& k = set->keys[0];
  std::string input = "a.b";
  Bytes sig = testing::jws_sign(ec, "ES256", input);
  EXPECT_TRUE(verify_jws_signature("ES256", k, input, sig));
  EXPECT_FALSE(verify_jws_signature("ES384", k, input, sig));
  EXPECT_FALSE(verify_jws_signature("RS256", k, input, sig));
  EXPECT_FALSE(verify_jws_signature("ES256", k, "a.c", sig));
  Bytes der_like(sig.begin(), sig.end());
  der_like.insert(der_like.begin(), 0x30);
  EXPECT_FALSE(verify_jws_signature("ES256", k, input, der_like));
}

}  // namespace
}  // namespace phigate
