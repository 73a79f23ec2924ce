// HTTP decisions of RulesStage: methods (case-insensitive) and path globs. The session adapter
// passes the path relative to the resource, already normalised (no dot segments, decoded once).
#include <string>

#include "policy/stages/rules_stage.h"

namespace phigate::rules {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

bool safe_method(std::string_view m) {
  return iequals(m, "GET") || iequals(m, "HEAD") || iequals(m, "OPTIONS");
}

bool http_matches(const CompiledRule& rule, std::string_view method, const std::string& path) {
  if (!rule.for_http) return false;
  const RuleMatch& m = rule.config->match;
  if (!m.methods.empty()) {
    bool hit = false;
    for (const std::string& x : m.methods) hit = hit || iequals(x, method);
    if (!hit) return false;
  }
  if (!m.paths.empty()) {
    bool hit = false;
    for (const std::string& g : m.paths) hit = hit || glob_match(g, path, /*casefold=*/false);
    if (!hit) return false;
  }
  return true;
}

}  // namespace

Verdict decide_http(const RoleSet& rs, const Request& req) {
  const std::string path(req.path);
  const std::string what = std::string(req.method) + " " + path;
  for (size_t i = 0; i < rs.n; ++i) {
    const CompiledRole& role = *rs.roles[i];
    const std::string& role_name = role.config->name;
    if (role.config->read_only && !safe_method(req.method)) {
      Verdict d = Verdict::deny("read_only", "role " + role_name + " is read-only: " +
                                                 std::string(req.method) + " is not allowed");
      d.role = role_name;
      return d;
    }
    for (const CompiledRule& rule : role.rules) {
      if (!http_matches(rule, req.method, path)) continue;
      switch (rule.action) {
        case RuleAction::kAllow:
          return Verdict::allow(rule.name, role_name);
        case RuleAction::kReview:
          return review(rule, role, "request");
        case RuleAction::kDeny: {
          Verdict d = Verdict::deny(rule.name, rule.config->message.empty()
                                                   ? what + " denied by rule " + rule.name
                                                   : rule.config->message);
          d.role = role_name;
          return d;
        }
      }
    }
  }
  Verdict d =
      Verdict::deny("", "no rule allows " + what + " on resource " + std::string(req.resource) +
                            " for roles " + role_list(rs.roles, rs.n));
  d.role = rs.roles[0]->config->name;
  return d;
}

}  // namespace phigate::rules
