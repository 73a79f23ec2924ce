#pragma once
// The role/rule part of a Config turned into what the per-request path needs: role lookup by name,
// statement kinds as bit masks, actions as enums, default rule names precomputed. Built once per
// snapshot; holds pointers into the snapshot's own Config, so it must not outlive it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "identity/identity.h"
#include "policy/config.h"
#include "policy/stages/sql_regex.h"
#include "sql/classify.h"

namespace phigate {

// Bits of RuleMatch::statement: one per sql::Kind, plus the two families below.
inline constexpr uint32_t kPlumbingBit = 1u << 28;
inline constexpr uint32_t kIdentityBit = 1u << 29;
uint32_t kind_bit(sql::Kind k);
// nullopt = not a valid name. Two names are families, so configs written for the earlier, coarser
// classifier keep their meaning: `ddl` also matches `grant`, and `other` also matches merge,
// copy_to, copy_from, copy_program, explain, call, do, prepare, execute and maintenance.
std::optional<uint32_t> statement_match_bits(std::string_view name);

enum class RuleAction { kAllow, kDeny, kReview };
std::optional<RuleAction> parse_rule_action(std::string_view action);

enum class WhereMatch { kAny, kAbsent, kPresent };

struct CompiledRule {
  const RuleConfig* config = nullptr;
  std::string name;  // config->name or "<role>#<index>"
  RuleAction action = RuleAction::kDeny;
  uint32_t statement_bits = 0;
  bool any_statement = true;  // `statement` empty
  WhereMatch where = WhereMatch::kAny;
  int writes = -1;                        // -1: any; 0/1: the statement must (not) possibly write
  std::shared_ptr<const SqlRegex> regex;  // null: no regex
  bool broken = false;                    // the regex did not compile: matches nothing
  bool for_sql = true;                    // no methods/paths
  bool for_http = true;                   // no statement/tables/where
  bool match_all = true;  // empty match: the only kind of rule that applies to SSH commands
};

struct CompiledRole {
  const RoleConfig* config = nullptr;
  std::vector<CompiledRule> rules;
  bool has_resource(std::string_view resource) const;
};

class CompiledPolicy {
 public:
  // Fails when a rule's regex does not compile (validate_policy reports that with its line).
  static Result<std::unique_ptr<const CompiledPolicy>> compile(const Config& config);
  explicit CompiledPolicy(const Config& config);
  const Config& config() const { return *config_; }
  // The identity's roles that list the resource, in the identity's role order; unknown role names
  // are skipped. At most kMaxRoles (the rest is ignored: nobody holds that many roles).
  static constexpr size_t kMaxRoles = 32;
  size_t roles_for(const Identity& id, std::string_view resource,
                   const CompiledRole* (&out)[kMaxRoles]) const;

 private:
  const Config* config_;
  std::vector<CompiledRole> roles_;
  std::unordered_map<std::string, size_t> index_;
};

// fnmatch(3) glob; `casefold` for SQL identifiers.
bool glob_match(const std::string& pattern, const std::string& text, bool casefold);
// Matches a table glob of N dot-separated parts against the last N parts of the name as written,
// so `patients` also catches `public.patients`. When the name has fewer parts than the glob
// (`patients` vs `public.*`), the schema is decided by search_path, which policy cannot see: a
// `conservative` match (deny/review rules) compares the parts that are there, a strict one (allow
// rules) does not match.
bool table_glob_match(std::string_view glob, std::string_view table, bool conservative);

// "[a, b]" for messages.
std::string role_list(const CompiledRole* const* roles, size_t n);

}  // namespace phigate
