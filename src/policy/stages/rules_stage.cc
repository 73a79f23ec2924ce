#include "policy/stages/rules_stage.h"

#include <string>

namespace phigate {
namespace rules {

Verdict review(const CompiledRule& rule, const CompiledRole& role, std::string_view what) {
  // A hold: the adapter asks the approval gate (or denies when there is none: fail closed).
  Verdict v;
  v.kind = VerdictKind::kHold;
  v.rule = rule.name;
  v.message = std::string(what) + " requires approval (review)";
  v.role = role.config->name;
  return v;
}

}  // namespace rules

namespace {

Verdict with_role(Verdict v, const CompiledRole& role) {
  v.role = role.config->name;
  return v;
}

// FunctionCall protocol messages name a function by OID with no statement text to classify, so
// they are all-or-nothing per role. A read_only role cannot grant them: the function may write.
Verdict decide_function_call(const rules::RoleSet& rs) {
  for (size_t i = 0; i < rs.n; ++i) {
    const RoleConfig& role = *rs.roles[i]->config;
    if (role.allow_function_call && !role.read_only) {
      return Verdict::allow("allow_function_call", role.name);
    }
  }
  return with_role(Verdict::deny("function_call", "function call protocol message not allowed"),
                   *rs.roles[0]);
}

// SSH commands have no rule vocabulary yet: only a rule with an empty match applies.
Verdict decide_command(const rules::RoleSet& rs, const Request& req) {
  for (size_t i = 0; i < rs.n; ++i) {
    const CompiledRole& role = *rs.roles[i];
    if (role.config->read_only) {
      return with_role(Verdict::deny("read_only", "role " + role.config->name +
                                                      " is read-only: commands are not allowed"),
                       role);
    }
    for (const CompiledRule& rule : role.rules) {
      if (!rule.match_all) continue;
      switch (rule.action) {
        case RuleAction::kAllow:
          return Verdict::allow(rule.name, role.config->name);
        case RuleAction::kReview:
          return rules::review(rule, role, "command");
        case RuleAction::kDeny:
          return with_role(
              Verdict::deny(rule.name, rule.config->message.empty() ? "command denied by policy"
                                                                    : rule.config->message),
              role);
      }
    }
  }
  return with_role(
      Verdict::deny("", "no rule allows commands on resource " + std::string(req.resource) +
                            " for roles " + role_list(rs.roles, rs.n)),
      *rs.roles[0]);
}

}  // namespace

Verdict RulesStage::on_request(const Config&, const Request& req) const {
  rules::RoleSet rs;
  if (req.identity != nullptr) rs.n = policy_.roles_for(*req.identity, req.resource, rs.roles);
  if (rs.n == 0) {
    // ResourceAccessStage normally answers this; kept so the stage is safe on its own.
    return Verdict::deny("resource_access",
                         "no role has access to resource " + std::string(req.resource), "28000");
  }
  switch (req.action) {
    case ActionKind::kConnect:
      return Verdict::allow("connect", rs.roles[0]->config->name);
    case ActionKind::kStatement:
      return rules::decide_statements(rs, req);
    case ActionKind::kFunctionCall:
      return decide_function_call(rs);
    case ActionKind::kHttpRequest:
      return rules::decide_http(rs, req);
    case ActionKind::kCommand:
      return decide_command(rs, req);
  }
  return Verdict::deny("", "unsupported action");
}

}  // namespace phigate
