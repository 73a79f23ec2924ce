#include "identity/token_verifier.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace phigate {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000;

class TokenVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto issuer = LocalIssuer::load_or_create(dir_.path(), "gw-1");
    ASSERT_TRUE(issuer.ok()) << issuer.error().message;
    issuer_ = *issuer;
    auto key = Ed25519Key::from_pem(testing::read_file(LocalIssuer::key_path(dir_.path())));
    ASSERT_TRUE(key.ok());
    key_ = *key;
  }
  TokenVerifier verifier() const {
    return TokenVerifier(issuer_, "local",
                         {{"analysts", {"analyst"}},
                          {"etl", {"etl-ingest", "analyst"}},
                          {"security", {"reviewer", "auditor"}},
                          {"empty", {}}});
  }
  std::string token(std::vector<std::string> groups, int64_t at = kNow) const {
    auto t = issuer_->try_issue({.sub = "alice", .groups = std::move(groups)}, at);
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : std::string();
  }
  std::string code_of(const TokenVerifier& v, const std::string& t, int64_t now = kNow) const {
    auto id = v.verify(t, now);
    if (id.ok()) return "ok";
    EXPECT_EQ(id.error().message.find(t.substr(0, 20)), std::string::npos);
    return id.error().code;
  }

  testing::TempDir dir_;
  std::shared_ptr<LocalIssuer> issuer_;
  std::shared_ptr<const Ed25519Key> key_;
};

TEST_F(TokenVerifierTest, MapsGroupsToRolesInFirstSeenOrderWithoutDuplicates) {
  auto v = verifier();
  auto id = v.verify(token({"etl", "unmapped", "analysts", "security", "etl", "empty"}), kNow);
  ASSERT_TRUE(id.ok()) << id.error().code;
  EXPECT_EQ(id->issuer, "local");
  EXPECT_EQ(id->sub, "alice");
  EXPECT_EQ(id->groups,
            (std::vector<std::string>{"etl", "unmapped", "analysts", "security", "etl", "empty"}));
  EXPECT_EQ(id->roles, (std::vector<std::string>{"etl-ingest", "analyst", "reviewer", "auditor"}));

  id = v.verify(token({"security", "analysts"}), kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->roles, (std::vector<std::string>{"reviewer", "auditor", "analyst"}));

  id = v.verify(token({}), kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->roles.empty());

  id = v.verify(token({"unmapped"}), kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->roles.empty());
}

TEST_F(TokenVerifierTest, GroupNamesAreCaseSensitive) {
  auto id = verifier().verify(token({"Analysts"}), kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->roles.empty());
}

TEST_F(TokenVerifierTest, SizeCapComesFirst) {
  auto v = verifier();
  EXPECT_EQ(code_of(v, std::string(kMaxTokenBytes + 1, '.')), "too_large");
  EXPECT_EQ(code_of(v, token({"analysts"}) + std::string(kMaxTokenBytes, 'A')), "too_large");
  EXPECT_EQ(code_of(v, std::string(1 << 20, 'x')), "too_large");
  // At the cap exactly, the token is parsed (and here found malformed).
  EXPECT_EQ(code_of(v, std::string(kMaxTokenBytes, 'A')), "malformed");
  // A legitimately large token below the cap still works.
  std::vector<std::string> many(200, "some-long-group-name-xxxxxxxxxxxxxxxxxxxxxxx");
  std::string big = token(many);
  ASSERT_LT(big.size(), kMaxTokenBytes);
  ASSERT_GT(big.size(), 8000u);
  EXPECT_EQ(code_of(v, big), "ok");
}

TEST_F(TokenVerifierTest, UnknownIssuers) {
  auto v = verifier();
  // Another gateway node's local issuer.
  testing::TempDir other_dir;
  auto other = LocalIssuer::load_or_create(other_dir.path(), "gw-2");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(code_of(v, *(*other)->try_issue({.sub = "alice"}, kNow)), "unknown_issuer");

  json h = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", issuer_->kid()}};
  json c = {{"iss", "https://idp.example"}, {"aud", "phigate"}, {"sub", "a"}, {"exp", kNow + 60}};
  EXPECT_EQ(code_of(v, testing::sign_json(h, c, *key_)), "unknown_issuer");
  c.erase("iss");
  EXPECT_EQ(code_of(v, testing::sign_json(h, c, *key_)), "unknown_issuer");
  c["iss"] = json::array({"phigate:gw-1"});
  EXPECT_EQ(code_of(v, testing::sign_json(h, c, *key_)), "malformed");

  // No local issuer configured at all.
  TokenVerifier none(nullptr, "local", {});
  EXPECT_EQ(code_of(none, token({"analysts"})), "unknown_issuer");
}

// The unverified iss only routes the token; a forged one claiming our iss still needs our key.
TEST_F(TokenVerifierTest, RoutingByIssDoesNotSkipVerification) {
  auto v = verifier();
  auto attacker = Ed25519Key::generate();
  ASSERT_TRUE(attacker.ok());
  json h = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", issuer_->kid()}};
  json c = {{"iss", "phigate:gw-1"},
            {"aud", "phigate"},
            {"sub", "root"},
            {"groups", {"security"}},
            {"exp", kNow + 60}};
  EXPECT_EQ(code_of(v, testing::sign_json(h, c, **attacker)), "bad_signature");
  h["alg"] = "none";
  EXPECT_EQ(code_of(v, testing::b64(h.dump()) + "." + testing::b64(c.dump()) + "."),
            "bad_signature");
  // Duplicate "iss" so that the router and the verifier could disagree: refused outright.
  std::string dup = R"({"iss":"https://idp.example","iss":"phigate:gw-1","aud":"phigate",)"
                    R"("sub":"a","exp":1700000060})";
  EXPECT_EQ(code_of(v, testing::sign_raw(h.dump(), dup, *key_)), "malformed");
}

TEST_F(TokenVerifierTest, PropagatesTimeAndAudienceErrors) {
  auto v = verifier();
  std::string t = token({"analysts"});
  EXPECT_EQ(code_of(v, t, kNow + 900 + 59), "ok");
  EXPECT_EQ(code_of(v, t, kNow + 900 + 60), "expired");
  EXPECT_EQ(code_of(v, t, kNow - 60), "ok");
  EXPECT_EQ(code_of(v, t, kNow - 61), "not_yet_valid");
  json h = {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", issuer_->kid()}};
  json c = {{"iss", "phigate:gw-1"}, {"aud", "other"}, {"sub", "a"}, {"exp", kNow + 60}};
  EXPECT_EQ(code_of(v, testing::sign_json(h, c, *key_)), "wrong_audience");
  EXPECT_EQ(code_of(v, "a.b"), "malformed");
}

}  // namespace
}  // namespace phigate
