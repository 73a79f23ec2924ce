#include "audit/checkpoint.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/base64.h"
#include "common/crypto.h"

namespace phigate::audit {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

bool is_root_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Bytes raw_public_key(EVP_PKEY* pkey) {
  uint8_t raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof raw) return {};
  return Bytes(raw, raw + len);
}

}  // namespace

struct CheckpointKey::Pkey {
  PkeyPtr pkey;
};

CheckpointKey::CheckpointKey(std::unique_ptr<Pkey> pkey, Bytes public_key)
    : pkey_(std::move(pkey)),
      public_key_(std::move(public_key)),
      key_id_(checkpoint_key_id(public_key_)) {}

CheckpointKey::~CheckpointKey() = default;

Result<std::shared_ptr<const CheckpointKey>> CheckpointKey::generate() {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return make_error("crypto", "Ed25519 key generation failed");
  }
  auto p = std::make_unique<Pkey>(Pkey{PkeyPtr(raw)});
  Bytes pub = raw_public_key(raw);
  if (pub.empty()) return make_error("crypto", "Ed25519 public key unavailable");
  return std::shared_ptr<const CheckpointKey>(new CheckpointKey(std::move(p), std::move(pub)));
}

Result<std::shared_ptr<const CheckpointKey>> CheckpointKey::from_pem(std::string_view pem) {
  if (pem.size() > 64 * 1024) return make_error("invalid_key", "key file too large");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error("invalid_key", "cannot read key");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey || EVP_PKEY_id(pkey.get()) != EVP_PKEY_ED25519) {
    return make_error("invalid_key", "not an Ed25519 PKCS#8 private key");
  }
  Bytes pub = raw_public_key(pkey.get());
  if (pub.empty()) return make_error("invalid_key", "Ed25519 public key unavailable");
  auto p = std::make_unique<Pkey>(Pkey{std::move(pkey)});
  return std::shared_ptr<const CheckpointKey>(new CheckpointKey(std::move(p), std::move(pub)));
}

Bytes CheckpointKey::sign(ByteSpan message) const {
  // Ed25519 is a one-shot signature (RFC 8032 PureEdDSA): no digest is configured.
  MdCtxPtr ctx(EVP_MD_CTX_new());
  Bytes sig(64);
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1 ||
      len != sig.size()) {
    return {};
  }
  return sig;
}

Result<std::string> checkpoint_signed_text(const Checkpoint& c) {
  if (c.node_id.find('\n') != std::string::npos) {
    return make_error("invalid", "checkpoint node_id contains a newline");
  }
  if (!is_root_hex(c.root_hex)) {
    return make_error("invalid", "checkpoint root_hex is not 64 lowercase hex digits");
  }
  std::string text(kCheckpointTextHeader);
  text += '\n';
  text += c.node_id;
  text += '\n';
  text += std::to_string(c.tree_size);
  text += '\n';
  text += c.root_hex;
  text += '\n';
  text += std::to_string(c.time_ns);
  text += '\n';
  return text;
}

std::string checkpoint_key_id(ByteSpan public_key) {
  return to_hex(sha256(public_key)).substr(0, 16);
}

Result<Checkpoint> sign_checkpoint(const CheckpointKey& key, std::string node_id,
                                   uint64_t tree_size, const Sha256& root, int64_t time_ns) {
  Checkpoint c;
  c.node_id = std::move(node_id);
  c.tree_size = tree_size;
  c.root_hex = to_hex(root);
  c.time_ns = time_ns;
  c.key_id = key.key_id();
  auto text = checkpoint_signed_text(c);
  if (!text) return text.error();
  Bytes sig = key.sign(as_bytes(*text));
  if (sig.empty()) return make_error("crypto", "Ed25519 signing failed");
  c.signature_b64 = base64_encode(sig);
  return c;
}

Status verify_checkpoint_signature(const Checkpoint& c, ByteSpan public_key) {
  if (public_key.size() != 32) return make_error("invalid", "Ed25519 public key is not 32 bytes");
  if (c.key_id != checkpoint_key_id(public_key)) {
    return make_error("wrong_key", "checkpoint was signed by key " + c.key_id);
  }
  auto text = checkpoint_signed_text(c);
  if (!text) return text.error();
  auto sig = base64_decode(c.signature_b64);
  if (!sig || sig->size() != 64) return make_error("invalid", "checkpoint signature is malformed");
  PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), sig->data(), sig->size(),
                       reinterpret_cast<const uint8_t*>(text->data()), text->size()) != 1) {
    return make_error("bad_signature", "checkpoint signature does not verify");
  }
  return ok_status();
}

Status verify_checkpoint_against(const Checkpoint& c, uint64_t leaf_count, const LeafHashFn& leaf) {
  if (!is_root_hex(c.root_hex)) return make_error("invalid", "checkpoint root_hex is malformed");
  if (leaf_count < c.tree_size) {
    return make_error("truncated", "log holds " + std::to_string(leaf_count) +
                                       " records; checkpoint covers " +
                                       std::to_string(c.tree_size));
  }
  std::string got = to_hex(merkle_root(0, c.tree_size, leaf));
  if (got != c.root_hex) {
    return make_error("root_mismatch", "Merkle root of the first " + std::to_string(c.tree_size) +
                                           " records is " + got + ", checkpoint signed " +
                                           c.root_hex);
  }
  return ok_status();
}

std::string checkpoint_to_json(const Checkpoint& c) {
  // nlohmann::json's object keeps keys sorted; `replace` keeps dump() from throwing on a
  // non-UTF-8 node_id.
  nlohmann::json j = {{"node_id", c.node_id},   {"tree_size", c.tree_size},
                      {"root_hex", c.root_hex}, {"time_ns", c.time_ns},
                      {"key_id", c.key_id},     {"signature_b64", c.signature_b64}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Checkpoint> checkpoint_from_json(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.size() != 6) return std::nullopt;
  auto str = [&](const char* k, std::string& out) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  Checkpoint c;
  if (!str("node_id", c.node_id) || !str("root_hex", c.root_hex) || !str("key_id", c.key_id) ||
      !str("signature_b64", c.signature_b64)) {
    return std::nullopt;
  }
  auto size = j.find("tree_size");
  if (size == j.end() || !size->is_number_unsigned()) return std::nullopt;
  c.tree_size = size->get<uint64_t>();
  auto time = j.find("time_ns");
  if (time == j.end() || !time->is_number_integer()) return std::nullopt;
  if (time->is_number_unsigned()) {
    uint64_t t = time->get<uint64_t>();
    if (t > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    c.time_ns = static_cast<int64_t>(t);
  } else {
    c.time_ns = time->get<int64_t>();
  }
  return c;
}

}  // namespace phigate::audit
