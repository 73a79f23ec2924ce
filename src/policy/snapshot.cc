#include "policy/snapshot.h"

#include "policy/stage.h"
#include "policy/stages/compiled_policy.h"
#include "policy/stages/resource_access_stage.h"
#include "policy/stages/rules_stage.h"

namespace phigate {

PolicySnapshot::~PolicySnapshot() = default;

Result<std::shared_ptr<const PolicySnapshot>> PolicySnapshot::compile(const Config& config,
                                                                      uint64_t version) {
  std::vector<ConfigError> errors = validate_policy(config);
  if (!errors.empty()) {
    std::string msg = "invalid policy: " + errors[0].message;
    if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more)";
    return make_error("config", std::move(msg));
  }
  std::shared_ptr<PolicySnapshot> s(new PolicySnapshot());
  s->config_ = config;
  s->version_ = version;
  auto compiled = CompiledPolicy::compile(s->config_);
  if (!compiled) return compiled.error();
  s->compiled_ = std::move(*compiled);
  // Order matters: access to the resource first, then the roles' rules. Masking, approvals and
  // the audit stage slot in here as they arrive.
  s->stages_.push_back(std::make_unique<const ResourceAccessStage>(*s->compiled_));
  s->stages_.push_back(std::make_unique<const RulesStage>(*s->compiled_));
  return std::shared_ptr<const PolicySnapshot>(std::move(s));
}

bool PolicySnapshot::can_access(const Identity& id, std::string_view resource) const {
  if (config_.find_resource(resource) == nullptr) return false;
  const CompiledRole* roles[CompiledPolicy::kMaxRoles];
  return compiled_->roles_for(id, resource, roles) > 0;
}

Verdict PolicySnapshot::decide(const Request& req) const {
  for (const auto& stage : stages_) {
    Verdict v = stage->on_request(config_, req);
    if (v.kind != VerdictKind::kContinue) return v;
  }
  // Every pipeline ends in a stage that decides; reaching here is a bug, and bugs fail closed.
  return Verdict::deny("", "no policy stage decided the request");
}

}  // namespace phigate
