#include "policy/stages/compiled_policy.h"

#include <fnmatch.h>

#include <algorithm>

namespace phigate {

uint32_t kind_bit(sql::Kind k) { return 1u << static_cast<uint32_t>(k); }

std::optional<uint32_t> statement_match_bits(std::string_view name) {
  for (int i = 0; i < sql::kKindCount; ++i) {
    auto k = static_cast<sql::Kind>(i);
    if (name != sql::kind_name(k)) continue;
    if (k == sql::Kind::kDdl) return kind_bit(k) | kind_bit(sql::Kind::kGrant);
    if (k == sql::Kind::kOther) {
      // `other` was the earlier classifier's catch-all; configs that allow or deny it meant
      // these kinds too, so they keep doing what they did.
      uint32_t bits = kind_bit(k);
      for (sql::Kind o :
           {sql::Kind::kMerge, sql::Kind::kCopyTo, sql::Kind::kCopyFrom, sql::Kind::kCopyProgram,
            sql::Kind::kExplain, sql::Kind::kCall, sql::Kind::kDo, sql::Kind::kPrepare,
            sql::Kind::kExecute, sql::Kind::kMaintenance}) {
        bits |= kind_bit(o);
      }
      return bits;
    }
    return kind_bit(k);
  }
  if (name == "plumbing") return kPlumbingBit;
  if (name == "identity") return kIdentityBit;
  return std::nullopt;
}

std::optional<RuleAction> parse_rule_action(std::string_view action) {
  if (action == "allow") return RuleAction::kAllow;
  if (action == "deny") return RuleAction::kDeny;
  if (action == "review") return RuleAction::kReview;
  return std::nullopt;
}

bool CompiledRole::has_resource(std::string_view resource) const {
  for (const std::string& r : config->resources) {
    if (r == resource) return true;
  }
  return false;
}

CompiledPolicy::CompiledPolicy(const Config& config) : config_(&config) {
  roles_.reserve(config.roles.size());
  for (const RoleConfig& role : config.roles) {
    CompiledRole cr;
    cr.config = &role;
    for (size_t i = 0; i < role.rules.size(); ++i) {
      const RuleConfig& rule = role.rules[i];
      CompiledRule r;
      r.config = &rule;
      r.name = rule.name.empty() ? role.name + "#" + std::to_string(i) : rule.name;
      // validate_policy rejected unknown actions; deny is the fail-closed reading regardless.
      r.action = parse_rule_action(rule.action).value_or(RuleAction::kDeny);
      r.any_statement = rule.match.statement.empty();
      for (const std::string& s : rule.match.statement) {
        r.statement_bits |= statement_match_bits(s).value_or(0);
      }
      if (rule.match.writes) r.writes = *rule.match.writes ? 1 : 0;
      if (!rule.match.regex.empty()) {
        auto re = SqlRegex::compile(rule.match.regex);
        // validate_policy rejects bad patterns first; if one slipped through, the rule can never
        // allow anything: compile() reports it and the constructor leaves the rule unmatched.
        if (re)
          r.regex = *re;
        else
          r.broken = true;
      }
      if (rule.match.where == "absent") r.where = WhereMatch::kAbsent;
      if (rule.match.where == "present") r.where = WhereMatch::kPresent;
      const RuleMatch& m = rule.match;
      bool sql_keys = m.has_sql_keys();
      bool http_keys = m.has_http_keys();
      r.for_sql = !http_keys;
      r.for_http = !sql_keys;
      r.match_all = !sql_keys && !http_keys;
      cr.rules.push_back(std::move(r));
    }
    index_.emplace(role.name, roles_.size());
    roles_.push_back(std::move(cr));
  }
}

Result<std::unique_ptr<const CompiledPolicy>> CompiledPolicy::compile(const Config& config) {
  auto p = std::make_unique<const CompiledPolicy>(config);
  for (const CompiledRole& role : p->roles_) {
    for (const CompiledRule& rule : role.rules) {
      if (rule.broken) {
        return make_error("policy", "rule " + rule.name +
                                        ": regex does not compile: " + rule.config->match.regex);
      }
    }
  }
  return std::unique_ptr<const CompiledPolicy>(std::move(p));
}

size_t CompiledPolicy::roles_for(const Identity& id, std::string_view resource,
                                 const CompiledRole* (&out)[kMaxRoles]) const {
  // A token narrowed by token exchange reaches only the resources it names, whatever its roles.
  if (id.resources &&
      std::find(id.resources->begin(), id.resources->end(), resource) == id.resources->end()) {
    return 0;
  }
  size_t n = 0;
  for (const std::string& name : id.roles) {
    auto it = index_.find(name);
    if (it == index_.end()) continue;
    const CompiledRole* role = &roles_[it->second];
    if (!role->has_resource(resource)) continue;
    if (std::find(out, out + n, role) != out + n) continue;  // a role listed twice counts once
    out[n++] = role;
    if (n == kMaxRoles) break;
  }
  return n;
}

bool glob_match(const std::string& pattern, const std::string& text, bool casefold) {
  return fnmatch(pattern.c_str(), text.c_str(), casefold ? FNM_CASEFOLD : 0) == 0;
}

namespace {

size_t count_parts(std::string_view s) { return std::count(s.begin(), s.end(), '.') + 1; }

// The last n dot-separated parts of s (all of s when it has fewer).
std::string_view last_parts(std::string_view s, size_t n) {
  size_t pos = s.size();
  for (size_t i = 0; i < n; ++i) {
    size_t dot = s.rfind('.', pos == 0 ? 0 : pos - 1);
    if (dot == std::string_view::npos || pos == 0) return s;
    pos = dot;
  }
  return s.substr(pos + 1);
}

}  // namespace

bool table_glob_match(std::string_view glob, std::string_view table, bool conservative) {
  size_t g = count_parts(glob), t = count_parts(table);
  if (g > t && !conservative) return false;
  std::string pattern(g > t ? last_parts(glob, t) : glob);
  std::string name(g > t ? table : last_parts(table, g));
  return glob_match(pattern, name, /*casefold=*/true);
}

std::string role_list(const CompiledRole* const* roles, size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += roles[i]->config->name;
  }
  return out + "]";
}

}  // namespace phigate
