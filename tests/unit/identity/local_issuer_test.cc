#include "identity/local_issuer.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "common/clock.h"
#include "common/crypto.h"
#include "identity/token_verifier.h"
#include "test_support.h"

namespace phigate {
namespace {

using nlohmann::json;
using testing::b64;
using testing::b64_decode_text;
using testing::sign_json;
using testing::sign_raw;

constexpr int64_t kNow = 1'700'000'000;

// Splits a compact token into its three segments (test-side, deliberately independent of jwt.cc).
std::vector<std::string> segments(const std::string& token) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t dot = token.find('.', start);
    out.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

class LocalIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto issuer = LocalIssuer::load_or_create(dir_.path(), "gw-1");
    ASSERT_TRUE(issuer.ok()) << issuer.error().message;
    issuer_ = *issuer;
    // The forger signs with the very key the issuer uses, read back from disk.
    auto key = Ed25519Key::from_pem(testing::read_file(LocalIssuer::key_path(dir_.path())));
    ASSERT_TRUE(key.ok()) << key.error().message;
    key_ = *key;
  }

  json header() const { return {{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", issuer_->kid()}}; }
  json claims() const {
    return {{"iss", "phigate:gw-1"},  {"aud", "phigate"}, {"sub", "alice"},
            {"groups", {"analysts"}}, {"iat", kNow},      {"nbf", kNow},
            {"exp", kNow + 900},      {"jti", "j1"}};
  }
  std::string forge(const json& h, const json& c) const { return sign_json(h, c, *key_); }
  std::string code_of(const std::string& token, int64_t now = kNow, int64_t skew = 60) const {
    auto id = issuer_->verify(token, now, skew);
    if (id.ok()) return "ok";
    // Whatever the failure, the message must never echo the token or any part of it.
    for (const auto& seg : segments(token)) {
      if (seg.size() >= 8) {
        EXPECT_EQ(id.error().message.find(seg), std::string::npos);
      }
    }
    EXPECT_FALSE(id.error().message.empty());
    return id.error().code;
  }

  testing::TempDir dir_;
  std::shared_ptr<LocalIssuer> issuer_;
  std::shared_ptr<const Ed25519Key> key_;
};

TEST_F(LocalIssuerTest, RoundTripWithAllClaims) {
  IssueRequest req{.sub = "etl-worker-7",
                   .groups = {"etl", "analysts"},
                   .ttl = std::chrono::seconds(600),
                   .task_id = "task-42",
                   .workflow_id = "wf-9",
                   .act_sub = "dr.jones"};
  auto token = issuer_->try_issue(req, kNow);
  ASSERT_TRUE(token.ok()) << token.error().message;

  auto segs = segments(*token);
  ASSERT_EQ(segs.size(), 3u);
  json h = json::parse(b64_decode_text(segs[0]));
  EXPECT_EQ(h, json({{"alg", "EdDSA"}, {"typ", "JWT"}, {"kid", issuer_->kid()}}));
  EXPECT_EQ(issuer_->kid().size(), 16u);
  Sha256 digest = sha256(ByteSpan(issuer_->public_key()));
  EXPECT_EQ(issuer_->kid(), base64url_encode(digest).substr(0, 16));

  json c = json::parse(b64_decode_text(segs[1]));
  EXPECT_EQ(c["iss"], "phigate:gw-1");
  EXPECT_EQ(c["aud"], "phigate");
  EXPECT_EQ(c["sub"], "etl-worker-7");
  EXPECT_EQ(c["groups"], json({"etl", "analysts"}));
  EXPECT_EQ(c["iat"], kNow);
  EXPECT_EQ(c["nbf"], kNow);
  EXPECT_EQ(c["exp"], kNow + 600);
  EXPECT_EQ(c["task_id"], "task-42");
  EXPECT_EQ(c["workflow_id"], "wf-9");
  EXPECT_EQ(c["act"], json({{"sub", "dr.jones"}}));
  ASSERT_TRUE(c["jti"].is_string());
  EXPECT_EQ(c["jti"].get<std::string>().size(), 32u);

  auto id = issuer_->verify(*token, kNow + 1);
  ASSERT_TRUE(id.ok()) << id.error().code << ": " << id.error().message;
  EXPECT_EQ(id->sub, "etl-worker-7");
  EXPECT_EQ(id->groups, (std::vector<std::string>{"etl", "analysts"}));
  EXPECT_TRUE(id->roles.empty());
  EXPECT_EQ(id->task_id, "task-42");
  EXPECT_EQ(id->workflow_id, "wf-9");
  EXPECT_EQ(id->act_sub, "dr.jones");
  EXPECT_EQ(id->jti, c["jti"].get<std::string>());
  EXPECT_EQ(id->expires_at, kNow + 600);
  EXPECT_EQ(id->issuer, "");  // the configured name is TokenVerifier's business
}

TEST_F(LocalIssuerTest, OptionalClaimsOmittedAndJtiUnique) {
  auto a = issuer_->try_issue({.sub = "bob"}, kNow);
  auto b = issuer_->try_issue({.sub = "bob"}, kNow);
  ASSERT_TRUE(a.ok() && b.ok());
  json c = json::parse(b64_decode_text(segments(*a)[1]));
  EXPECT_FALSE(c.contains("task_id"));
  EXPECT_FALSE(c.contains("workflow_id"));
  EXPECT_FALSE(c.contains("act"));
  EXPECT_EQ(c["groups"], json::array());
  EXPECT_EQ(c["exp"], kNow + 900);  // default ttl 15 minutes
  EXPECT_NE(c["jti"], json::parse(b64_decode_text(segments(*b)[1]))["jti"]);
  auto id = issuer_->verify(*a, kNow);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->groups.empty());
  EXPECT_EQ(id->act_sub, "");
}

TEST_F(LocalIssuerTest, IssueWithRealClockVerifies) {
  std::string token = issuer_->issue({.sub = "carol", .groups = {"g"}});
  ASSERT_FALSE(token.empty());
  EXPECT_TRUE(issuer_->verify(token, now_unix()).ok());
}

TEST_F(LocalIssuerTest, IssueRejectsBadRequests) {
  EXPECT_EQ(issuer_->try_issue({.sub = ""}, kNow).error().code, "invalid_request");
  EXPECT_EQ(issuer_->try_issue({.sub = "a\nb"}, kNow).error().code, "invalid_request");
  EXPECT_EQ(issuer_->try_issue({.sub = "a", .groups = {""}}, kNow).error().code, "invalid_request");
  EXPECT_EQ(issuer_->try_issue({.sub = "a", .ttl = std::chrono::seconds(0)}, kNow).error().code,
            "invalid_request");
  EXPECT_EQ(
      issuer_->try_issue({.sub = "a", .ttl = kMaxLocalTokenTtl + std::chrono::seconds(1)}, kNow)
          .error()
          .code,
      "invalid_request");
  // Invalid UTF-8 must be refused, not thrown out of nlohmann's dump().
  EXPECT_EQ(issuer_->try_issue({.sub = "caf\xC3"}, kNow).error().code, "invalid_request");
  EXPECT_EQ(issuer_->try_issue({.sub = "a", .act_sub = "\xFF"}, kNow).error().code,
            "invalid_request");
  EXPECT_EQ(issuer_->issue({.sub = ""}), "");
  // '>' separates the act chain in audit records; an actor named with it would forge a hop.
  EXPECT_EQ(issuer_->try_issue({.sub = "a", .act_sub = "x>y"}, kNow).error().code,
            "invalid_request");
  EXPECT_EQ(issuer_->try_issue({.sub = "a", .act_prior = {"h"}}, kNow).error().code,
            "invalid_request");  // earlier actors need a current one
  // Non-ASCII but valid UTF-8 is fine.
  auto ok = issuer_->try_issue({.sub = "jos\xC3\xA9"}, kNow);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(issuer_->verify(*ok, kNow)->sub, "jos\xC3\xA9");
}

// Makes sure the forger produces accepted tokens, so every rejection below is caused by the one
// defect each test introduces.
TEST_F(LocalIssuerTest, ForgerBaselineIsAccepted) {
  EXPECT_EQ(code_of(forge(header(), claims())), "ok");
  json no_kid = header();
  no_kid.erase("kid");
  no_kid.erase("typ");
  EXPECT_EQ(code_of(forge(no_kid, claims())), "ok");  // typ and kid are optional
}

TEST_F(LocalIssuerTest, TamperedPayloadIsRejected) {
  std::string token = *issuer_->try_issue({.sub = "alice", .groups = {"analysts"}}, kNow);
  auto segs = segments(token);
  json c = json::parse(b64_decode_text(segs[1]));
  c["groups"] = {"security"};
  EXPECT_EQ(code_of(segs[0] + "." + b64(c.dump()) + "." + segs[2]), "bad_signature");
  c = json::parse(b64_decode_text(segs[1]));
  c["sub"] = "mallory";
  EXPECT_EQ(code_of(segs[0] + "." + b64(c.dump()) + "." + segs[2]), "bad_signature");
  // Header tampering is caught by the same signature.
  json h = json::parse(b64_decode_text(segs[0]));
  h["x"] = 1;
  EXPECT_EQ(code_of(b64(h.dump()) + "." + segs[1] + "." + segs[2]), "bad_signature");
}

TEST_F(LocalIssuerTest, TamperedSignatureIsRejected) {
  std::string token = *issuer_->try_issue({.sub = "alice"}, kNow);
  auto segs = segments(token);
  Bytes sig = *base64url_decode(segs[2]);
  ASSERT_EQ(sig.size(), 64u);
  for (size_t pos : {0u, 31u, 32u, 63u}) {
    Bytes bad = sig;
    bad[pos] ^= 0x01;
    EXPECT_EQ(code_of(segs[0] + "." + segs[1] + "." + base64url_encode(bad)), "bad_signature")
        << pos;
  }
  Bytes shorter(sig.begin(), sig.end() - 1);
  EXPECT_EQ(code_of(segs[0] + "." + segs[1] + "." + base64url_encode(shorter)), "bad_signature");
  Bytes longer = sig;
  longer.push_back(0);
  EXPECT_EQ(code_of(segs[0] + "." + segs[1] + "." + base64url_encode(longer)), "bad_signature");
  EXPECT_EQ(code_of(segs[0] + "." + segs[1] + "."), "bad_signature");
}

TEST_F(LocalIssuerTest, SignatureFromAnotherKeyIsRejected) {
  auto other = Ed25519Key::generate();
  ASSERT_TRUE(other.ok());
  // Same header (our kid), valid signature, wrong key.
  EXPECT_EQ(code_of(sign_json(header(), claims(), **other)), "bad_signature");
  json no_kid = header();
  no_kid.erase("kid");
  EXPECT_EQ(code_of(sign_json(no_kid, claims(), **other)), "bad_signature");

  // A whole other gateway with the same node_id: its tokens carry its kid and are refused.
  testing::TempDir other_dir;
  auto other_issuer = LocalIssuer::load_or_create(other_dir.path(), "gw-1");
  ASSERT_TRUE(other_issuer.ok());
  EXPECT_NE((*other_issuer)->kid(), issuer_->kid());
  EXPECT_EQ(code_of(*(*other_issuer)->try_issue({.sub = "alice"}, kNow)), "bad_signature");
}

TEST_F(LocalIssuerTest, AlgNoneAndOtherAlgorithmsAreRejected) {
  for (const char* alg : {"none", "None", "NONE", "HS256", "RS256", "ES256", "PS256", "Ed25519",
                          "eddsa", "EdDSA ", ""}) {
    json h = header();
    h["alg"] = alg;
    std::string unsigned_token = b64(h.dump()) + "." + b64(claims().dump()) + ".";
    EXPECT_EQ(code_of(unsigned_token), "bad_signature") << alg;
    // Even with a genuine Ed25519 signature, the header must say EdDSA exactly.
    EXPECT_EQ(code_of(forge(h, claims())), "bad_signature") << alg;
  }
  json h = header();
  h.erase("alg");
  EXPECT_EQ(code_of(forge(h, claims())), "malformed");
  h["alg"] = json::array({"EdDSA"});
  EXPECT_EQ(code_of(forge(h, claims())), "malformed");
}

// The classic key-confusion attack: HS256 with the verifier's public key as the HMAC secret.
TEST_F(LocalIssuerTest, Hs256KeyedWithPublicKeyIsRejected) {
  // Public key as raw bytes, and as the SPKI PEM an attacker would download.
  EVP_PKEY* pub = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, issuer_->public_key().data(), issuer_->public_key().size());
  ASSERT_NE(pub, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, pub), 1);
  char* pem_data = nullptr;
  long pem_len = BIO_get_mem_data(bio, &pem_data);
  std::string pem(pem_data, static_cast<size_t>(pem_len));
  BIO_free(bio);
  EVP_PKEY_free(pub);
  ASSERT_NE(pem.find("BEGIN PUBLIC KEY"), std::string::npos);

