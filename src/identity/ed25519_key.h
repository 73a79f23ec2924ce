#pragma once
// An Ed25519 signing key (RFC 8032) held in an OpenSSL EVP_PKEY, and its on-disk form: PKCS#8 PEM
// in a 0600 file inside a 0700 directory, created atomically on first use. Usable by any signer in
// the gateway (local token issuer, audit checkpoints).
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace phigate {

inline constexpr size_t kEd25519SignatureBytes = 64;
inline constexpr size_t kEd25519PublicKeyBytes = 32;

class Ed25519Key {
 public:
  // Loads the key at `path`, or generates one and stores it there if the file does not exist. The
  // parent directory is created (mode 0700) if missing and tightened to 0700 if looser. A key file
  // readable by group/others, not a regular file, or not an Ed25519 PKCS#8 key is refused (it is
  // never overwritten). If another process creates the file concurrently, its key wins and is
  // loaded, so every process sharing a data_dir signs with the same key.
  // Error codes: "io", "invalid_key".
  static Result<std::shared_ptr<const Ed25519Key>> load_or_create(const std::string& path);
  // A fresh key that lives only in memory (tests, ephemeral signers).
  static Result<std::shared_ptr<const Ed25519Key>> generate();
  // Parses a PKCS#8 PEM private key; error "invalid_key" unless it is Ed25519.
  static Result<std::shared_ptr<const Ed25519Key>> from_pem(std::string_view pem);

  ~Ed25519Key();
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  // 64-byte signature, or empty on an OpenSSL failure (allocation); callers must check.
  Bytes sign(ByteSpan message) const;
  // True only for a valid 64-byte signature of `message` by this key.
  bool verify(ByteSpan message, ByteSpan signature) const;
  const Bytes& public_key() const { return public_key_; }  // raw 32 bytes
  std::string to_pem() const;                              // PKCS#8 "PRIVATE KEY"

 private:
  struct Pkey;
  explicit Ed25519Key(std::unique_ptr<Pkey> pkey);
  std::unique_ptr<Pkey> pkey_;
  Bytes public_key_;
};

}  // namespace phigate
