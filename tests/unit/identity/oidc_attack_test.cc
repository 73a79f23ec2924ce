// The JWT attack suite against an oidc issuer: every forged, stale, misdirected or malformed token
// is refused with its reason class, and none crashes. Keys are generated per run; tokens are forged
// byte by byte so that each test isolates exactly one defect.
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "identity/jwks_fetcher.h"
#include "identity/jwt.h"
#include "identity/oidc_issuer.h"
#include "identity/token_verifier.h"
#include "jose_test_keys.h"

namespace phigate {
namespace {

using nlohmann::json;
using testing::forge;
using testing::TestKey;

constexpr int64_t kNow = 1'700'000'000;
constexpr const char* kIss = "https://idp.example";

struct Keys {
  TestKey rsa = testing::make_rsa();
  TestKey ec256 = testing::make_ec("P-256");
  TestKey ec384 = testing::make_ec("P-384");
  TestKey ed = testing::make_ed25519();
};

const Keys& keys() {
  static Keys k;
  return k;
}

std::shared_ptr<const JwkSet> jwks_of(std::vector<std::pair<const TestKey*, std::string>> list) {
  json doc = {{"keys", json::array()}};
  for (auto& [k, kid] : list) {
    json j = k->jwk;
    j["kid"] = kid;
    doc["keys"].push_back(j);
  }
  auto set = parse_jwks(doc.dump());
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  return std::make_shared<const JwkSet>(set.ok() ? *set : JwkSet{});
}

json good_claims() {
  return {{"iss", kIss},       {"aud", "phigate"}, {"sub", "worker-7"},
          {"exp", kNow + 600}, {"iat", kNow - 10}, {"nbf", kNow - 10},
          {"groups", {"etl"}}, {"jti", "id-1"},    {"task_id", "t1"}};
}

class OidcAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OidcIssuerOptions o;
    o.name = "corp";
    o.issuer = kIss;
    o.audience = "phigate";
    issuer_ = std::make_shared<OidcIssuer>(o);
    issuer_->set_keys(jwks_of({{&keys().rsa, "rsa1"},
                               {&keys().ec256, "ec256"},
                               {&keys().ec384, "ec384"},
                               {&keys().ed, "ed"}}));
    verifier_ = std::make_unique<TokenVerifier>(nullptr, "", group_roles_);
    verifier_->add_oidc_issuer(issuer_);
  }

  std::string sign(const TestKey& k, const std::string& alg, const std::string& kid,
                   const json& claims) const {
    json h = {{"alg", alg}, {"typ", "JWT"}, {"kid", kid}};
    return forge(k, alg, h.dump(), claims.dump());
  }

  std::string code_of(const std::string& token, int64_t now = kNow) const {
    auto id = verifier_->verify(token, now);
    if (id.ok()) return "ok";
    // Never echo the token: no part of it may appear in the reason.
    for (const auto& part : {token.substr(0, 16), token.substr(token.size() / 2, 16)}) {
      if (part.size() >= 16) {
        EXPECT_EQ(id.error().message.find(part), std::string::npos);
      }
    }
    return id.error().code;
  }

  std::map<std::string, std::vector<std::string>> group_roles_{{"etl", {"etl-ingest"}},
                                                               {"analysts", {"analyst"}}};
  std::shared_ptr<OidcIssuer> issuer_;
  std::unique_ptr<TokenVerifier> verifier_;
};

TEST_F(OidcAttackTest, EveryAlgorithmVerifiesWithItsKey) {
  const auto& k = keys();
  for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}) {
    EXPECT_EQ(code_of(sign(k.rsa, alg, "rsa1", good_claims())), "ok") << alg;
  }
  EXPECT_EQ(code_of(sign(k.ec256, "ES256", "ec256", good_claims())), "ok");
  EXPECT_EQ(code_of(sign(k.ec384, "ES384", "ec384", good_claims())), "ok");
  EXPECT_EQ(code_of(sign(k.ed, "EdDSA", "ed", good_claims())), "ok");
  auto id = verifier_->verify(sign(k.rsa, "RS256", "rsa1", good_claims()), kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->sub, "worker-7");
  EXPECT_EQ(id->issuer, "corp");
  EXPECT_EQ(id->groups, std::vector<std::string>{"etl"});
  EXPECT_EQ(id->roles, std::vector<std::string>{"etl-ingest"});
  EXPECT_EQ(id->jti, "id-1");
  EXPECT_EQ(id->task_id, "t1");
  EXPECT_EQ(id->expires_at, kNow + 600);
}

