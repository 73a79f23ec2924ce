// Frozen copy of the original DOM-based classifier (nlohmann::json DOM + TreeFacts walk). It is
// the oracle for the differential test: the streaming classifier in src/sql must return exactly
// what this returns. Test-only; do not change its behaviour.
#include "reference_classify.h"

#include <pg_query.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace phigate::sql::reference {
namespace {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Settings whose change switches the upstream identity the rest of the session runs as.
bool is_identity_setting(std::string_view name) {
  return iequals(name, "role") || iequals(name, "session_authorization");
}

const std::string* string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

// Maps a top-level parse node name to its kind. Node names are PostgreSQL's (parsenodes.h).
Kind kind_of_node(std::string_view node, const json& body) {
  if (node == "SelectStmt") {
    // SELECT ... INTO creates a table: it is DDL whatever it reads.
    return body.contains("intoClause") ? Kind::kDdl : Kind::kSelect;
  }
  if (node == "InsertStmt") return Kind::kInsert;
  if (node == "UpdateStmt") return Kind::kUpdate;
  if (node == "DeleteStmt") return Kind::kDelete;
  if (node == "TransactionStmt") return Kind::kTransaction;
  if (node == "VariableSetStmt") return Kind::kSet;
  if (node == "VariableShowStmt") return Kind::kShow;
  if (node == "DiscardStmt") return Kind::kDiscard;
  if (node == "DeallocateStmt") return Kind::kDeallocate;
  if (node == "ClosePortalStmt") return Kind::kClose;
  if (node == "FetchStmt") return Kind::kFetch;
  // DECLARE c CURSOR FOR <query>: the grammar only admits SELECT/VALUES there, so it reads like the
  // query it wraps (psycopg2 named cursors, JDBC fetch size use it).
  if (node == "DeclareCursorStmt") return Kind::kSelect;
  if (starts_with(node, "Create") || starts_with(node, "Alter") || starts_with(node, "Drop")) {
    return Kind::kDdl;  // CreateStmt, CreatedbStmt, AlterSystemStmt, DropOwnedStmt, ...
  }
  static constexpr std::string_view kOtherDdl[] = {
      "DefineStmt", "CompositeTypeStmt", "IndexStmt",         "RuleStmt",
      "ViewStmt",   "RenameStmt",        "CommentStmt",       "SecLabelStmt",
      "GrantStmt",  "GrantRoleStmt",     "ReassignOwnedStmt", "ImportForeignSchemaStmt",
  };
  for (std::string_view d : kOtherDdl) {
    if (node == d) return Kind::kDdl;
  }
  return Kind::kOther;  // COPY, EXPLAIN, DO, CALL, PREPARE, EXECUTE, VACUUM, TRUNCATE, ...
}

// The first argument of set_config names the setting. Only a string literal (optionally cast)
// can be judged; anything computed might spell 'role', so it counts as an identity change.
bool set_config_changes_identity(const json& call) {
  auto args = call.find("args");
  if (args == call.end() || !args->is_array() || args->empty()) return false;
  const json* arg = &(*args)[0];
  if (arg->is_object() && arg->contains("TypeCast")) {
    const json& cast = (*arg)["TypeCast"];
    auto inner = cast.find("arg");
    if (inner == cast.end()) return true;
    arg = &*inner;
  }
  if (!arg->is_object()) return true;
  auto c = arg->find("A_Const");
  if (c == arg->end() || !c->is_object()) return true;
  auto sval = c->find("sval");
  if (sval == c->end()) return c->contains("isnull") ? false : true;  // NULL name is an error
  if (!sval->is_object()) return true;
  const std::string* name = string_field(*sval, "sval");
  if (name == nullptr) return true;
  return is_identity_setting(*name);
}

bool is_set_config_call(const json& obj) {
  auto fn = obj.find("funcname");
  if (fn == obj.end() || !fn->is_array() || fn->empty()) return false;
  const json& last = fn->back();
  if (!last.is_object()) return false;
  auto s = last.find("String");
  if (s == last.end() || !s->is_object()) return false;
  const std::string* name = string_field(*s, "sval");
  return name != nullptr && iequals(*name, "set_config");
}

// Walks everything below a statement's top node. Typed struct fields (RangeVar relation,
// VariableSetStmt setstmt, ...) appear in the JSON without their node-name wrapper, so they are
// recognised by shape rather than by name. Iterative: UNION chains nest thousands of levels.
struct TreeFacts {
  std::vector<std::pair<int64_t, std::string>> tables;  // (location, name): sorted at the end
  std::vector<Kind> nested_kinds;
  bool changes_identity = false;
  bool all_where = true;  // every nested UPDATE/DELETE has a WHERE

