#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "audit/checkpoint.h"
#include "audit/log.h"
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

}  // namespace

int cmd_audit_verify(const std::string& config_path, const Wiring& wiring, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto store = wiring.open_store(*config, true);
  if (!store) {
    std::cerr << "cannot open the audit store: " << store.error().message << "\n";
    return 2;
  }
  auto pub = read_public_key(config->gateway.data_dir);
  if (!pub) {
    std::cerr << "cannot read the audit key: " << pub.error().message << "\n";
    return 2;
  }
  auto r = audit::verify_log(**store, *pub);
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