TEST_F(OidcAttackTest, AlgNoneIsRefused) {
  json h = {{"alg", "none"}, {"kid", "rsa1"}};
  std::string t = testing::b64s(h.dump()) + "." + testing::b64s(good_claims().dump()) + ".";
  EXPECT_EQ(code_of(t), "bad_signature");
  json h2 = {{"alg", "None"}, {"kid", "rsa1"}};
  EXPECT_EQ(code_of(testing::b64s(h2.dump()) + "." + testing::b64s(good_claims().dump()) + "."),
            "bad_signature");
}

TEST_F(OidcAttackTest, Hs256KeyedWithTheRsaPublicKeyIsRefused) {
  // The classic confusion: an HMAC over the token keyed with the (public) RSA key's PEM or n.
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, keys().rsa.pkey.get());
  char* pem = nullptr;
  long pem_len = BIO_get_mem_data(bio, &pem);
  std::string secret(pem, static_cast<size_t>(pem_len));
  BIO_free(bio);
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    json h = {{"alg", alg}, {"kid", "rsa1"}};
    std::string input = testing::b64s(h.dump()) + "." + testing::b64s(good_claims().dump());
    unsigned char mac[64];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
    EXPECT_EQ(code_of(input + "." + base64url_encode(ByteSpan(mac, mac_len))), "bad_signature")
        << alg;
  }
}

TEST_F(OidcAttackTest, KeyTypeAndAlgorithmMustAgree) {
  const auto& k = keys();
  // An RSA key named for an EC algorithm, an EC key for RSA, Ed25519 for ES256, P-256 for ES384.
  EXPECT_EQ(code_of(sign(k.ec256, "ES256", "rsa1", good_claims())), "bad_signature");
  EXPECT_EQ(code_of(sign(k.rsa, "RS256", "ec256", good_claims())), "bad_signature");
  EXPECT_EQ(code_of(sign(k.ec256, "ES256", "ed", good_claims())), "bad_signature");
  EXPECT_EQ(code_of(sign(k.ec256, "ES384", "ec256", good_claims())), "bad_signature");
  EXPECT_EQ(code_of(sign(k.ed, "EdDSA", "ec384", good_claims())), "bad_signature");
  // A JWK that names its alg is bound to exactly that one.
  json doc = {{"keys", {k.rsa.jwk}}};
  doc["keys"][0]["kid"] = "only-ps";
  doc["keys"][0]["alg"] = "PS256";
  issuer_->set_keys(std::make_shared<const JwkSet>(*parse_jwks(doc.dump())));
  EXPECT_EQ(code_of(sign(k.rsa, "PS256", "only-ps", good_claims())), "ok");
  EXPECT_EQ(code_of(sign(k.rsa, "RS256", "only-ps", good_claims())), "bad_signature");
}

