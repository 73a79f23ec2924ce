#include <iostream>
#include <nlohmann/json.hpp>

#include "audit/log.h"
#include "cli/cli.h"

namespace phigate::cli {

int cmd_audit_verify(const std::string& config_path, const Wiring& wiring, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto store = wiring.open_store(*config, true);
  if (!store) {
    std::cerr << "cannot open the audit store: " << store.error().message << "\n";
    return 2;
  }
  auto r = audit::verify_chain(**store);
  if (json) {
    nlohmann::json j;
    j["intact"] = r.ok();
    if (r.ok())
      j["records"] = r.value();
    else
      j["error"] = r.error().message;
    std::cout << j.dump() << "\n";
  } else if (r.ok()) {
    std::cout << "audit log intact: " << r.value() << " records\n";
  } else {
    std::cout << "audit log NOT intact: " << r.error().message << "\n";
  }
  return r.ok() ? 0 : 1;
}

}  // namespace phigate::cli