  for (const Bytes& secret : {issuer_->public_key(), Bytes(pem.begin(), pem.end())}) {
    for (const char* alg : {"HS256", "EdDSA"}) {
      json h = header();
      h["alg"] = alg;
      std::string input = b64(h.dump()) + "." + b64(claims().dump());
      Sha256 mac = hmac_sha256(secret, as_bytes(input));
      EXPECT_EQ(code_of(input + "." + base64url_encode(mac)), "bad_signature") << alg;
    }
  }
}

TEST_F(LocalIssuerTest, DuplicateMemberNamesAreRejected) {
  std::string h = header().dump();
  std::string c = claims().dump();
  ASSERT_EQ(c.back(), '}');
  // "sub" twice in the claims, both orders, properly signed.
  std::string dup_sub = c.substr(0, c.size() - 1) + ",\"sub\":\"admin\"}";
  EXPECT_EQ(code_of(sign_raw(h, dup_sub, *key_)), "malformed");
  std::string dup_sub_first = "{\"sub\":\"admin\"," + c.substr(1);
  EXPECT_EQ(code_of(sign_raw(h, dup_sub_first, *key_)), "malformed");
  // "alg" twice in the header: a lenient parser might read "none" or "EdDSA".
  std::string dup_alg = R"({"alg":"none","typ":"JWT","alg":"EdDSA"})";
  EXPECT_EQ(code_of(sign_raw(dup_alg, c, *key_)), "malformed");
  // Nested duplicates count too.
  std::string dup_act = c.substr(0, c.size() - 1) + R"(,"act":{"sub":"a","sub":"b"}})";
  EXPECT_EQ(code_of(sign_raw(h, dup_act, *key_)), "malformed");
  // The same name in different objects is not a duplicate.
  std::string act_ok = c.substr(0, c.size() - 1) + R"(,"act":{"sub":"a","act":{"sub":"b"}}})";
  EXPECT_EQ(code_of(sign_raw(h, act_ok, *key_)), "ok");
}