TEST_F(OidcAttackTest, AlgorithmAllowlist) {
  OidcIssuerOptions o = issuer_->options();
  o.algorithms = {"ES256"};
  auto narrow = std::make_shared<OidcIssuer>(o);
  narrow->set_keys(issuer_->keys());
  TokenVerifier v(nullptr, "", {});
  v.add_oidc_issuer(narrow);
  EXPECT_TRUE(v.verify(sign(keys().ec256, "ES256", "ec256", good_claims()), kNow).ok());
  auto r = v.verify(sign(keys().rsa, "RS256", "rsa1", good_claims()), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_signature");
}

TEST_F(OidcAttackTest, UnknownKid) {
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rotated-away", good_claims())), "unknown_key");
  // A key the issuer never published, with a kid it did publish, is a bad signature.
  TestKey other = testing::make_rsa();
  EXPECT_EQ(code_of(sign(other, "RS256", "rsa1", good_claims())), "bad_signature");
  // No kid: every key bound to the algorithm is tried.
  json h = {{"alg", "ES256"}};
  EXPECT_EQ(code_of(forge(keys().ec256, "ES256", h.dump(), good_claims().dump())), "ok");
  EXPECT_EQ(code_of(forge(other, "RS256", json{{"alg", "RS256"}}.dump(), good_claims().dump())),
            "bad_signature");
}

TEST_F(OidcAttackTest, NoKeysYetIsUnknownKey) {
  issuer_->set_keys(nullptr);
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", good_claims())), "unknown_key");
}

TEST_F(OidcAttackTest, TimeChecksWithSkew) {
  json c = good_claims();
  c["exp"] = kNow - 61;
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "expired");
  c["exp"] = kNow - 30;  // within the default 60 s skew
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "ok");
  c = good_claims();
  c["nbf"] = kNow + 120;
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "not_yet_valid");
  c = good_claims();
  c["iat"] = kNow + 3600;  // issued in the future
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "not_yet_valid");
  c = good_claims();
  c.erase("exp");
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "malformed");
  c = good_claims();
  c["exp"] = "tomorrow";
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "malformed");
  c = good_claims();
  c["exp"] = 1e300;  // saturates, no overflow
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "ok");

  OidcIssuerOptions o = issuer_->options();
  o.clock_skew = 0;
  auto strict = std::make_shared<OidcIssuer>(o);
  strict->set_keys(issuer_->keys());
  TokenVerifier v(nullptr, "", {});
  v.add_oidc_issuer(strict);
  c = good_claims();
  c["exp"] = kNow - 1;
  EXPECT_EQ(v.verify(sign(keys().rsa, "RS256", "rsa1", c), kNow).error().code, "expired");
}

TEST_F(OidcAttackTest, IssuerAndAudience) {
  json c = good_claims();
  c["iss"] = "https://evil.example";
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "unknown_issuer");
  c["iss"] = std::string(kIss) + "/";  // exact match only
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "unknown_issuer");
  c.erase("iss");
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "unknown_issuer");
  c = good_claims();
  c["aud"] = "someone-else";
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "wrong_audience");
  c["aud"] = {"a", "b"};
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "wrong_audience");
  c["aud"] = {"a", "phigate"};
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "ok");
  c["aud"] = {"phigate", 7};
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "malformed");
  c.erase("aud");
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "wrong_audience");
}

TEST_F(OidcAttackTest, TamperedPayloadAndSignature) {
  std::string t = sign(keys().rsa, "RS256", "rsa1", good_claims());
  size_t d1 = t.find('.'), d2 = t.rfind('.');
  json c = good_claims();
  c["groups"] = {"etl", "security"};
  std::string forged = t.substr(0, d1 + 1) + testing::b64s(c.dump()) + t.substr(d2);
  EXPECT_EQ(code_of(forged), "bad_signature");
  // Swap in the payload of a token signed by a different key.
  std::string ec = sign(keys().ec256, "ES256", "ec256", c);
  std::string mixed = t.substr(0, d2) + ec.substr(ec.rfind('.'));
  EXPECT_EQ(code_of(mixed), "bad_signature");
  // ES signature of the wrong length (DER instead of raw, truncated, padded).
  std::string es = sign(keys().ec256, "ES256", "ec256", good_claims());
  auto sig = *base64url_decode(es.substr(es.rfind('.') + 1));
  Bytes shorter(sig.begin(), sig.end() - 1), longer = sig;
  longer.push_back(0);
  for (const Bytes& bad : {shorter, longer, Bytes(96, 1), Bytes()}) {
    EXPECT_EQ(code_of(es.substr(0, es.rfind('.') + 1) + base64url_encode(bad)), "bad_signature");
  }
  // All-zero R and S must not verify.
  EXPECT_EQ(code_of(es.substr(0, es.rfind('.') + 1) + base64url_encode(Bytes(64, 0))),
            "bad_signature");
}

