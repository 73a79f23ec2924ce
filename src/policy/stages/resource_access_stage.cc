#include "policy/stages/resource_access_stage.h"

#include <string>

namespace phigate {

Verdict ResourceAccessStage::on_request(const Config& config, const Request& req) const {
  if (req.identity == nullptr) {
    return Verdict::deny("resource_access", "no authenticated identity", "28000");
  }
  // 3D000 invalid_catalog_name: what a client expects for an unknown dbname.
  if (config.find_resource(req.resource) == nullptr) {
    return Verdict::deny("resource_access",
                         "resource \"" + std::string(req.resource) + "\" does not exist", "3D000");
  }
  const CompiledRole* roles[CompiledPolicy::kMaxRoles];
  if (policy_.roles_for(*req.identity, req.resource, roles) > 0) return {};  // kContinue

  const std::vector<std::string>& names = req.identity->roles;
  std::string msg;
  if (names.empty()) {
    msg = "identity has no roles: no access to resource " + std::string(req.resource);
  } else if (names.size() == 1) {
    msg = "role " + names[0] + " has no access to resource " + std::string(req.resource);
  } else {
    msg = "roles [";
    for (size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : "") + names[i];
    msg += "] have no access to resource " + std::string(req.resource);
  }
  return Verdict::deny("resource_access", std::move(msg), "28000");
}

}  // namespace phigate