TEST_F(LocalIssuerTest, NonCanonicalEncodingIsRejected) {
  std::string token = *issuer_->try_issue({.sub = "alice"}, kNow);
  auto segs = segments(token);
  auto join = [](const std::string& a, const std::string& b, const std::string& c) {
    return a + "." + b + "." + c;
  };
  // Padding in any segment.
  EXPECT_EQ(code_of(join(segs[0] + "=", segs[1], segs[2])), "malformed");
  EXPECT_EQ(code_of(join(segs[0], segs[1] + "==", segs[2])), "malformed");
  EXPECT_EQ(code_of(join(segs[0], segs[1], segs[2] + "==")), "malformed");
  // Whitespace anywhere.
  EXPECT_EQ(code_of(" " + token), "malformed");
  EXPECT_EQ(code_of(token + "\n"), "malformed");
  EXPECT_EQ(code_of(token + " "), "malformed");
  EXPECT_EQ(code_of(join(segs[0], segs[1].substr(0, 10) + " " + segs[1].substr(10), segs[2])),
            "malformed");
  EXPECT_EQ(code_of(join(segs[0] + "\t", segs[1], segs[2])), "malformed");
  // Standard-alphabet characters.
  std::string plus = segs[2];
  plus[0] = '+';
  EXPECT_EQ(code_of(join(segs[0], segs[1], plus)), "malformed");
  // Segment counts.
  EXPECT_EQ(code_of(segs[0] + "." + segs[1]), "malformed");
  EXPECT_EQ(code_of(token + "." + segs[2]), "malformed");
  EXPECT_EQ(code_of(token + "."), "malformed");
  EXPECT_EQ(code_of(""), "malformed");
  EXPECT_EQ(code_of(".."), "malformed");
  EXPECT_EQ(code_of("..."), "malformed");
  EXPECT_EQ(code_of("not a token"), "malformed");
}

