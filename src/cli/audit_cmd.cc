#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/verifier.h"
#include "cli/cli.h"
#include "common/base64.h"
#include "identity/ed25519_key.h"

namespace phigate::cli {

std::string audit_key_path(const std::string& data_dir) {
  return data_dir + "/keys/audit_ed25519.pem";
}

namespace {

// The public half of the checkpoint key, read without creating anything: verify must not mint a
// key that would then "explain" checkpoints it never signed. Empty if there is no key file.
Result<Bytes> read_public_key(const std::string& data_dir) {
  std::string path = audit_key_path(data_dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Bytes{};
  std::stringstream ss;
  ss << in.rdbuf();
  auto key = Ed25519Key::from_pem(ss.str());
  if (!key.ok()) return make_error("invalid_key", path + ": " + key.error().message);
  return (*key)->public_key();
}

// A progress bar on stderr, only when it is a terminal (scripts and tests see clean output).
std::function<void(uint64_t, uint64_t)> progress_bar() {
  if (!::isatty(STDERR_FILENO)) return nullptr;
  return [](uint64_t done, uint64_t total) {
    constexpr int kWidth = 40;
    if (total == 0 || done > total) total = done;
    int filled = total ? static_cast<int>(done * kWidth / total) : kWidth;
    std::fprintf(stderr, "\rverifying [%s%s] %3d%% %llu/%llu records",
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                 total ? static_cast<int>(done * 100 / total) : 100,
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

}  // namespace

Result<Bytes> parse_audit_public_key(std::string_view text) {
  // `phigate audit pubkey --json` output, its text output, a bare base64 key, or a PEM
  // "PUBLIC KEY" (SubjectPublicKeyInfo: a fixed 12-byte Ed25519 prefix and the raw 32 bytes).
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("public_key_b64") &&
      j["public_key_b64"].is_string()) {
    auto raw = base64_decode(j["public_key_b64"].get<std::string>());
    if (raw && raw->size() == 32) return *raw;
    return make_error("invalid_key", "public_key_b64 is not a 32-byte Ed25519 key");
  }
  std::string body;
  bool pem = text.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos;
  std::istringstream in{std::string(text)};
  std::string tok, last32;
  while (in >> tok) {
    if (pem && tok.find("-----") == std::string::npos) body += tok;
    auto raw = base64_decode(tok);
    if (raw && raw->size() == 32) last32 = tok;
  }
  if (pem) {
    auto der = base64_decode(body);
    static const uint8_t kPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                      0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    if (der && der->size() == 44 && std::equal(kPrefix, kPrefix + 12, der->begin())) {
      return Bytes(der->begin() + 12, der->end());
    }
    return make_error("invalid_key", "PEM is not an Ed25519 public key");
  }
  if (!last32.empty()) return *base64_decode(last32);
  return make_error("invalid_key", "no Ed25519 public key (base64 of 32 bytes) found");
}

Result<Bytes> load_audit_public_key(const std::string& pubkey_file, const std::string& data_dir) {
  if (pubkey_file.empty()) return read_public_key(data_dir);
  std::ifstream in(pubkey_file, std::ios::binary);
  if (!in) return make_error("invalid_key", "cannot read " + pubkey_file);
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > 64 * 1024) return make_error("invalid_key", pubkey_file + ": too large");
  auto key = parse_audit_public_key(ss.str());
  if (!key) return make_error("invalid_key", pubkey_file + ": " + key.error().message);
  return key;
}

int cmd_audit_verify(const std::string& config_path, const AuditVerifyArgs& args,
                     const Wiring& wiring, bool json) {
  std::optional<Config> config;
  // Offline verification of an export needs no config when the key is given explicitly.
  if (args.from_export.empty() || args.pubkey.empty()) {
    config = load_or_report(config_path);
    if (!config) return 2;
  }
  auto pub = load_audit_public_key(args.pubkey, config ? config->gateway.data_dir : "");
  if (!pub) {
    std::cerr << "cannot read the audit key: " << pub.error().message << "\n";
    return 2;
  }
  audit::VerifyOptions opts;
  if (!json) opts.progress = progress_bar();
  Result<audit::VerifyReport> r = audit::VerifyReport{};
  if (!args.from_export.empty()) {
    r = audit::verify_export_file(args.from_export, *pub, opts);
    if (!r.ok() && r.error().code == "io") {
      std::cerr << r.error().message << "\n";
      return 2;
    }
  } else {
    auto store = wiring.open_store(*config, true);
    if (!store) {
      std::cerr << "cannot open the audit store: " << store.error().message << "\n";
      return 2;
    }
    r = audit::verify_log(**store, *pub, opts);
  }
  if (json) {
    nlohmann::json j;
    j["intact"] = r.ok();
    if (r.ok()) {
      j["records"] = r->records;
      j["checkpoints"] = r->checkpoints;
    } else {
      j["error"] = r.error().message;
    }
    std::cout << j.dump() << "\n";
  } else if (r.ok()) {
    // Tests and scripts parse the "audit log intact: <N> records" prefix: keep it.
    std::cout << "audit log intact: " << r->records << " records, " << r->checkpoints
              << " checkpoints verified\n";
  } else {
    std::cout << "audit log NOT intact: " << r.error().message << "\n";
  }
  return r.ok() ? 0 : 1;
}

int cmd_audit_pubkey(const std::string& config_path, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  // Creates the key if the gateway never ran, so an operator can pin (publish) it before the
  // first checkpoint exists; serve loads the same file.
  auto key = Ed25519Key::load_or_create(audit_key_path(config->gateway.data_dir));
  if (!key) {
    std::cerr << "cannot load the audit key: " << key.error().message << "\n";
    return 1;
  }
  const Bytes& pub = (*key)->public_key();
  std::string id = audit::checkpoint_key_id(pub), b64 = base64_encode(pub);
  if (json) {
    nlohmann::json j = {{"key_id", id}, {"public_key_b64", b64}, {"algorithm", "ed25519"}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "key_id: " << id << "\npublic_key (ed25519, base64): " << b64 << "\n";
  }
  return 0;
}

}  // namespace phigate::cli
