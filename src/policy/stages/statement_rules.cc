// Statement decisions of RulesStage (see rules_stage.h for the semantics).
#include <string>

#include "policy/stages/rules_stage.h"

namespace phigate::rules {
namespace {

using sql::Kind;

enum class Outcome { kAllow, kDeny, kReview };

struct Decision {
  Outcome outcome = Outcome::kDeny;
  Verdict verdict;
};

bool writes(Kind k) {
  return k == Kind::kInsert || k == Kind::kUpdate || k == Kind::kDelete || k == Kind::kDdl ||
         k == Kind::kOther;
}

// One kind of a statement as a rule sees it: the statement's own kind, or one of its nested
// data-modifying kinds (only the statement's own kind can be plumbing).
struct View {
  Kind kind;
  bool plumbing;
  const sql::Statement& st;
};

bool tables_match(const CompiledRule& rule, const sql::Statement& st) {
  const std::vector<std::string>& globs = rule.config->match.tables;
  if (globs.empty()) return true;
  auto any_glob = [&](const std::string& table, bool conservative) {
    for (const std::string& g : globs) {
      if (table_glob_match(g, table, conservative)) return true;
    }
    return false;
  };
  if (rule.action == RuleAction::kAllow) {
    // An allow rule scoped to tables allows only statements confined to them: every table must
    // match, and a statement that names no table (SELECT pg_read_file(...)) is not confined.
    if (st.tables.empty()) return false;
    for (const std::string& t : st.tables) {
      if (!any_glob(t, /*conservative=*/false)) return false;
    }
    return true;
  }
  for (const std::string& t : st.tables) {  // deny/review: touching any of them is enough
    if (any_glob(t, /*conservative=*/true)) return true;
  }
  return false;
}

bool statement_matches(const CompiledRule& rule, const View& v) {
  if (!rule.for_sql) return false;
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
  return tables_match(rule, v.st);
}

std::string no_rule_message(const View& v, const RoleSet& rs, std::string_view resource) {
  std::string msg = "no rule allows " + std::string(sql::kind_name(v.kind)) + " on resource " +
                    std::string(resource) + " for roles " + role_list(rs.roles, rs.n);
  if (v.st.changes_identity) msg += " (the statement changes identity)";
  return msg;
}

Decision decide_view(const RoleSet& rs, const View& v, std::string_view resource) {
  for (size_t i = 0; i < rs.n; ++i) {
    const CompiledRole& role = *rs.roles[i];
    const std::string& role_name = role.config->name;
    if (role.config->read_only && writes(v.kind)) {
      Verdict d = Verdict::deny("read_only", "role " + role_name + " is read-only: " +
                                                 sql::kind_name(v.kind) + " is not allowed");
      d.role = role_name;
      return {Outcome::kDeny, std::move(d)};
    }
    for (const CompiledRule& rule : role.rules) {
      if (!statement_matches(rule, v)) continue;
      switch (rule.action) {
        case RuleAction::kAllow:
          return {Outcome::kAllow, Verdict::allow(rule.name, role_name)};
        case RuleAction::kReview:
          return {Outcome::kReview, review(rule, role, "statement")};
        case RuleAction::kDeny: {
          Verdict d = Verdict::deny(
              rule.name, rule.config->message.empty()
                             ? std::string(sql::kind_name(v.kind)) + " denied by rule " + rule.name
                             : rule.config->message);
          d.role = role_name;
          return {Outcome::kDeny, std::move(d)};
        }
      }
    }
  }
  if (v.plumbing) return {Outcome::kAllow, Verdict::allow("plumbing", rs.roles[0]->config->name)};
  Verdict d = Verdict::deny("", no_rule_message(v, rs, resource));
  d.role = rs.roles[0]->config->name;
  return {Outcome::kDeny, std::move(d)};
}

// The statement and each nested data-modifying statement must be allowed; a denial beats a review.
Decision decide_statement(const RoleSet& rs, const sql::Statement& st, std::string_view resource) {
  if (!st.lexer_unsafe.empty()) {
    // No rule can allow this: after it, phigate's parse of the session's statements would no
    // longer match the server's, and every later decision would be about the wrong text.
    Verdict d = Verdict::deny("lexer", "phigate refuses " + st.lexer_unsafe +
                                           ": it changes how the server splits statements");
    d.role = rs.roles[0]->config->name;
    return {Outcome::kDeny, std::move(d)};
  }
  Decision result = decide_view(rs, View{st.kind, st.plumbing, st}, resource);
  if (result.outcome == Outcome::kDeny) return result;
  if (!st.hazard_functions.empty()) {
    // A built-in with side effects makes even a SELECT more than a read: it needs what any
    // `other` statement needs.
    Decision d = decide_view(rs, View{Kind::kOther, false, st}, resource);
    if (d.outcome == Outcome::kDeny) {
      d.verdict.message = "function " + st.hazard_functions[0] +
                          "() writes or reaches outside the database; " + d.verdict.message;
      return d;
    }
    if (d.outcome == Outcome::kReview && result.outcome == Outcome::kAllow) result = std::move(d);
  }
  for (Kind k : st.nested_kinds) {
    Decision d = decide_view(rs, View{k, false, st}, resource);
    if (d.outcome == Outcome::kDeny) return d;
    if (d.outcome == Outcome::kReview && result.outcome == Outcome::kAllow) result = std::move(d);
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
    } else if (("," + allowed.rule + ",").find("," + d.verdict.rule + ",") == std::string::npos) {
      allowed.rule += "," + d.verdict.rule;  // the audit record names every rule that allowed
    }
  }
  if (have_review) return std::move(first_review.verdict);
  return allowed;
}

}  // namespace phigate::rules