  void add_table(const json& rv) {
    const std::string* rel = string_field(rv, "relname");
    if (rel == nullptr) return;
    std::string name;
    if (const std::string* cat = string_field(rv, "catalogname")) name = *cat + ".";
    if (const std::string* sch = string_field(rv, "schemaname")) name += *sch + ".";
    name += *rel;
    int64_t loc = INT64_MAX;
    if (auto it = rv.find("location"); it != rv.end() && it->is_number_integer()) {
      loc = it->get<int64_t>();
    }
    tables.emplace_back(loc, std::move(name));
  }

  // DROP TABLE/VIEW/... names its relations as lists of strings, not RangeVars.
  void add_dropped(const json& drop) {
    const std::string* type = string_field(drop, "removeType");
    if (type == nullptr || (*type != "OBJECT_TABLE" && *type != "OBJECT_VIEW" &&
                            *type != "OBJECT_MATVIEW" && *type != "OBJECT_FOREIGN_TABLE")) {
      return;
    }
    auto objects = drop.find("objects");
    if (objects == drop.end() || !objects->is_array()) return;
    for (const json& obj : *objects) {
      auto list = obj.find("List");
      if (list == obj.end() || !list->is_object()) continue;
      auto items = list->find("items");
      if (items == list->end() || !items->is_array()) continue;
      std::string name;
      for (const json& item : *items) {
        auto str = item.find("String");
        if (str == item.end() || !str->is_object()) continue;
        if (const std::string* part = string_field(*str, "sval")) {
          name += (name.empty() ? "" : ".") + *part;
        }
      }
      if (!name.empty()) tables.emplace_back(INT64_MAX, std::move(name));
    }
  }

  // In order of appearance in the text, each name once.
  std::vector<std::string> sorted_tables() {
    std::stable_sort(tables.begin(), tables.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (auto& [loc, name] : tables) {
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    }
    return out;
  }

  void add_nested(Kind k) {
    if (std::find(nested_kinds.begin(), nested_kinds.end(), k) == nested_kinds.end()) {
      nested_kinds.push_back(k);
    }
  }

  void visit_object(const json& obj) {
    if (obj.contains("relname")) add_table(obj);
    if (is_set_config_call(obj) && set_config_changes_identity(obj)) changes_identity = true;
    // A VariableSetStmt struct (nested in ALTER ROLE/DATABASE ... SET, function options, ...).
    if (const std::string* kind = string_field(obj, "kind"); kind && starts_with(*kind, "VAR_")) {
      const std::string* name = string_field(obj, "name");
      if (*kind == "VAR_RESET_ALL" || (name != nullptr && is_identity_setting(*name))) {
        changes_identity = true;
      }
    }
    // Data-modifying statements below the top node run too: WITH d AS (DELETE ...) SELECT,
    // EXPLAIN ANALYZE DELETE, COPY (DELETE ... RETURNING *) TO STDOUT.
    for (const auto& [key, val] : obj.items()) {
      if (!val.is_object()) continue;
      if (key == "InsertStmt") {
        add_nested(Kind::kInsert);
      } else if (key == "UpdateStmt" || key == "DeleteStmt") {
        add_nested(key == "UpdateStmt" ? Kind::kUpdate : Kind::kDelete);
        if (!val.contains("whereClause")) all_where = false;
      } else if (key == "MergeStmt") {
        add_nested(Kind::kOther);
      } else if (key == "CreateTableAsStmt" ||
                 (key == "SelectStmt" && val.contains("intoClause"))) {
        add_nested(Kind::kDdl);
      }
    }
  }

  void walk(const json& root) {
    std::vector<const json*> stack{&root};
    while (!stack.empty()) {
      const json* j = stack.back();
      stack.pop_back();
      if (j->is_object()) {
        visit_object(*j);
        for (const auto& [key, val] : j->items()) {
          if (val.is_structured()) stack.push_back(&val);
        }
      } else if (j->is_array()) {
        for (const json& val : *j) {
          if (val.is_structured()) stack.push_back(&val);
        }
      }
    }
  }
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == ';')) s.remove_suffix(1);
  return s;
}

