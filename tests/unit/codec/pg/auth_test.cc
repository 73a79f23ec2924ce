// SCRAM-SHA-256 client (RFC 5802/7677) and the MD5 password scheme.
#include "codec/pg/auth.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <set>

namespace phigate::pg {
namespace {

// RFC 7677 §3 example exchange.
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

ScramClient rfc_client() {
  ScramClient c("pencil", std::string(kRfcClientNonce));
  c.set_username("user");
  return c;
}

TEST(Scram, Rfc7677TestVector) {
  auto c = rfc_client();
  EXPECT_EQ(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  auto fin = c.client_final(kRfcServerFirst);
  ASSERT_TRUE(fin) << fin.error().message;
  EXPECT_EQ(*fin, kRfcClientFinal);
  auto ok = c.verify_server_final(kRfcServerFinal);
  EXPECT_TRUE(ok) << ok.error().message;
}

TEST(Scram, WrongServerSignatureIsRejected) {
  for (std::string_view bad : {
           // Same prefix, different tail: a near miss must not pass.
           "v=6rriTRBi23WpRR/wtup+mMhUZUn/dkk2qKSPMkTYL9k=",
           "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
       }) {
    auto c = rfc_client();
    c.client_first();
    ASSERT_TRUE(c.client_final(kRfcServerFirst));
    auto st = c.verify_server_final(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, "auth");
  }
}

TEST(Scram, MalformedServerFinal) {
  for (std::string_view bad : {"", "v=", "v=AAAA", "v=!!!!", "x=abc", "v=6rriTRBi23WpRR",
                               "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,bad"}) {
    auto c = rfc_client();
    c.client_first();
    ASSERT_TRUE(c.client_final(kRfcServerFirst));
    auto st = c.verify_server_final(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, "protocol") << bad;
  }
}

TEST(Scram, ServerErrorAttribute) {
  auto c = rfc_client();
  c.client_first();
  ASSERT_TRUE(c.client_final(kRfcServerFirst));
  auto st = c.verify_server_final("e=invalid-proof");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "auth");
  EXPECT_NE(st.error().message.find("invalid-proof"), std::string::npos);
}

TEST(Scram, ExtensionsAfterKnownAttributesAreIgnored) {
  auto c = rfc_client();
  c.client_first();
  auto with_ext = std::string(kRfcServerFirst) + ",x=future";
  auto fin = c.client_final(with_ext);
  ASSERT_TRUE(fin) << fin.error().message;
  // The extension is part of AuthMessage, so the proof changes; the final verify covers the math.
  EXPECT_NE(*fin, kRfcClientFinal);
}

// PostgreSQL's flavour: the SCRAM user name is left empty (the startup packet carries it).
// Expected values computed independently with Python's hashlib/hmac.
TEST(Scram, PostgresEmptyUsername) {
  ScramClient c("pencil", std::string(kRfcClientNonce));
  EXPECT_EQ(c.client_first(), "n,,n=,r=rOprNGfwEbeRWgbNEkqO");
  auto fin = c.client_final(kRfcServerFirst);
  ASSERT_TRUE(fin);
  EXPECT_EQ(*fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=");
  EXPECT_TRUE(c.verify_server_final("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg="));
}

TEST(Scram, UsernameIsEscaped) {
  ScramClient c("pw", "abc");
  c.set_username("a=b,c");
  EXPECT_EQ(c.client_first(), "n,,n=a=3Db=2Cc,r=abc");
}

TEST(Scram, GeneratedNoncesAreRandomBase64) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    ScramClient c("pw");
    std::string first = c.client_first();
    ASSERT_EQ(first.rfind("n,,n=,r=", 0), 0u);
    std::string nonce = first.substr(8);
    EXPECT_EQ(nonce.size(), 24u);  // 18 bytes
    EXPECT_EQ(nonce.find(','), std::string::npos);
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 50u);
}

void expect_server_first_rejected(std::string_view server_first, std::string_view needle) {
  auto c = rfc_client();
  c.client_first();
  auto fin = c.client_final(server_first);
  ASSERT_FALSE(fin) << server_first;
  EXPECT_EQ(fin.error().code, "protocol");
  EXPECT_NE(fin.error().message.find(needle), std::string::npos) << fin.error().message;
}

TEST(Scram, RejectsForeignOrUnextendedNonce) {
  expect_server_first_rejected("r=XXprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                               "nonce");
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce");
  expect_server_first_rejected("r=rOprNGfw,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce");
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqO a,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                               "nonce");
}

TEST(Scram, RejectsWeakOrAbsurdIterationCounts) {
  const std::string base = "r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=";
  expect_server_first_rejected(base + "4095", "iteration count");
  expect_server_first_rejected(base + "1", "iteration count");
  expect_server_first_rejected(base + "0", "iteration count");
  expect_server_first_rejected(base + "", "iteration count");
  expect_server_first_rejected(base + "-4096", "iteration count");
  expect_server_first_rejected(base + "4096x", "iteration count");
  expect_server_first_rejected(base + "1000001", "iteration count");
  expect_server_first_rejected(base + "99999999999999999999", "iteration count");
}

TEST(Scram, RejectsBadSalt) {
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hv,s=!!!!,i=4096", "salt");
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096", "salt");
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hv,s=,i=4096", "salt");
}

TEST(Scram, RejectsMalformedAttributes) {
  expect_server_first_rejected("", "expected r=");
  expect_server_first_rejected("garbage", "expected r=");
  expect_server_first_rejected("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hv,i=4096",
                               "expected r=");
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==",
                               "expected r=");
  expect_server_first_rejected("m=ext,r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
                               "mandatory extension");
  expect_server_first_rejected("r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,,",
                               "extension");
}