TEST_F(OidcAttackTest, DuplicateKeysAnywhereAreMalformed) {
  std::string h = R"({"alg":"RS256","kid":"rsa1"})";
  std::string c = good_claims().dump();
  std::string dup_sub = c.substr(0, c.size() - 1) + R"(,"sub":"admin"})";
  EXPECT_EQ(code_of(forge(keys().rsa, "RS256", h, dup_sub)), "malformed");
  std::string dup_alg = R"({"alg":"RS256","kid":"rsa1","alg":"none"})";
  EXPECT_EQ(code_of(forge(keys().rsa, "RS256", dup_alg, c)), "malformed");
  std::string nested = c.substr(0, c.size() - 1) + R"(,"act":{"sub":"a","sub":"b"}})";
  EXPECT_EQ(code_of(forge(keys().rsa, "RS256", h, nested)), "malformed");
}

TEST_F(OidcAttackTest, OversizeTokenIsRefusedBeforeParsing) {
  json c = good_claims();
  c["pad"] = std::string(20000, 'x');
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "too_large");
  EXPECT_EQ(code_of(std::string(kMaxTokenBytes + 1, 'a')), "too_large");
  // Per issuer: a larger cap admits it.
  OidcIssuerOptions o = issuer_->options();
  o.max_token_bytes = 64 * 1024;
  auto big = std::make_shared<OidcIssuer>(o);
  big->set_keys(issuer_->keys());
  TokenVerifier v(nullptr, "", {});
  v.add_oidc_issuer(big);
  EXPECT_TRUE(v.verify(sign(keys().rsa, "RS256", "rsa1", c), kNow).ok());
}

TEST_F(OidcAttackTest, MalformedBase64) {
  std::string t = sign(keys().ed, "EdDSA", "ed", good_claims());
  size_t d1 = t.find('.'), d2 = t.rfind('.');
  std::string h = t.substr(0, d1), p = t.substr(d1 + 1, d2 - d1 - 1), s = t.substr(d2 + 1);
  EXPECT_EQ(code_of(h + "=." + p + "." + s), "malformed");        // padding
  EXPECT_EQ(code_of(h + "." + p + "." + s + "=="), "malformed");  // padding
  EXPECT_EQ(code_of(h + " ." + p + "." + s), "malformed");        // whitespace
  EXPECT_EQ(code_of(h + "." + p + "\n." + s), "malformed");       // newline
  EXPECT_EQ(code_of(h + "." + p + "+/." + s), "malformed");       // standard alphabet
  EXPECT_EQ(code_of(h + "." + p), "malformed");                   // two parts
  EXPECT_EQ(code_of(h + "." + p + "." + s + ".x"), "malformed");  // four parts
  // Non-canonical trailing bits: an Ed25519 signature is 64 bytes = 86 chars, whose last char
  // carries 4 unused bits. Setting one of them decodes to the same bytes but is refused.
  ASSERT_EQ(s.size(), 86u);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t v = alphabet.find(s.back());
  ASSERT_EQ(v % 16, 0u);
  std::string s2 = s.substr(0, 85) + alphabet[v + 1];
  EXPECT_EQ(code_of(h + "." + p + "." + s2), "malformed");
}

TEST_F(OidcAttackTest, HeaderChecks) {
  json c = good_claims();
  auto with_header = [&](json h) { return forge(keys().rsa, "RS256", h.dump(), c.dump()); };
  EXPECT_EQ(code_of(with_header({{"alg", "RS256"}, {"kid", "rsa1"}, {"typ", "at+jwt"}})), "ok");
  EXPECT_EQ(code_of(with_header({{"alg", "RS256"}, {"kid", "rsa1"}, {"typ", "JOSE+JSON"}})),
            "malformed");
  EXPECT_EQ(code_of(with_header({{"alg", "RS256"}, {"kid", "rsa1"}, {"crit", {"exp"}}})),
            "malformed");
  EXPECT_EQ(code_of(with_header({{"alg", "RS256"}, {"kid", 5}})), "malformed");
  EXPECT_EQ(code_of(with_header({{"kid", "rsa1"}})), "malformed");
  // An embedded key is ignored: the token is verified only against the published keys.
  TestKey attacker = testing::make_rsa();
  json h = {{"alg", "RS256"}, {"kid", "evil"}, {"jwk", attacker.jwk}};
  EXPECT_EQ(code_of(forge(attacker, "RS256", h.dump(), c.dump())), "unknown_key");
}