// stmt_location/stmt_len are byte offsets into the input; stmt_len 0 means "to the end".
std::string_view slice(std::string_view query, const json& raw) {
  int64_t loc = 0, len = 0;
  if (auto it = raw.find("stmt_location"); it != raw.end() && it->is_number_integer()) {
    loc = it->get<int64_t>();
  }
  if (auto it = raw.find("stmt_len"); it != raw.end() && it->is_number_integer()) {
    len = it->get<int64_t>();
  }
  if (loc < 0 || static_cast<uint64_t>(loc) > query.size()) return {};
  std::string_view rest = query.substr(static_cast<size_t>(loc));
  if (len > 0 && static_cast<uint64_t>(len) < rest.size()) rest = rest.substr(0, len);
  return trim(rest);
}

Classification fail(std::string message) {
  Classification c;
  c.ok = false;
  c.error = std::move(message);
  return c;
}

Statement classify_one(std::string_view query, const json& raw) {
  Statement st;
  st.text = std::string(slice(query, raw));
  auto node_it = raw.find("stmt");
  if (node_it == raw.end() || !node_it->is_object() || node_it->empty()) return st;  // kOther
  auto first = node_it->begin();  // {"SelectStmt": {...}}: one key, the node's type
  const std::string& node = first.key();
  const json& body = first.value();
  st.kind = kind_of_node(node, body);

  TreeFacts facts;
  facts.walk(body);  // the top node's body is visited too: SET ROLE is caught by its shape
  if (node == "DropStmt") facts.add_dropped(body);
  st.changes_identity = facts.changes_identity;
  st.plumbing = !st.changes_identity &&
                (st.kind == Kind::kTransaction || st.kind == Kind::kSet || st.kind == Kind::kShow ||
                 st.kind == Kind::kDiscard || st.kind == Kind::kDeallocate ||
                 st.kind == Kind::kClose || st.kind == Kind::kFetch);
  bool top_where = true;
  if (st.kind == Kind::kUpdate || st.kind == Kind::kDelete) {
    top_where = body.contains("whereClause");
  }
  // has_where is what a "where: absent" rule guards against: one unguarded UPDATE/DELETE anywhere
  // in the statement makes it false.
  st.has_where =
      (st.kind == Kind::kUpdate || st.kind == Kind::kDelete || !facts.nested_kinds.empty())
          ? (top_where && facts.all_where)
          : false;
  st.tables = facts.sorted_tables();
  facts.nested_kinds.erase(
      std::remove(facts.nested_kinds.begin(), facts.nested_kinds.end(), st.kind),
      facts.nested_kinds.end());
  st.nested_kinds = std::move(facts.nested_kinds);
  return st;
}

}  // namespace

Classification classify(std::string_view query) {
  // libpg_query reads a C string: an embedded NUL would hide the rest of the text from policy.
  if (query.find('\0') != std::string_view::npos) return fail("statement text contains a NUL byte");
  std::string text(query);
  PgQueryParseResult r = pg_query_parse(text.c_str());
  if (r.error != nullptr) {
    std::string msg = r.error->message ? r.error->message : "syntax error";
    if (r.error->cursorpos > 0) msg += " at character " + std::to_string(r.error->cursorpos);
    pg_query_free_parse_result(r);
    return fail(std::move(msg));
  }
  std::string tree_text = r.parse_tree ? r.parse_tree : "";
  pg_query_free_parse_result(r);
  return classify_tree(query, tree_text);
}

Classification classify_tree(std::string_view query, const std::string& tree_text) {
  json tree = json::parse(tree_text, nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded() || !tree.is_object())
    return fail("internal error: unreadable parse tree");

  Classification c;
  c.ok = true;
  auto stmts = tree.find("stmts");
  if (stmts == tree.end() || !stmts->is_array()) return c;
  c.statements.reserve(stmts->size());
  for (const json& raw : *stmts) {
    if (!raw.is_object()) return fail("internal error: unreadable parse tree");
    c.statements.push_back(classify_one(query, raw));
  }
  return c;
}

std::string parse_tree_json(std::string_view query) {
  std::string text(query);
  PgQueryParseResult r = pg_query_parse(text.c_str());
  std::string out = r.error == nullptr && r.parse_tree != nullptr ? r.parse_tree : "";
  pg_query_free_parse_result(r);
  return out;
}

}  // namespace phigate::sql::reference
