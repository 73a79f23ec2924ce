#include "identity/ed25519_key.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "common/crypto.h"

namespace phigate {

struct Ed25519Key::Pkey {
  explicit Pkey(EVP_PKEY* p) : pkey(p) {}
  ~Pkey() { EVP_PKEY_free(pkey); }
  Pkey(const Pkey&) = delete;
  Pkey& operator=(const Pkey&) = delete;
  EVP_PKEY* pkey;
};

namespace {

// The key file is a few hundred bytes; anything far bigger is not ours and is not read into memory.
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

// An encrypted PEM would make OpenSSL's default callback prompt on the terminal; a gateway must
// never block on stdin, so refuse any passphrase request.
int no_passphrase(char*, int, int, void*) { return 0; }

std::string errno_text(int err) { return std::strerror(err); }

// Wipes the private key's PEM text when it goes out of scope.
struct SecretString {
  std::string text;
  ~SecretString() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  }
};

Error io_error(const std::string& what, const std::string& path, int err) {
  return make_error("io", what + " " + path + ": " + errno_text(err));
}

// Creates `dir` (and missing parents) and makes sure only the owner can enter it: the signing key
// inside must not be reachable by other local users even if the file mode were wrong.
Status ensure_private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path p(dir);
  if (p.has_parent_path() && !p.parent_path().empty() &&
      !std::filesystem::exists(p.parent_path(), ec)) {
    // A data_dir we create ourselves also holds the store: owner-only from the start.
    if (!std::filesystem::create_directories(p.parent_path(), ec) || ec ||
        ::chmod(p.parent_path().c_str(), 0700) != 0) {
      return make_error("io", "cannot create directory " + p.parent_path().string());
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return io_error("cannot create", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_error("cannot stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return make_error("io", dir + " is not a directory");
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    return io_error("cannot restrict permissions of", dir, errno);
  }
  return ok_status();
}

// Reads the key file if present. nullopt = the file does not exist (so the caller may create it).
std::optional<Result<std::shared_ptr<const Ed25519Key>>> read_key_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    return Result<std::shared_ptr<const Ed25519Key>>(io_error("cannot open", path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Result<std::shared_ptr<const Ed25519Key>>(io_error("cannot stat", path, err));
  }
  if (!S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kMaxKeyFileBytes) {
    ::close(fd);
    return Result<std::shared_ptr<const Ed25519Key>>(
        make_error("invalid_key", path + " is not a regular key file"));
  }
  // Like ssh, refuse a private key others can read: it may already be compromised, and silently
  // signing with it would hide that.
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Result<std::shared_ptr<const Ed25519Key>>(make_error(
        "invalid_key", path + " is accessible by group or others; run: chmod 600 " + path));
  }
  SecretString pem;
  pem.text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < pem.text.size()) {
    ssize_t n = ::read(fd, pem.text.data() + got, pem.text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  pem.text.resize(got);
  auto key = Ed25519Key::from_pem(pem.text);
  if (!key.ok()) {
    return Result<std::shared_ptr<const Ed25519Key>>(
        make_error("invalid_key", path + " does not hold an Ed25519 PKCS#8 private key"));
  }
  return key;
}

bool write_all(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

enum class Publish { kDone, kExists, kFailed };

// Moves the complete temp file to `path` without ever replacing an existing file: link(2) is atomic
// and fails with EEXIST, which is how a concurrent creator is detected (a plain rename would
// silently replace the other process's key while it already signs with it). Filesystems without
// hard links fall back to renameat2(RENAME_NOREPLACE), which has the same semantics.
Publish publish(const std::string& tmp, const std::string& path, int* err) {
  if (::link(tmp.c_str(), path.c_str()) == 0) {
    ::unlink(tmp.c_str());
    return Publish::kDone;
  }
  *err = errno;
  if (*err == EEXIST) return Publish::kExists;
  if (*err == EPERM || *err == ENOTSUP || *err == EOPNOTSUPP || *err == EMLINK || *err == ENOSYS) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
      return Publish::kDone;
    }
    *err = errno;
    if (*err == EEXIST) return Publish::kExists;
  }
  return Publish::kFailed;
}

}  // namespace

Ed25519Key::Ed25519Key(std::unique_ptr<Pkey> pkey) : pkey_(std::move(pkey)) {
  uint8_t raw[kEd25519PublicKeyBytes];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(pkey_->pkey, raw, &len) == 1 && len == sizeof raw) {
    public_key_.assign(raw, raw + len);
  }
}

Ed25519Key::~Ed25519Key() = default;

Result<std::shared_ptr<const Ed25519Key>> Ed25519Key::generate() {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return make_error("invalid_key", "Ed25519 key generation failed");
  }
  std::shared_ptr<const Ed25519Key> key(new Ed25519Key(std::make_unique<Pkey>(raw)));
  if (key->public_key().size() != kEd25519PublicKeyBytes) {
    return make_error("invalid_key", "Ed25519 key generation failed");
  }
  return key;
}

Result<std::shared_ptr<const Ed25519Key>> Ed25519Key::from_pem(std::string_view pem) {
  if (pem.size() > kMaxKeyFileBytes) return make_error("invalid_key", "key too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error("invalid_key", "out of memory");
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (raw == nullptr) return make_error("invalid_key", "not a PEM private key");
  auto holder = std::make_unique<Pkey>(raw);
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) {
    return make_error("invalid_key", "private key is not Ed25519");
  }
  std::shared_ptr<const Ed25519Key> key(new Ed25519Key(std::move(holder)));
  if (key->public_key().size() != kEd25519PublicKeyBytes) {
    return make_error("invalid_key", "cannot derive the Ed25519 public key");
  }
  return key;
}

Result<std::shared_ptr<const Ed25519Key>> Ed25519Key::load_or_create(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (auto st = ensure_private_dir(dir); !st.ok()) return st.error();

  // Two rounds: if our publish loses the race, the second round loads the winner's key.
  for (int round = 0; round < 2; ++round) {
    if (auto existing = read_key_file(path)) return std::move(*existing);

    auto key = generate();
    if (!key.ok()) return key;
    SecretString pem{(*key)->to_pem()};
    if (pem.text.empty()) return make_error("invalid_key", "cannot encode the new key");

    std::string tmp = path + ".tmp." + random_id();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return io_error("cannot create", tmp, errno);
    // The umask can only remove bits, but be explicit: the file must be exactly 0600.
    bool ok = ::fchmod(fd, 0600) == 0 && write_all(fd, pem.text) && ::fsync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!ok) {
      ::unlink(tmp.c_str());
      return io_error("cannot write", tmp, err);
    }
    switch (publish(tmp, path, &err)) {
      case Publish::kDone:
        fsync_dir(dir);
        return key;
      case Publish::kExists:
        ::unlink(tmp.c_str());
        continue;
      case Publish::kFailed:
        ::unlink(tmp.c_str());
        return io_error("cannot install", path, err);
    }
  }
  return make_error("io", "key file " + path + " appeared but could not be loaded");
}

Bytes Ed25519Key::sign(ByteSpan message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Bytes sig(kEd25519SignatureBytes);
  size_t len = sig.size();
  // Ed25519 is a one-shot scheme over the whole message: no digest is configured (NULL md).
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != kEd25519SignatureBytes) {
    return {};
  }
  return sig;
}

bool Ed25519Key::verify(ByteSpan message, ByteSpan signature) const {
  if (signature.size() != kEd25519SignatureBytes) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_->pkey) == 1 &&
         EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

std::string Ed25519Key::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_->pkey, nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return {};
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(len));
  // The memory BIO's buffer held the private key too.
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  return out;
}

}  // namespace phigate
