#pragma once
// The rules of the identity's roles (DESIGN.md §4), for every action kind. Runs after
// ResourceAccessStage, so at least one role lists the resource.
//
// Statements: every statement of the query string (and every data-modifying statement nested in
// one) must be allowed. Per statement, the roles are tried in the identity's role order and each
// role's rules in order; the first matching rule decides. A read_only role denies writes before its
// rules are looked at. When no rule matched, plumbing is allowed and anything else denied.
// Identity changes are never plumbing, and only an allow rule naming `identity` (or `set`, for a
// SET statement) allows one, so `select: allow` does not let set_config('role', ...) through.
#include "policy/stage.h"
#include "policy/stages/compiled_policy.h"

namespace phigate {

class RulesStage : public Stage {
 public:
  explicit RulesStage(const CompiledPolicy& policy) : policy_(policy) {}
  Verdict on_request(const Config& config, const Request& req) const override;

 private:
  const CompiledPolicy& policy_;
};

// Pieces of RulesStage, exposed for its own files.
namespace rules {

struct RoleSet {
  const CompiledRole* roles[CompiledPolicy::kMaxRoles];
  size_t n = 0;
};

// What the approval stage will turn into kHold; until it exists, a clear refusal.
Verdict review(const CompiledRule& rule, const CompiledRole& role, std::string_view what);
Verdict decide_statements(const RoleSet& roles, const Request& req);
Verdict decide_http(const RoleSet& roles, const Request& req);

}  // namespace rules
}  // namespace phigate