TEST_F(OidcAttackTest, GroupsClaimPathAndUrlName) {
  OidcIssuerOptions o = issuer_->options();
  auto verify_with = [&](const std::string& groups_claim, const json& claims) {
    o.groups_claim = groups_claim;
    auto is = std::make_shared<OidcIssuer>(o);
    is->set_keys(issuer_->keys());
    TokenVerifier v(nullptr, "", group_roles_);
    v.add_oidc_issuer(is);
    return v.verify(sign(keys().rsa, "RS256", "rsa1", claims), kNow);
  };
  json c = good_claims();
  c.erase("groups");
  c["realm_access"] = {{"roles", {"analysts", "offline"}}};
  auto id = verify_with("realm_access.roles", c);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->groups, (std::vector<std::string>{"analysts", "offline"}));
  EXPECT_EQ(id->roles, std::vector<std::string>{"analyst"});

  c["https://phigate.example/groups"] = {"etl"};
  id = verify_with("https://phigate.example/groups", c);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->groups, std::vector<std::string>{"etl"});

  c["cognito:groups"] = "analysts";  // a single string
  id = verify_with("cognito:groups", c);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->groups, std::vector<std::string>{"analysts"});

  EXPECT_TRUE(verify_with("missing.path", c).ok());  // absent groups: no roles
  c["realm_access"]["roles"] = {"ok", 7};
  EXPECT_EQ(verify_with("realm_access.roles", c).error().code, "malformed");
  c["realm_access"] = "not an object";
  EXPECT_TRUE(verify_with("realm_access.roles", c).ok());
  c["bad"] = {"line\nbreak"};
  EXPECT_EQ(verify_with("bad", c).error().code, "malformed");
}

TEST_F(OidcAttackTest, SeveralIssuersChosenByIss) {
  OidcIssuerOptions o;
  o.name = "k8s";
  o.issuer = "https://kubernetes.default.svc";
  o.audience = "phigate";
  auto k8s = std::make_shared<OidcIssuer>(o);
  TestKey k8s_key = testing::make_ec("P-256");
  k8s->set_keys(jwks_of({{&k8s_key, "k8s-1"}}));
  verifier_->add_oidc_issuer(k8s);
  json c = good_claims();
  c["iss"] = o.issuer;
  c["sub"] = "system:serviceaccount:etl:loader";
  auto id = verifier_->verify(sign(k8s_key, "ES256", "k8s-1", c), kNow);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->issuer, "k8s");
  // The corp key cannot sign for the k8s issuer, nor the other way round.
  EXPECT_EQ(code_of(sign(keys().ec256, "ES256", "ec256", c)), "unknown_key");
  EXPECT_EQ(code_of(sign(k8s_key, "ES256", "k8s-1", good_claims())), "unknown_key");
}

TEST_F(OidcAttackTest, ActChain) {
  json c = good_claims();
  c["act"] = {{"sub", "pipeline"}, {"act", {{"sub", "dr.jones"}}}};
  auto id = verifier_->verify(sign(keys().rsa, "RS256", "rsa1", c), kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->act_sub, "pipeline");
  EXPECT_EQ(id->act_chain, "pipeline>dr.jones");
  c["act"] = {{"sub", "a>b"}};
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "malformed");
  json deep = {{"sub", "x"}};
  for (int i = 0; i < 10; ++i) deep = {{"sub", "x"}, {"act", deep}};
  c["act"] = deep;
  EXPECT_EQ(code_of(sign(keys().rsa, "RS256", "rsa1", c)), "malformed");
  // Roles and resources claims from an external IdP are not phigate's narrowing claims.
  c = good_claims();
  c["roles"] = {"admin"};
  c["resources"] = {"nothing"};
  id = verifier_->verify(sign(keys().rsa, "RS256", "rsa1", c), kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(id->resources.has_value());
  EXPECT_EQ(id->roles, std::vector<std::string>{"etl-ingest"});
}