TEST_F(LocalIssuerTest, NonObjectJsonIsRejected) {
  for (const char* payload : {"[]", "\"alice\"", "null", "42", "", "{", "{}x", "{} {}",
                              "\xEF\xBB\xBF{\"sub\":\"a\"}", "{\"sub\":\"a\"} // c"}) {
    EXPECT_EQ(code_of(sign_raw(header().dump(), payload, *key_)), "malformed") << payload;
    EXPECT_EQ(code_of(sign_raw(payload, claims().dump(), *key_)), "malformed") << payload;
  }
  // Invalid UTF-8 inside a string.
  EXPECT_EQ(code_of(sign_raw(header().dump(), "{\"sub\":\"\xFF\"}", *key_)), "malformed");
  // Nesting deeper than the parser allows.
  std::string deep = claims().dump();
  deep.pop_back();
  deep += ",\"x\":" + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(code_of(sign_raw(header().dump(), deep, *key_)), "malformed");
}

TEST_F(LocalIssuerTest, HeaderRules) {
  json h = header();
  h["crit"] = {"exp"};
  EXPECT_EQ(code_of(forge(h, claims())), "malformed");
  h = header();
  h["typ"] = "JWE";
  EXPECT_EQ(code_of(forge(h, claims())), "malformed");
  h["typ"] = 1;
  EXPECT_EQ(code_of(forge(h, claims())), "malformed");
  h["typ"] = "jwt";  // media type names are case-insensitive (RFC 7515 §4.1.9)
  EXPECT_EQ(code_of(forge(h, claims())), "ok");
  h = header();
  h["kid"] = "AAAAAAAAAAAAAAAA";
  EXPECT_EQ(code_of(forge(h, claims())), "bad_signature");
  h["kid"] = 7;
  EXPECT_EQ(code_of(forge(h, claims())), "malformed");
}

