#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "identity/token_verifier.h"
#include "policy/snapshot.h"
#include "sql/classify.h"
#include "sql/prepared.h"

namespace phigate::cli {

namespace {

nlohmann::json statement_json(const sql::Statement& st) {
  nlohmann::json tables = nlohmann::json::array();
  for (size_t i = 0; i < st.tables.size(); ++i) {
    tables.push_back({{"name", st.tables[i]},
                      {"ops", sql::table_op_names(i < st.table_ops.size() ? st.table_ops[i] : 0)}});
  }
  nlohmann::json nested = nlohmann::json::array();
  for (sql::Kind k : st.nested_kinds) nested.push_back(sql::kind_name(k));
  return {{"text", st.text},
          {"kind", sql::kind_name(st.kind)},
          {"inner_kind", sql::kind_name(st.inner_kind)},
          {"writes", st.writes},
          {"tables", tables},
          {"columns", st.columns},
          {"functions", st.functions},
          {"impure_function", st.impure_function},
          {"hazard_functions", st.hazard_functions},
          {"nested_kinds", nested},
          {"has_where", st.has_where},
          {"has_limit", st.has_limit},
          {"plumbing", st.plumbing},
          {"changes_identity", st.changes_identity},
          {"prepared_name", st.prepared_name},
          {"lexer_unsafe", st.lexer_unsafe}};
}

std::string list(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "-" : out;
}

// has_where speaks of UPDATE/DELETE (where: absent|present rules); other statements show "-".
std::string where_text(const sql::Statement& st) {
  auto guarded = [](sql::Kind k) { return k == sql::Kind::kUpdate || k == sql::Kind::kDelete; };
  bool applies = guarded(st.kind) || guarded(st.inner_kind);
  for (sql::Kind k : st.nested_kinds) applies = applies || guarded(k);
  if (!applies) return "-";
  return st.has_where ? "present" : "absent";
}

void print_statement(const sql::Statement& st) {
  std::cout << "statement: " << st.text << "\n";
  std::cout << "  kind:      " << sql::kind_name(st.kind);
  if (st.inner_kind != st.kind) std::cout << " (of " << sql::kind_name(st.inner_kind) << ")";
  std::cout << "\n  writes:    " << (st.writes ? "yes" : "no");
  if (!st.impure_function.empty()) std::cout << " (calls unlisted " << st.impure_function << ")";
  std::cout << "\n  tables:    ";
  if (st.tables.empty()) std::cout << "-";
  for (size_t i = 0; i < st.tables.size(); ++i) {
    std::cout << (i ? ", " : "") << st.tables[i] << " ("
              << sql::table_op_names(i < st.table_ops.size() ? st.table_ops[i] : 0) << ")";
  }
  std::cout << "\n  columns:   " << list(st.columns) << "\n  functions: " << list(st.functions)
            << "\n  where:     " << where_text(st)
            << "\n  limit:     " << (st.has_limit ? "yes" : "no") << "\n";
  if (!st.nested_kinds.empty()) {
    std::string n;
    for (sql::Kind k : st.nested_kinds) n += (n.empty() ? "" : ", ") + std::string(kind_name(k));
    std::cout << "  nested:    " << n << "\n";
  }
  if (st.changes_identity) std::cout << "  identity:  changes the upstream identity\n";
  if (!st.lexer_unsafe.empty()) std::cout << "  lexer:     " << st.lexer_unsafe << "\n";
}

// Exit status: 0 allow, 1 deny, 3 held for review; 2 is a usage or configuration error.
int exit_code(VerdictKind k) {
  switch (k) {
    case VerdictKind::kAllow:
      return 0;
    case VerdictKind::kHold:
      return 3;
    default:
      return 1;
  }
}

}  // namespace

// Evaluates the policy exactly as a session would (same snapshot code, same classifier) for an
// identity that never connects: what an operator checks before handing out a role. With no
// session, an EXECUTE resolves only against a PREPARE earlier in the same --sql string.
int cmd_policy_test(const std::string& config_path, const PolicyTestArgs& args, bool json) {
  auto config = load_or_report(config_path);
  if (!config) return 2;
  auto snap = PolicySnapshot::compile(*config, 1);
  if (!snap) {
    std::cerr << "policy does not compile: " << snap.error().message << "\n";
    return 2;
  }
  Identity id;
  id.sub = args.sub;
  id.issuer = "policy-test";
  id.groups = split_csv(args.groups);
  id.roles = roles_for_groups(id.groups, config->identity.group_roles);
  Verdict v;
  auto cls = sql::resolve_execute(sql::classify(args.sql), nullptr);
  if (!(*snap)->can_access(id, args.resource)) {
    v = Verdict::deny("", "no role of this identity grants resource \"" + args.resource + "\"",
                      "28000");
  } else {
    Request req;
    req.identity = &id;
    req.resource = args.resource;
    req.protocol = "postgres";
    req.text = args.sql;
    req.sql = cls;
    v = (*snap)->decide(req);
  }
  std::string kinds;
  for (const auto& s : cls->statements)
    kinds += (kinds.empty() ? "" : ",") + std::string(sql::kind_name(s.kind));
  if (json) {
    nlohmann::json stmts = nlohmann::json::array();
    for (const auto& s : cls->statements) stmts.push_back(statement_json(s));
    nlohmann::json j{{"decision", verdict_name(v.kind)},
                     {"rule", v.rule},
                     {"role", v.role},
                     {"message", v.message},
                     {"code", v.code},
                     {"max_rows", v.max_rows},
                     {"roles", id.roles},
                     {"statement_kinds", kinds},
                     {"parsed", cls->ok},
                     {"parse_error", cls->error},
                     {"statements", stmts}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << "decision: " << verdict_name(v.kind) << "\n"
              << "roles:    " << nlohmann::json(id.roles).dump() << "\n"
              << "kinds:    " << (cls->ok ? kinds : "unparsable: " + cls->error) << "\n";
    if (!v.rule.empty()) std::cout << "rule:     " << v.rule << "\n";
    if (!v.role.empty()) std::cout << "role:     " << v.role << "\n";
    if (!v.message.empty()) std::cout << "message:  " << v.message << "\n";
    if (v.max_rows) std::cout << "max_rows: " << v.max_rows << "\n";
    for (const auto& s : cls->statements) print_statement(s);
  }
  return exit_code(v.kind);
}

}  // namespace phigate::cli
