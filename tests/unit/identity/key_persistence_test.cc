#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "identity/ed25519_key.h"
#include "identity/local_issuer.h"
#include "test_support.h"

namespace phigate {
namespace {

constexpr int64_t kNow = 1'700'000'000;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

TEST(KeyPersistence, CreatesKeyFileWithPrivateModes) {
  testing::TempDir dir;
  std::string data_dir = dir.path() + "/var";  // does not exist yet
  auto issuer = LocalIssuer::load_or_create(data_dir, "gw-1");
  ASSERT_TRUE(issuer.ok()) << issuer.error().message;
  std::string path = LocalIssuer::key_path(data_dir);
  EXPECT_EQ(path, data_dir + "/keys/local_issuer_ed25519.pem");
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(data_dir + "/keys"), 0700u);
  EXPECT_EQ(mode_of(data_dir), 0700u);  // created by us, so owner-only
  std::string pem = testing::read_file(path);
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);  // PKCS#8, unencrypted
  // No temp files left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(data_dir + "/keys")) {
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST(KeyPersistence, SecondLoadUsesSameKeyAndTokensVerifyAcrossInstances) {
  testing::TempDir dir;
  auto a = LocalIssuer::load_or_create(dir.path(), "gw-1");
  ASSERT_TRUE(a.ok()) << a.error().message;
  std::string pem_before = testing::read_file(LocalIssuer::key_path(dir.path()));
  auto b = LocalIssuer::load_or_create(dir.path(), "gw-1");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(testing::read_file(LocalIssuer::key_path(dir.path())), pem_before);
  EXPECT_EQ((*a)->kid(), (*b)->kid());
  EXPECT_EQ((*a)->public_key(), (*b)->public_key());

  auto from_a = (*a)->try_issue({.sub = "alice", .groups = {"g"}}, kNow);
  auto from_b = (*b)->try_issue({.sub = "bob"}, kNow);
  ASSERT_TRUE(from_a.ok() && from_b.ok());
  auto on_b = (*b)->verify(*from_a, kNow);
  ASSERT_TRUE(on_b.ok()) << on_b.error().code;
  EXPECT_EQ(on_b->sub, "alice");
  auto on_a = (*a)->verify(*from_b, kNow);
  ASSERT_TRUE(on_a.ok()) << on_a.error().code;
  EXPECT_EQ(on_a->sub, "bob");
}

TEST(KeyPersistence, ConcurrentCreatorsAgreeOnOneKey) {
  for (int round = 0; round < 5; ++round) {
    testing::TempDir dir;
    std::string path = dir.path() + "/keys/k.pem";
    constexpr int kThreads = 6;
    std::vector<Bytes> public_keys(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        auto key = Ed25519Key::load_or_create(path);
        if (key.ok()) public_keys[i] = (*key)->public_key();
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_EQ(public_keys[i].size(), 32u);
      EXPECT_EQ(public_keys[i], public_keys[0]) << "thread " << i;
    }
    auto on_disk = Ed25519Key::from_pem(testing::read_file(path));
    ASSERT_TRUE(on_disk.ok());
    EXPECT_EQ((*on_disk)->public_key(), public_keys[0]);
    size_t entries = 0;
    for ([[maybe_unused]] const auto& e :
         std::filesystem::directory_iterator(dir.path() + "/keys")) {
      ++entries;
    }
    EXPECT_EQ(entries, 1u);
  }
}

TEST(KeyPersistence, TightensLooseKeyDirectory) {
  testing::TempDir dir;
  std::string keys = dir.path() + "/keys";
  ASSERT_EQ(::mkdir(keys.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(keys.c_str(), 0755), 0);
  ASSERT_TRUE(LocalIssuer::load_or_create(dir.path(), "gw-1").ok());
  EXPECT_EQ(mode_of(keys), 0700u);
}

TEST(KeyPersistence, RefusesKeyReadableByOthers) {
  testing::TempDir dir;
  ASSERT_TRUE(LocalIssuer::load_or_create(dir.path(), "gw-1").ok());
  std::string path = LocalIssuer::key_path(dir.path());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto again = LocalIssuer::load_or_create(dir.path(), "gw-1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "invalid_key");
  EXPECT_EQ(mode_of(path), 0644u);  // reported, never silently "fixed" or replaced
}

TEST(KeyPersistence, RefusesCorruptOrForeignKeyWithoutOverwriting) {
  testing::TempDir dir;
  std::string keys = dir.path() + "/keys";
  ASSERT_EQ(::mkdir(keys.c_str(), 0700), 0);
  std::string path = LocalIssuer::key_path(dir.path());

  write_file(path, "garbage", 0600);
  auto r = LocalIssuer::load_or_create(dir.path(), "gw-1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_key");
  EXPECT_EQ(testing::read_file(path), "garbage");

  write_file(path, "", 0600);
  r = LocalIssuer::load_or_create(dir.path(), "gw-1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_key");

  // A valid PKCS#8 key of the wrong type (P-256) is not silently used for EdDSA.
  EVP_PKEY* ec = EVP_EC_gen("P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string ec_pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  write_file(path, ec_pem, 0600);
  r = LocalIssuer::load_or_create(dir.path(), "gw-1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "invalid_key");
  EXPECT_EQ(testing::read_file(path), ec_pem);

  // A directory where the file should be.
  std::filesystem::remove(path);
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  r = LocalIssuer::load_or_create(dir.path(), "gw-1");
  ASSERT_FALSE(r.ok());
}

TEST(KeyPersistence, RejectsBadArguments) {
  testing::TempDir dir;
  EXPECT_EQ(LocalIssuer::load_or_create(dir.path(), "").error().code, "invalid_argument");
  EXPECT_EQ(LocalIssuer::load_or_create("", "gw-1").error().code, "invalid_argument");
}

TEST(Ed25519Key, SignVerify) {
  auto key = Ed25519Key::generate();
  ASSERT_TRUE(key.ok());
  Bytes sig = (*key)->sign(as_bytes("hello"));
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE((*key)->verify(as_bytes("hello"), sig));
  EXPECT_FALSE((*key)->verify(as_bytes("hellO"), sig));
  EXPECT_FALSE((*key)->verify(as_bytes("hello"), ByteSpan(sig).first(63)));
  EXPECT_FALSE((*key)->verify(as_bytes("hello"), Bytes(64, 0)));
  // PEM round trip keeps the key.
  auto again = Ed25519Key::from_pem((*key)->to_pem());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->public_key(), (*key)->public_key());
  EXPECT_TRUE((*again)->verify(as_bytes("hello"), sig));
}

}  // namespace
}  // namespace phigate