TEST_F(LocalIssuerTest, ExpiryWithSkew) {
  std::string token = *issuer_->try_issue({.sub = "alice", .ttl = std::chrono::seconds(900)}, kNow);
  EXPECT_EQ(code_of(token, kNow + 899, 0), "ok");
  EXPECT_EQ(code_of(token, kNow + 900, 0), "expired");
  EXPECT_EQ(code_of(token, kNow + 900), "ok");       // within 60 s skew
  EXPECT_EQ(code_of(token, kNow + 959), "ok");       // last second of the skew
  EXPECT_EQ(code_of(token, kNow + 960), "expired");  // now >= exp + skew
  EXPECT_EQ(code_of(token, kNow + 100000), "expired");
}

TEST_F(LocalIssuerTest, NotYetValidWithSkew) {
  std::string token = *issuer_->try_issue({.sub = "alice"}, kNow);
  EXPECT_EQ(code_of(token, kNow - 60), "ok");  // issuer clock up to 60 s ahead is tolerated
  EXPECT_EQ(code_of(token, kNow - 61), "not_yet_valid");
  EXPECT_EQ(code_of(token, kNow - 1, 0), "not_yet_valid");
  // iat alone in the future also counts.
  json c = claims();
  c.erase("nbf");
  c["iat"] = kNow + 120;
  EXPECT_EQ(code_of(forge(header(), c)), "not_yet_valid");
  c = claims();
  c["nbf"] = kNow + 61;
  EXPECT_EQ(code_of(forge(header(), c)), "not_yet_valid");
  c["nbf"] = kNow + 60;
  EXPECT_EQ(code_of(forge(header(), c)), "ok");
}

TEST_F(LocalIssuerTest, TimeClaimTypes) {
  json c = claims();
  c.erase("exp");
  EXPECT_EQ(code_of(forge(header(), c)), "malformed");  // exp is required
  for (json bad :
       {json("1700000900"), json(true), json(nullptr), json::array({kNow + 900}), json::object()}) {
    c = claims();
    c["exp"] = bad;
    EXPECT_EQ(code_of(forge(header(), c)), "malformed") << bad.dump();
    c = claims();
    c["nbf"] = bad;
    EXPECT_EQ(code_of(forge(header(), c)), "malformed") << bad.dump();
    c = claims();
    c["iat"] = bad;
    EXPECT_EQ(code_of(forge(header(), c)), "malformed") << bad.dump();
  }
  c = claims();
  c["exp"] = static_cast<double>(kNow) + 900.5;  // NumericDate may have a fraction
  EXPECT_EQ(code_of(forge(header(), c)), "ok");
  c["exp"] = 1e300;  // saturates instead of overflowing
  EXPECT_EQ(code_of(forge(header(), c)), "ok");
  c["exp"] = -1e300;
  EXPECT_EQ(code_of(forge(header(), c)), "expired");
  c["exp"] = 18446744073709551615ull;
  EXPECT_EQ(code_of(forge(header(), c)), "ok");
}

TEST_F(LocalIssuerTest, Audience) {
  json c = claims();
  c["aud"] = "other";
  EXPECT_EQ(code_of(forge(header(), c)), "wrong_audience");
  c["aud"] = "Phigate";
  EXPECT_EQ(code_of(forge(header(), c)), "wrong_audience");
  c["aud"] = {"other"};
  EXPECT_EQ(code_of(forge(header(), c)), "wrong_audience");
  c["aud"] = json::array();
  EXPECT_EQ(code_of(forge(header(), c)), "wrong_audience");
  c["aud"] = {"other", "phigate"};
  EXPECT_EQ(code_of(forge(header(), c)), "ok");
  c["aud"] = {7, "phigate"};
  EXPECT_EQ(code_of(forge(header(), c)), "malformed");
  c["aud"] = 7;
  EXPECT_EQ(code_of(forge(header(), c)), "malformed");
  c.erase("aud");
  EXPECT_EQ(code_of(forge(header(), c)), "wrong_audience");
}

