#pragma once
// Signed checkpoints (DESIGN.md §7): an Ed25519 signature over the Merkle root of the first
// tree_size audit records. Anyone holding the public key can check, offline, that the log they
// were given extends what the gateway signed (see merkle.h for the tree).
//
// The signed bytes are a fixed text, so an external verifier needs only an Ed25519 library:
//   "phigate-checkpoint/v1\n" node_id "\n" tree_size "\n" root_hex "\n" time_ns "\n"
// (decimal integers, root_hex = 64 lowercase hex digits). node_id must not contain '\n', so the
// text parses back unambiguously. key_id names the key (first 16 hex digits of SHA-256 of the raw
// 32-byte public key) so a verifier holding several keys (rotation, several nodes) picks the
// right one; it is not signed, because a wrong key_id simply makes verification fail.
//
// Keys: this library uses OpenSSL's Ed25519 directly instead of identity/Ed25519Key, because
// audit/ sits below identity/ in DESIGN.md §2. The key file format is the same (PKCS#8 PEM), so
// the wiring can load a key with Ed25519Key::load_or_create and pass its to_pem() here.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "audit/merkle.h"
#include "common/bytes.h"
#include "common/result.h"

namespace phigate::audit {

inline constexpr std::string_view kCheckpointTextHeader = "phigate-checkpoint/v1";

struct Checkpoint {
  std::string node_id;
  uint64_t tree_size = 0;
  std::string root_hex;  // MTH of leaves [0, tree_size), lowercase hex
  int64_t time_ns = 0;   // when the checkpoint was made (unix ns)
  std::string key_id;
  std::string signature_b64;  // standard base64 (RFC 4648 §4) of the 64-byte Ed25519 signature

  bool operator==(const Checkpoint&) const = default;
};

// The exact bytes that are signed. Error "invalid" if node_id holds '\n' or root_hex is not 64
// lowercase hex digits (such a checkpoint could not be re-parsed by an external verifier).
Result<std::string> checkpoint_signed_text(const Checkpoint& c);

std::string checkpoint_key_id(ByteSpan public_key);

// An Ed25519 private key for signing checkpoints.
class CheckpointKey {
 public:
  static Result<std::shared_ptr<const CheckpointKey>> generate();
  // PKCS#8 PEM ("PRIVATE KEY"), as written by Ed25519Key; error "invalid_key" unless Ed25519.
  static Result<std::shared_ptr<const CheckpointKey>> from_pem(std::string_view pem);
  ~CheckpointKey();
  CheckpointKey(const CheckpointKey&) = delete;
  CheckpointKey& operator=(const CheckpointKey&) = delete;

  const Bytes& public_key() const { return public_key_; }  // raw 32 bytes
  const std::string& key_id() const { return key_id_; }
  // 64-byte signature, or empty on an OpenSSL failure.
  Bytes sign(ByteSpan message) const;

 private:
  struct Pkey;
  CheckpointKey(std::unique_ptr<Pkey> pkey, Bytes public_key);
  std::unique_ptr<Pkey> pkey_;
  Bytes public_key_;
  std::string key_id_;
};

// Builds and signs a checkpoint. Errors: "invalid" (see checkpoint_signed_text), "crypto".
Result<Checkpoint> sign_checkpoint(const CheckpointKey& key, std::string node_id,
                                   uint64_t tree_size, const Sha256& root, int64_t time_ns);

// Checks the signature with a raw 32-byte Ed25519 public key. Error codes: "invalid" (malformed
// field), "wrong_key" (key_id is not this key's), "bad_signature".
Status verify_checkpoint_signature(const Checkpoint& c, ByteSpan public_key);

// Checks that the log's first tree_size leaves hash to the signed root (the signature is checked
// separately). Error "truncated" if the log holds fewer than tree_size leaves, "root_mismatch" if
// the recomputed root differs, "invalid" for a malformed root_hex. O(tree_size) leaf reads.
Status verify_checkpoint_against(const Checkpoint& c, uint64_t leaf_count, const LeafHashFn& leaf);

// One JSON object, keys sorted, no whitespace (one JSONL line for export/storage).
std::string checkpoint_to_json(const Checkpoint& c);
// nullopt unless a JSON object with exactly the six fields of the right types. Never throws.
std::optional<Checkpoint> checkpoint_from_json(std::string_view text);

}  // namespace phigate::audit