TEST(Scram, OutOfOrderCallsAreErrors) {
  ScramClient c("pw", "abc");
  auto fin = c.client_final(kRfcServerFirst);
  ASSERT_FALSE(fin);
  EXPECT_EQ(fin.error().code, "protocol");
  auto st = c.verify_server_final(kRfcServerFinal);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "protocol");
  // A failed client_final leaves nothing to verify against.
  auto d = rfc_client();
  d.client_first();
  ASSERT_FALSE(d.client_final("r=nope,s=AAAA,i=4096"));
  EXPECT_FALSE(d.verify_server_final(kRfcServerFinal));
}

TEST(Scram, MovedClientKeepsWorking) {
  auto c = rfc_client();
  c.client_first();
  ScramClient moved = std::move(c);
  auto fin = moved.client_final(kRfcServerFirst);
  ASSERT_TRUE(fin);
  EXPECT_EQ(*fin, kRfcClientFinal);
}

// Values computed with Python: "md5" + md5(md5(password + user).hexdigest() + salt).hexdigest().
TEST(Md5, KnownValues) {
  const uint8_t salt1[] = {1, 2, 3, 4};
  EXPECT_EQ(md5_password("postgres", "secret", ByteSpan(salt1)),
            "md5bb41a296aab6baccb36ff243a562abff");
  const uint8_t salt2[] = {0xde, 0xad, 0xbe, 0xef};
  EXPECT_EQ(md5_password("alice", "s3cr3t!", ByteSpan(salt2)),
            "md5544ee0bda10899cf82ee8affbf2b67b7");
}

}  // namespace
}  // namespace phigate::pg

namespace phigate::pg {
namespace {

// The memoised SaltedPassword equals a fresh PBKDF2 and differs per salt / iteration count.
TEST(ScramSaltCache, SameAsFreshAndKeyedBySaltAndIterations) {
  Bytes salt{1, 2, 3, 4}, other{1, 2, 3, 5};
  Bytes a, b, c, d;
  ASSERT_TRUE(salted_password_cached("pencil", salt, 4096, a));
  ASSERT_TRUE(salted_password_cached("pencil", salt, 4096, b));  // from the cache
  EXPECT_EQ(a, b);
  ASSERT_TRUE(salted_password_cached("pencil", other, 4096, c));
  ASSERT_TRUE(salted_password_cached("pencil", salt, 4097, d));
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  Bytes fresh(32);
  ASSERT_EQ(PKCS5_PBKDF2_HMAC("pencil", 6, salt.data(), 4, 4096, EVP_sha256(), 32, fresh.data()),
            1);
  EXPECT_EQ(a, fresh);
}

}  // namespace
}  // namespace phigate::pg