TEST_F(LocalIssuerTest, Issuer) {
  json c = claims();
  c["iss"] = "phigate:gw-2";
  EXPECT_EQ(code_of(forge(header(), c)), "unknown_issuer");
  c["iss"] = "https://idp.example";
  EXPECT_EQ(code_of(forge(header(), c)), "unknown_issuer");
  c["iss"] = 1;
  EXPECT_EQ(code_of(forge(header(), c)), "malformed");
  c.erase("iss");
  EXPECT_EQ(code_of(forge(header(), c)), "unknown_issuer");
  // Same key, different node: the iss no longer matches.
  auto renamed = LocalIssuer::load_or_create(dir_.path(), "gw-2");
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ((*renamed)->kid(), issuer_->kid());
  auto id = (*renamed)->verify(*issuer_->try_issue({.sub = "a"}, kNow), kNow);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().code, "unknown_issuer");
}

TEST_F(LocalIssuerTest, SubjectGroupsAndTaskClaimTypes) {
  auto with = [&](const char* name, json value) {
    json c = claims();
    if (value.is_discarded()) {
      c.erase(name);
    } else {
      c[name] = value;
    }
    return code_of(forge(header(), c));
  };
  const json absent(json::value_t::discarded);
  EXPECT_EQ(with("sub", absent), "malformed");
  EXPECT_EQ(with("sub", ""), "malformed");
  EXPECT_EQ(with("sub", 5), "malformed");
  EXPECT_EQ(with("sub", {"alice"}), "malformed");
  EXPECT_EQ(with("sub", std::string("ali\0ce", 6)), "malformed");
  EXPECT_EQ(with("sub", "alice\nINFO forged log line"), "malformed");
  EXPECT_EQ(with("groups", absent), "ok");
  EXPECT_EQ(with("groups", "analysts"), "malformed");
  EXPECT_EQ(with("groups", {"a", 1}), "malformed");
  EXPECT_EQ(with("groups", {"a", nullptr}), "malformed");
  EXPECT_EQ(with("groups", json::array()), "ok");
  EXPECT_EQ(with("task_id", 42), "malformed");
  EXPECT_EQ(with("workflow_id", json::object()), "malformed");
  EXPECT_EQ(with("jti", 1), "malformed");
  EXPECT_EQ(with("act", "dr.jones"), "malformed");
  EXPECT_EQ(with("act", {{"sub", 1}}), "malformed");
  EXPECT_EQ(with("act", json::object()), "malformed");  // an actor without a name cannot be audited
}

TEST_F(LocalIssuerTest, SizeCap) {
  std::string huge(kMaxTokenBytes + 1, 'A');
  EXPECT_EQ(code_of(huge), "too_large");
  std::string token = *issuer_->try_issue({.sub = "alice"}, kNow);
  EXPECT_EQ(code_of(token + std::string(kMaxTokenBytes, 'A')), "too_large");
  EXPECT_EQ(code_of(std::string(kMaxTokenBytes, 'A')), "malformed");
}

// Any single-character change to a genuine token must be refused with a defined code (never
// accepted, never a crash); a cheap in-tree stand-in for fuzzing the whole verify path.
TEST_F(LocalIssuerTest, RandomSingleCharacterMutationsAreRefused) {
  std::string token = *issuer_->try_issue(
      {.sub = "alice", .groups = {"analysts"}, .task_id = "t", .act_sub = "h"}, kNow);
  const std::set<std::string> allowed = {"malformed", "bad_signature"};
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n\0\xff";
  const std::string alphabet(kChars, sizeof kChars - 1);  // keeps the NUL
  std::mt19937 rng(12345);
  for (int i = 0; i < 3000; ++i) {
    std::string t = token;
    size_t pos = rng() % t.size();
    char c = alphabet[rng() % alphabet.size()];
    if (c == t[pos]) continue;
    t[pos] = c;
    auto id = issuer_->verify(t, kNow);
    ASSERT_FALSE(id.ok()) << "accepted a mutated token at " << pos;
    EXPECT_TRUE(allowed.count(id.error().code)) << id.error().code;
  }
}

}  // namespace
}  // namespace phigate
