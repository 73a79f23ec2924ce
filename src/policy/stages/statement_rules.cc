// Statement decisions of RulesStage (see rules_stage.h for the semantics).
#include <optional>
#include <string>

#include "policy/stages/rules_stage.h"
#include "sql/normalize.h"

namespace phigate::rules {
namespace {

using sql::Kind;

enum class Outcome { kAllow, kDeny, kReview };

struct Decision {
  Outcome outcome = Outcome::kDeny;
  Verdict verdict;
};

// What a read_only role refuses: anything that may write, including a call to a function that is
// not on the built-in read-only allowlist (its body is invisible to phigate).
bool may_write(const sql::Statement& st) { return st.writes || !st.impure_function.empty(); }

// What else a read_only role refuses: a search_path under which the allowlist's unqualified names
// could mean another schema's functions.
bool read_only_refuses(const sql::Statement& st) {
  return may_write(st) || !st.shadows_builtins.empty();
}

// The statement's normalized text, computed once and only if a regex rule asks for it.
struct Lazy {
  bool done = false;
  std::optional<std::string> text;
};

// One kind of a statement as a rule sees it: the statement's own kind, the statement a PREPARE or
// EXECUTE wraps, or one of its nested data-modifying kinds (only the statement's own kind can be
// plumbing).
struct View {
  Kind kind;
  bool plumbing;
  const sql::Statement& st;
  Lazy& normalized;
};

// An allow rule scoped by globs allows only statements confined to them (every name must match);
// a deny/review rule matches when any name does. `need_one`: an allow rule also needs at least one
// name (a table-scoped allow does not cover SELECT pg_read_file(...), which names no table).
bool names_match(const CompiledRule& rule, const std::vector<std::string>& globs,
                 const std::vector<std::string>& names, bool need_one) {
  if (globs.empty()) return true;
  auto any_glob = [&](const std::string& name, bool conservative) {
    for (const std::string& g : globs) {
      if (table_glob_match(g, name, conservative)) return true;
    }
    return false;
  };
  if (rule.action == RuleAction::kAllow) {
    if (need_one && names.empty()) return false;
    for (const std::string& n : names) {
      if (!any_glob(n, /*conservative=*/false)) return false;
    }
    return true;
  }
  for (const std::string& n : names) {
    if (any_glob(n, /*conservative=*/true)) return true;
  }
  return false;
}

// Fails closed when the text cannot be normalized or scanned: an allow rule does not match, a
// deny/review rule does.
bool regex_matches(const CompiledRule& rule, const View& v) {
  if (!rule.regex) return true;
  if (!v.normalized.done) {
    v.normalized.text = sql::normalize_sql(v.st.text);
    v.normalized.done = true;
  }
  bool allow = rule.action == RuleAction::kAllow;
  if (!v.normalized.text) return !allow;
  SqlRegex::Match m = rule.regex->match(*v.normalized.text);
  if (!m.ok) return !allow;
  return m.matched;
}

bool statement_matches(const CompiledRule& rule, const View& v) {
  if (!rule.for_sql || rule.broken) return false;
  const uint32_t bits = rule.statement_bits;
  if (v.st.changes_identity && rule.action == RuleAction::kAllow) {
    // Allowing an identity change takes a rule that says so; a rule for the kind alone (or an
    // empty match) was written for data access.
    bool named = (bits & kIdentityBit) || (v.kind == Kind::kSet && (bits & kind_bit(Kind::kSet)));
    if (!named) return false;
  } else if (!rule.any_statement) {
    bool hit = (bits & kind_bit(v.kind)) || (v.plumbing && (bits & kPlumbingBit)) ||
               (v.st.changes_identity && (bits & kIdentityBit));
    if (!hit) return false;
  }
  if (rule.where != WhereMatch::kAny) {
    if (v.kind != Kind::kUpdate && v.kind != Kind::kDelete) return false;
    if (v.st.has_where != (rule.where == WhereMatch::kPresent)) return false;
  }
  if (rule.writes >= 0 && may_write(v.st) != (rule.writes == 1)) return false;
  const RuleMatch& m = rule.config->match;
  if (!names_match(rule, m.tables, v.st.tables, /*need_one=*/true)) return false;
  if (!names_match(rule, m.functions, v.st.functions, /*need_one=*/false)) return false;
  return regex_matches(rule, v);
}

std::string no_rule_message(const View& v, const RoleSet& rs, std::string_view resource) {
  std::string msg = "no rule allows " + std::string(sql::kind_name(v.kind)) + " on resource " +
                    std::string(resource) + " for roles " + role_list(rs.roles, rs.n);
  if (v.st.changes_identity) msg += " (the statement changes identity)";
  return msg;
}

Verdict denial(std::string rule, std::string message, const std::string& role) {
  Verdict d = Verdict::deny(std::move(rule), std::move(message));
  d.role = role;
  return d;
}

std::string read_only_reason(const sql::Statement& st, Kind kind) {
  if (!st.shadows_builtins.empty()) {
    return "sets " + st.shadows_builtins + " (built-in function names could resolve elsewhere)";
  }
  if (!st.writes && !st.impure_function.empty()) {
    return "calls " + st.impure_function + "(), which is not a built-in known to be read-only";
  }
  if (!st.hazard_functions.empty()) {
    return "calls " + st.hazard_functions[0] + "(), which writes or reaches outside the database";
  }
  for (Kind k : st.nested_kinds) {
    if (k != Kind::kSelect) return std::string("contains a nested ") + sql::kind_name(k);
  }
  return std::string(sql::kind_name(kind)) + " may write";
}

Decision decide_view(const RoleSet& rs, const View& v, std::string_view resource) {
  for (size_t i = 0; i < rs.n; ++i) {
    const CompiledRole& role = *rs.roles[i];
    const std::string& role_name = role.config->name;
    if (role.config->read_only && read_only_refuses(v.st)) {
      return {Outcome::kDeny, denial("read_only",
                                     "role " + role_name + " is read-only: the statement " +
                                         read_only_reason(v.st, v.kind),
                                     role_name)};
    }
    for (const CompiledRule& rule : role.rules) {
      if (!statement_matches(rule, v)) continue;
      switch (rule.action) {
        case RuleAction::kAllow: {
          Verdict a = Verdict::allow(rule.name, role_name);
          a.max_rows = role.config->max_rows;
          return {Outcome::kAllow, std::move(a)};
        }
        case RuleAction::kReview: {
          // Carried for the approval path: a held statement that runs later keeps the limit.
          Verdict r = review(rule, role, "statement");
          r.max_rows = role.config->max_rows;
          return {Outcome::kReview, std::move(r)};
        }
        case RuleAction::kDeny:
          return {Outcome::kDeny,
                  denial(rule.name,
                         rule.config->message.empty()
                             ? std::string(sql::kind_name(v.kind)) + " denied by rule " + rule.name
                             : rule.config->message,
                         role_name)};
      }
    }
  }
  if (v.plumbing) {
    Verdict a = Verdict::allow("plumbing", rs.roles[0]->config->name);
    a.max_rows = rs.roles[0]->config->max_rows;
    return {Outcome::kAllow, std::move(a)};
  }
  return {Outcome::kDeny, denial("", no_rule_message(v, rs, resource), rs.roles[0]->config->name)};
}

// Folds `d` into `result`: a denial wins, a review beats an allow.
bool fold(Decision& result, Decision d) {
  if (d.outcome == Outcome::kDeny) {
    result = std::move(d);
    return false;
  }
  if (d.outcome == Outcome::kReview && result.outcome == Outcome::kAllow) result = std::move(d);
  return true;
}

// The statement and each nested data-modifying statement must be allowed; a denial beats a review.
Decision decide_statement(const RoleSet& rs, const sql::Statement& st, std::string_view resource) {
  const std::string& first_role = rs.roles[0]->config->name;
  if (!st.lexer_unsafe.empty()) {
    // No rule can allow this: after it, phigate's parse of the session's statements would no
    // longer match the server's, and every later decision would be about the wrong text.
    return {Outcome::kDeny, denial("lexer",
                                   "phigate refuses " + st.lexer_unsafe +
                                       ": it changes how the server splits statements",
                                   first_role)};
  }
  if (st.kind == Kind::kExecute && st.inner_kind == Kind::kExecute) {
    // The session resolves EXECUTE to what it saw prepared under that name; this one it did not.
    return {Outcome::kDeny,
            denial("prepared",
                   "EXECUTE " + st.prepared_name +
                       ": no statement of that name was prepared through phigate on this session",
                   first_role)};
  }
  if (st.nested_execute) {
    return {Outcome::kDeny, denial("prepared",
                                   "EXECUTE inside EXPLAIN or CREATE TABLE AS is not supported: "
                                   "phigate cannot tell which statement it runs",
                                   first_role)};
  }
  Lazy normalized;
  Decision result;
  if (st.kind == Kind::kPrepare || st.kind == Kind::kExecute) {
    // PREPARE/EXECUTE themselves are plumbing (a rule naming them still decides first); what must
    // be allowed is the statement they prepare or run, decided as if it ran now.
    Decision wrapper = decide_view(rs, View{st.kind, true, st, normalized}, resource);
    if (wrapper.outcome == Outcome::kDeny) return wrapper;
    result = decide_view(rs, View{st.inner_kind, false, st, normalized}, resource);
    if (result.outcome == Outcome::kDeny) return result;
    if (wrapper.outcome == Outcome::kReview && result.outcome == Outcome::kAllow) {
      result = std::move(wrapper);
    }
  } else {
    result = decide_view(rs, View{st.kind, st.plumbing, st, normalized}, resource);
    if (result.outcome == Outcome::kDeny) return result;
  }
  if (!st.hazard_functions.empty()) {
    // A built-in with side effects makes even a SELECT more than a read: it needs what any
    // `other` statement needs.
    Decision d = decide_view(rs, View{Kind::kOther, false, st, normalized}, resource);
    if (d.outcome == Outcome::kDeny) {
      d.verdict.message = "function " + st.hazard_functions[0] +
                          "() writes or reaches outside the database; " + d.verdict.message;
    }
    if (!fold(result, std::move(d))) return result;
  }
  for (Kind k : st.nested_kinds) {
    if (!fold(result, decide_view(rs, View{k, false, st, normalized}, resource))) return result;
  }
  return result;
}

}  // namespace

Verdict decide_statements(const RoleSet& rs, const Request& req) {
  // Sessions pass the classification they already have; classify here only if they did not.
  std::shared_ptr<const sql::Classification> owned;
  const sql::Classification* c = req.sql.get();
  if (c == nullptr) {
    owned = sql::classify(req.text);
    c = owned.get();
  }
  // 42601 syntax_error: fail closed, and it is what a client expects for SQL it got wrong.
  if (!c->ok) return Verdict::deny("parse", "could not parse statement: " + c->error, "42601");
  if (c->statements.empty()) return Verdict::allow("empty", rs.roles[0]->config->name);

  // A denial anywhere refuses the whole string (the first one is reported). A review is answered
  // only when nothing is denied: nobody should approve a batch that would be refused anyway.
  Decision first_review;
  bool have_review = false;
  Verdict allowed;
  for (const sql::Statement& st : c->statements) {
    Decision d = decide_statement(rs, st, req.resource);
    if (d.outcome == Outcome::kDeny) return std::move(d.verdict);
    if (d.outcome == Outcome::kReview) {
      if (!have_review) first_review = std::move(d);
      have_review = true;
      continue;
    }
    if (allowed.kind != VerdictKind::kAllow) {
      allowed = std::move(d.verdict);
      continue;
    }
    if (("," + allowed.rule + ",").find("," + d.verdict.rule + ",") == std::string::npos) {
      allowed.rule += "," + d.verdict.rule;  // the audit record names every rule that allowed
    }
    // Several statements in one string: the strictest row limit of their deciding roles.
    uint64_t m = d.verdict.max_rows;
    if (m != 0 && (allowed.max_rows == 0 || m < allowed.max_rows)) allowed.max_rows = m;
  }
  if (have_review) return std::move(first_review.verdict);
  return allowed;
}

}  // namespace phigate::rules