TEST_F(OidcAttackTest, FailuresAreCountedPerReason) {
  auto before = verifier_->failures().get("expired");
  json c = good_claims();
  c["exp"] = kNow - 1000;
  (void)verifier_->verify(sign(keys().rsa, "RS256", "rsa1", c), kNow);
  (void)verifier_->verify("garbage", kNow);
  EXPECT_EQ(verifier_->failures().get("expired"), before + 1);
  EXPECT_EQ(verifier_->failures().get("malformed"), 1u);
  EXPECT_EQ(verifier_->failures().get("bad_signature"), 0u);
}

// A refresher that records requests and, when told to, installs new keys before reporting done.
class ScriptedRefresher : public KeyRefresher {
 public:
  bool request_refresh(const OidcIssuer* issuer, std::function<void()> done) override {
    ++requests;
    if (!allow) return false;
    if (install) const_cast<OidcIssuer*>(issuer)->set_keys(install);
    if (done) done();
    return true;
  }
  int requests = 0;
  bool allow = true;
  std::shared_ptr<const JwkSet> install;
};

TEST_F(OidcAttackTest, UnknownKidWaitsForOneRefresh) {
  TestKey rotated = testing::make_rsa();
  ScriptedRefresher refresher;
  refresher.install = jwks_of({{&rotated, "rsa2"}});
  verifier_->set_refresher(&refresher);
  std::string token = sign(rotated, "RS256", "rsa2", good_claims());

  net::asio::io_context io;
  std::optional<Result<Identity>> out;
  auto clock = +[]() -> int64_t { return kNow; };
  net::asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto r = co_await verifier_->verify_async(token, clock);
        out.emplace(std::move(r));
      },
      net::asio::detached);
  io.run();
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->ok()) << out->error().message;
  EXPECT_EQ(refresher.requests, 1);

  // After the rotation the old key is gone: its tokens fail closed after one more refresh.
  refresher.install = nullptr;
  refresher.allow = false;  // rate limited
  out.reset();
  std::string old = sign(keys().rsa, "RS256", "rsa1", good_claims());
  net::asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto r = co_await verifier_->verify_async(old, clock);
        out.emplace(std::move(r));
      },
      net::asio::detached);
  io.restart();
  io.run();
  ASSERT_TRUE(out.has_value());
  ASSERT_FALSE(out->ok());
  EXPECT_EQ(out->error().code, "unknown_key");
  EXPECT_EQ(refresher.requests, 2);
}

TEST(RefreshGate, RateLimitsUnknownKeyRefreshes) {
  using std::chrono::seconds;
  RefreshGate gate;
  RefreshGate::TimePoint t0{};
  const std::chrono::milliseconds min(10000);
  EXPECT_EQ(gate.on_unknown_key(t0 + seconds(100), min), RefreshGate::Decision::kStart);
  EXPECT_EQ(gate.on_unknown_key(t0 + seconds(100), min), RefreshGate::Decision::kJoin);
  gate.on_finish();
  EXPECT_EQ(gate.on_unknown_key(t0 + seconds(105), min), RefreshGate::Decision::kRefuse);
  EXPECT_EQ(gate.on_unknown_key(t0 + seconds(109), min), RefreshGate::Decision::kRefuse);
  EXPECT_EQ(gate.on_unknown_key(t0 + seconds(110), min), RefreshGate::Decision::kStart);
  gate.on_finish();
  // A periodic refresh also counts as the last start.
  EXPECT_TRUE(gate.on_periodic(t0 + seconds(200)));
  EXPECT_FALSE(gate.on_periodic(t0 + seconds(201)));  // one in flight
  EXPECT_EQ(gate.on_unknown_key(t0 + seconds(201), min), RefreshGate::Decision::kJoin);
  gate.on_finish();
  EXPECT_EQ(gate.on_unknown_key(t0 + seconds(205), min), RefreshGate::Decision::kRefuse);
}

}  // namespace
}  // namespace phigate
