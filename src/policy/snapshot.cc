#include "policy/snapshot.h"

#include "mask/profile.h"
#include "policy/masking.h"
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
  for (const MaskingProfileConfig& p : config.masking) {
    auto m = compile_masking_profile(p, /*read_secrets=*/true, errors);
    if (!m)
      return make_error(
          "config", "masking profile \"" + p.name + "\" does not compile: " + errors[0].message);
    s->masks_[p.name] = std::move(m);
  }
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

std::shared_ptr<const mask::MaskProfile> PolicySnapshot::masking_for(const Identity& id,
                                                                     std::string_view resource,
                                                                     std::string_view role) const {
  auto profile_of = [&](const RoleConfig* r) -> std::shared_ptr<const mask::MaskProfile> {
    if (!r || r->masking.empty()) return nullptr;
    auto it = masks_.find(r->masking);
    return it == masks_.end() ? nullptr : it->second;
  };
  if (!role.empty()) return profile_of(config_.find_role(role));
  const CompiledRole* roles[CompiledPolicy::kMaxRoles];
  size_t n = compiled_->roles_for(id, resource, roles);
  for (size_t i = 0; i < n; ++i)
    if (auto m = profile_of(roles[i]->config)) return m;
  return nullptr;
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
