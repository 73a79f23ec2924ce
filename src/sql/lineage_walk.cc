// Statements, SELECT bodies, WITH, FROM items, target lists and views: how output columns are
// assembled from relations. Expressions are in lineage_expr.cc.
#include <pg_query.h>

#include <algorithm>

#include "sql/lineage_internal.h"

namespace phigate::sql::lineage_detail {
namespace {

constexpr size_t kMaxViewDepth = 16;
constexpr int kMaxRecursiveCteRounds = 8;

std::vector<std::string> string_list(const Json* list) {
  std::vector<std::string> out;
  if (list && list->is_array())
    for (const Json& n : *list) out.emplace_back(node_string(n));
  return out;
}

void rename(std::vector<Col>& cols, const std::vector<std::string>& names) {
  for (size_t i = 0; i < names.size() && i < cols.size(); ++i) cols[i].name = names[i];
}

std::string alias_name(const Json& body) {
  if (const Json* a = get(body, "alias")) return std::string(str(get(*a, "aliasname")));
  return {};
}

std::vector<std::string> alias_columns(const Json& body) {
  if (const Json* a = get(body, "alias")) return string_list(get(*a, "colnames"));
  return {};
}

bool same_deps(const std::vector<Col>& a, const std::vector<Col>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].deps.masked != b[i].deps.masked || a[i].deps.whole_row != b[i].deps.whole_row ||
        a[i].deps.opaque != b[i].deps.opaque)
      return false;
  return true;
}

// Column i of a set operation is column i of any branch.
std::vector<Col> merge_branches(std::vector<Col> l, const std::vector<Col>& r) {
  for (size_t i = 0; i < l.size() && i < r.size(); ++i) l[i].deps.add(r[i].deps);
  if (r.size() != l.size()) {  // PostgreSQL rejects this; stay conservative anyway
    Deps all;
    for (const Col& c : l) all.add(c.deps);
    for (const Col& c : r) all.add(c.deps);
    for (Col& c : l) c.deps.add(all);
  }
  return l;
}

const Col* find_col(const std::vector<Col>& cols, std::string_view name) {
  for (const Col& c : cols)
    if (c.name == name) return &c;
  return nullptr;
}

std::string target_name(const Json& res) {
  if (const Json* n = get(res, "name")) return std::string(str(n));
  const Json* val = get(res, "val");
  if (!val) return "?column?";
  if (const Json* cr = get(*val, "ColumnRef")) {
    const Json* f = get(*cr, "fields");
    if (f && f->is_array() && !f->empty()) {
      std::string_view last = node_string(f->back());
      if (!last.empty()) return std::string(last);
    }
  }
  if (const Json* fc = get(*val, "FuncCall")) {
    const Json* f = get(*fc, "funcname");
    if (f && f->is_array() && !f->empty()) return std::string(node_string(f->back()));
  }
  if (const Json* ind = get(*val, "A_Indirection")) {  // (p).ssn is labelled "ssn"
    const Json* list = get(*ind, "indirection");
    if (list && list->is_array() && !list->empty() && !node_string(list->back()).empty())
      return std::string(node_string(list->back()));
  }
  if (const Json* tc = get(*val, "TypeCast")) {
    // ssn::bigint is labelled "ssn"; '1'::int (no name inside) by its type.
    if (const Json* arg = get(*tc, "arg")) {
      Json inner = Json{{"val", *arg}};
      std::string n = target_name(inner);
      if (n != "?column?") return n;
    }
    if (const Json* tn = get(*tc, "typeName")) {
      const Json* names = get(*tn, "names");
      if (names && names->is_array() && !names->empty())
        return std::string(node_string(names->back()));
    }
  }
  if (get(*val, "RowExpr")) return "row";
  if (get(*val, "CoalesceExpr")) return "coalesce";
  if (get(*val, "CaseExpr")) return "case";
  if (const Json* mm = get(*val, "MinMaxExpr"))
    return str(get(*mm, "op")) == "IS_GREATEST" ? "greatest" : "least";
  if (const Json* sl = get(*val, "SubLink")) {  // (SELECT x ...) is labelled "x"
    const Json* sub = get(*sl, "subselect");
    const Json* sel = sub ? get(*sub, "SelectStmt") : nullptr;
    const Json* tl = sel ? get(*sel, "targetList") : nullptr;
    if (str(get(*sl, "subLinkType")) == "EXPR_SUBLINK" && tl && tl->is_array() && !tl->empty())
      if (const Json* rt = get((*tl)[0], "ResTarget")) return target_name(*rt);
  }
  return "?column?";
}

}  // namespace

const Cte* CteFrame::find(std::string_view name) const {
  for (const CteFrame* f = this; f; f = f->parent)
    for (auto it = f->ctes.rbegin(); it != f->ctes.rend(); ++it)
      if (it->name == name) return &*it;
  return nullptr;
}

std::vector<Col> Analyzer::statement(const Json& node, const Scope* outer, const CteFrame* ctes,
                                     bool* returns_rows) {
  *returns_rows = false;
  Depth depth(*this);
  if (!depth.ok) return {};
  if (!node.is_object() || node.size() != 1) {
    fail("unexpected parse tree shape");
    return {};
  }
  const std::string& type = node.begin().key();
  const Json& body = node.begin().value();
  if (type == "SelectStmt") {
    *returns_rows = get(body, "intoClause") == nullptr;  // SELECT INTO creates a table
    return select(body, outer, ctes);
  }
  if (type == "ExplainStmt") {
    // The plan is text about the query, not its rows; the inner statement is still analysed so
    // that an unanalysable one is reported.
    bool inner_rows = false;
    if (const Json* q = get(body, "query")) statement(*q, outer, ctes, &inner_rows);
    *returns_rows = true;
    Col plan{"QUERY PLAN", {}};
    plan.deps.opaque = true;
    return {plan};
  }
  if (type == "CopyStmt") {
    if (get(body, "is_from") && get(body, "is_from")->is_boolean() &&
        get(body, "is_from")->get<bool>())
      return {};
    if (const Json* q = get(body, "query")) {
      bool rows = false;
      std::vector<Col> cols = statement(*q, outer, ctes, &rows);
      *returns_rows = true;
      return cols;
    }
    const Json* rel = get(body, "relation");
    if (!rel) return {};
    *returns_rows = true;
    Scope scope;
    scope.parent = outer;
    std::vector<Col> star;
    Json wrapped = Json{{"RangeVar", *rel}};
    from_item(wrapped, scope, ctes, star);
    std::vector<std::string> att = string_list(get(body, "attlist"));
    if (att.empty()) {
      if (!scope.star_unknown.empty()) fail(scope.star_unknown);
      return star;
    }
    std::vector<Col> out;
    for (const std::string& a : att) {
      const Col* c = find_col(star, a);
      if (c) {
        out.push_back(*c);
      } else {
        Col col{a, {}};
        if (!scope.rels.empty()) column_of(scope.rels[0], a, &col.deps);
        out.push_back(col);
      }
    }
    return out;
  }
  if (type == "DeclareCursorStmt") {
    if (const Json* q = get(body, "query")) {
      bool rows = false;
      std::vector<Col> cols = statement(*q, outer, ctes, &rows);
      *returns_rows = true;
      return cols;
    }
    return {};
  }
  if (type == "InsertStmt" || type == "UpdateStmt" || type == "DeleteStmt" || type == "MergeStmt")
    return returning(body, outer, ctes, returns_rows);
  if (type == "FetchStmt") {
    if (const Json* ismove = get(body, "ismove");
        ismove && ismove->is_boolean() && ismove->get<bool>())
      return {};
    fail("FETCH returns rows of a cursor declared by an earlier statement");
    *returns_rows = true;
    return {};
  }
  if (type == "ExecuteStmt") {
    fail("EXECUTE runs a prepared statement whose text is not part of this one");
    *returns_rows = true;
    return {};
  }
  if (type == "CallStmt") {
    fail("CALL may return a procedure's output parameters, which phigate cannot see into");
    *returns_rows = true;
    return {};
  }
  if (type == "VariableShowStmt") {
    *returns_rows = true;
    return {Col{std::string(str(get(body, "name"))), {}}};
  }
  return {};
}

std::vector<Col> Analyzer::returning(const Json& body, const Scope* outer, const CteFrame* ctes,
                                     bool* returns_rows) {
  const Json* list = get(body, "returningList");
  if (!list || !list->is_array() || list->empty()) return {};
  *returns_rows = true;
  CteFrame frame;
  frame.parent = ctes;
  if (const Json* w = get(body, "withClause")) with_clause(*w, outer, frame);
  Scope scope;
  scope.parent = outer;
  std::vector<Col> star;
  if (const Json* rel = get(body, "relation")) {
    Json wrapped = Json{{"RangeVar", *rel}};
    from_item(wrapped, scope, &frame, star);
  }
  for (const char* key : {"fromClause", "usingClause"})
    if (const Json* items = get(body, key); items && items->is_array())
      for (const Json& item : *items) from_item(item, scope, &frame, star);
  scope.star = std::move(star);
  std::vector<Col> out;
  target_list(*list, scope, &frame, out);
  // RETURNING shows the rows as written: INSERT ... SELECT ssn ... RETURNING note returns SSNs,
  // as does UPDATE ... SET note = ssn RETURNING note. Every returned column therefore also carries
  // everything the statement writes (conservative: which value lands in which column is not
  // tracked).
  Deps written;
  if (const Json* src = get(body, "selectStmt")) {
    bool rows = false;
    for (const Col& c : statement(*src, outer, &frame, &rows)) written.add(c.deps);
  }
  if (const Json* set = get(body, "targetList")) written.add(expr(*set, scope, &frame));
  if (const Json* oc = get(body, "onConflictClause"))  // ON CONFLICT DO UPDATE SET ...
    if (const Json* set = get(*oc, "targetList")) written.add(expr(*set, scope, &frame));
  for (Col& c : out) c.deps.add(written);
  return out;
}

void Analyzer::with_clause(const Json& with, const Scope* outer, CteFrame& frame) {
  const Json* ctes = get(with, "ctes");
  if (!ctes || !ctes->is_array()) return;
  const Json* rec = get(with, "recursive");
  bool recursive = rec && rec->is_boolean() && rec->get<bool>();
  for (const Json& item : *ctes) {
    const Json* cte = get(item, "CommonTableExpr");
    if (!cte) continue;
    std::string name(str(get(*cte, "ctename")));
    std::vector<std::string> names = string_list(get(*cte, "aliascolnames"));
    const Json* q = get(*cte, "ctequery");
    if (!q) continue;
    bool rows = false;
    if (!recursive) {
      std::vector<Col> cols = statement(*q, outer, &frame, &rows);
      rename(cols, names);
      frame.ctes.push_back({name, std::move(cols)});
      continue;
    }
    // Recursive: start from the non-recursive branch, then re-analyse with the CTE bound to the
    // columns found so far until nothing new flows (a fixpoint; lineage sets only grow).
    std::vector<Col> cols;
    const Json* sel = get(*q, "SelectStmt");
    if (sel && get(*sel, "larg")) {
      cols = select(*get(*sel, "larg"), outer, &frame);
    }
    rename(cols, names);
    frame.ctes.push_back({name, cols});
    bool stable = false;
    for (int round = 0; round < kMaxRecursiveCteRounds && !stable; ++round) {
      std::vector<Col> next = statement(*q, outer, &frame, &rows);
      rename(next, names);
      next = merge_branches(std::move(next), frame.ctes.back().cols);
      stable = same_deps(next, frame.ctes.back().cols);
      frame.ctes.back().cols = std::move(next);
    }
    if (!stable) fail("recursive CTE \"" + name + "\" did not settle");
  }
}

std::vector<Col> Analyzer::select(const Json& body, const Scope* outer, const CteFrame* ctes) {
  Depth depth(*this);
  if (!depth.ok) return {};
  CteFrame frame;
  frame.parent = ctes;
  if (const Json* w = get(body, "withClause")) with_clause(*w, outer, frame);
  std::vector<Col> out;
  std::string_view op = str(get(body, "op"));
  if (!op.empty() && op != "SETOP_NONE") {
    const Json* l = get(body, "larg");
    const Json* r = get(body, "rarg");
    std::vector<Col> lc = l ? select(*l, outer, &frame) : std::vector<Col>{};
    std::vector<Col> rc = r ? select(*r, outer, &frame) : std::vector<Col>{};
    out = merge_branches(std::move(lc), rc);
  } else {
    out = select_core(body, outer, &frame);
  }
  return out;
}

std::vector<Col> Analyzer::select_core(const Json& body, const Scope* outer, const CteFrame* ctes) {
  Scope scope;
  scope.parent = outer;
  std::vector<Col> out;
  if (const Json* values = get(body, "valuesLists"); values && values->is_array()) {
    for (const Json& row : *values) {
      const Json* items = get(row, "List") ? get(*get(row, "List"), "items") : nullptr;
      if (!items || !items->is_array()) continue;
      for (size_t i = 0; i < items->size(); ++i) {
        if (out.size() <= i) out.push_back({"column" + std::to_string(i + 1), {}});
        out[i].deps.add(expr((*items)[i], scope, ctes));
      }
    }
    return out;
  }
  std::vector<Col> star;
  if (const Json* from = get(body, "fromClause"); from && from->is_array())
    for (const Json& item : *from) from_item(item, scope, ctes, star);
  scope.star = std::move(star);
  if (const Json* list = get(body, "targetList")) target_list(*list, scope, ctes, out);
  return out;
}

void Analyzer::target_list(const Json& list, const Scope& scope, const CteFrame* ctes,
                           std::vector<Col>& out) {
  if (!list.is_array()) return;
  for (const Json& item : list) {
    const Json* res = get(item, "ResTarget");
    if (!res) continue;
    const Json* val = get(*res, "val");
    const Json* cr = val ? get(*val, "ColumnRef") : nullptr;
    const Json* fields = cr ? get(*cr, "fields") : nullptr;
    if (fields && fields->is_array() && !fields->empty() && get(fields->back(), "A_Star")) {
      // `*` / `t.*` in the select list: one output column per column, each with its own lineage.
      if (fields->size() == 1) {
        if (!scope.star_unknown.empty()) fail(scope.star_unknown);
        out.insert(out.end(), scope.star.begin(), scope.star.end());
        continue;
      }
      std::string_view rel = node_string((*fields)[fields->size() - 2]);
      std::string_view schema =
          fields->size() >= 3 ? node_string((*fields)[fields->size() - 3]) : "";
      const Relation* found = nullptr;
      for (const Scope* s = &scope; s && !found; s = s->parent)
        for (const Relation& r : s->rels)
          if (r.alias == rel && (schema.empty() || r.schema == schema)) {
            found = &r;
            break;
          }
      if (!found) {
        fail("\"" + std::string(rel) + ".*\" names no relation in scope");
        continue;
      }
      if (!found->columns_known) {
        if (found->kind == Relation::Kind::kTable) {
          fail("cannot expand \"" + found->alias + ".*\": its columns are unknown");
          continue;
        }
        out.push_back({found->alias, found->all});
        continue;
      }
      out.insert(out.end(), found->cols.begin(), found->cols.end());
      continue;
    }
    Col c{target_name(*res), val ? expr(*val, scope, ctes) : Deps{}};
    out.push_back(std::move(c));
  }
}

Relation Analyzer::range_var(const Json& rv, const CteFrame* ctes) {
  Relation r;
  r.schema = std::string(str(get(rv, "schemaname")));
  r.table = std::string(str(get(rv, "relname")));
  std::string alias = alias_name(rv);
  r.alias = alias.empty() ? r.table : alias;
  if (r.schema.empty() && ctes) {
    if (const Cte* c = ctes->find(r.table)) {
      r.kind = Relation::Kind::kDerived;
      r.cols = c->cols;
      rename(r.cols, alias_columns(rv));
      return r;
    }
  }
  r.kind = Relation::Kind::kTable;
  std::optional<std::string> view;
  if (cat_.view_definition) view = cat_.view_definition(r.schema, r.table);
  if (view) {
    r.cols = view_columns(r.schema, r.table, *view);
    // A rule on the view's own column applies too.
    for (Col& c : r.cols) c.deps.add(masked(r.schema, r.table, c.name));
  } else {
    std::optional<std::vector<std::string>> cols;
    if (cat_.table_columns) cols = cat_.table_columns(r.schema, r.table);
    if (cols) {
      for (const std::string& c : *cols) r.cols.push_back({c, masked(r.schema, r.table, c)});
    } else {
      r.columns_known = false;
    }
  }
  rename(r.cols, alias_columns(rv));
  return r;
}

std::vector<Col> Analyzer::view_columns(std::string_view schema, std::string_view name,
                                        const std::string& sql) {
  std::string key = std::string(schema) + "." + std::string(name);
  if (std::find(views_.begin(), views_.end(), key) != views_.end()) {
    fail("view \"" + key + "\" is defined in terms of itself");
    return {};
  }
  if (views_.size() >= kMaxViewDepth) {
    fail("views nested more than " + std::to_string(kMaxViewDepth) + " deep");
    return {};
  }
  PgQueryParseResult r = pg_query_parse(sql.c_str());
  if (r.error) {
    fail("cannot parse the definition of view \"" + key + "\"");
    pg_query_free_parse_result(r);
    return {};
  }
  Json tree = Json::parse(r.parse_tree ? r.parse_tree : "", nullptr, false);
  pg_query_free_parse_result(r);
  const Json* stmts = get(tree, "stmts");
  if (!stmts || !stmts->is_array() || stmts->size() != 1 || !get((*stmts)[0], "stmt")) {
    fail("the definition of view \"" + key + "\" is not one query");
    return {};
  }
  views_.push_back(key);
  bool rows = false;
  // A view body sees none of the referencing query's scope or CTEs.
  std::vector<Col> cols = statement(*get((*stmts)[0], "stmt"), nullptr, nullptr, &rows);
  views_.pop_back();
  return cols;
}

void Analyzer::from_item(const Json& item, Scope& scope, const CteFrame* ctes,
                         std::vector<Col>& star) {
  Depth depth(*this);
  if (!depth.ok || !item.is_object() || item.size() != 1) return;
  const std::string& type = item.begin().key();
  const Json& body = item.begin().value();
  if (type == "RangeVar") {
    Relation r = range_var(body, ctes);
    if (r.columns_known) {
      star.insert(star.end(), r.cols.begin(), r.cols.end());
    } else if (scope.star_unknown.empty()) {
      scope.star_unknown = "cannot expand * over \"" + r.alias + "\": its columns are unknown";
    }
    scope.rels.push_back(std::move(r));
    return;
  }
  if (type == "RangeSubselect") {
    Relation r;
    r.kind = Relation::Kind::kDerived;
    r.alias = alias_name(body);
    bool rows = false;
    // LATERAL or not, the subquery may only see what PostgreSQL lets it see; resolving against
    // the FROM items so far is at worst more conservative.
    if (const Json* q = get(body, "subquery")) r.cols = statement(*q, &scope, ctes, &rows);
    rename(r.cols, alias_columns(body));
    star.insert(star.end(), r.cols.begin(), r.cols.end());
    scope.rels.push_back(std::move(r));
    return;
  }
  if (type == "RangeFunction") {
    // Set-returning functions in FROM: every column carries the arguments' lineage, and the
    // output is opaque (content detection applies).
    Relation r;
    r.kind = Relation::Kind::kFunction;
    r.all = expr(get(body, "functions") ? *get(body, "functions") : Json(), scope, ctes);
    r.all.opaque = true;
    r.alias = alias_name(body);
    if (r.alias.empty()) {
      const Json* fns = get(body, "functions");
      if (fns && fns->is_array() && !fns->empty()) {
        const Json* items =
            get((*fns)[0], "List") ? get(*get((*fns)[0], "List"), "items") : nullptr;
        const Json* fc =
            items && items->is_array() && !items->empty() ? get((*items)[0], "FuncCall") : nullptr;
        const Json* fname = fc ? get(*fc, "funcname") : nullptr;
        if (fname && fname->is_array() && !fname->empty())
          r.alias = std::string(node_string(fname->back()));
      }
    }
    std::vector<std::string> names = alias_columns(body);
    if (names.empty() && !r.alias.empty()) names.push_back(r.alias);
    for (const std::string& n : names) r.cols.push_back({n, r.all});
    r.columns_known = false;  // names beyond the alias list still resolve, to r.all
    star.insert(star.end(), r.cols.begin(), r.cols.end());
    scope.rels.push_back(std::move(r));
    return;
  }
  if (type == "JoinExpr") {
    std::vector<Col> left, right;
    if (const Json* l = get(body, "larg")) from_item(*l, scope, ctes, left);
    if (const Json* r = get(body, "rarg")) from_item(*r, scope, ctes, right);
    std::vector<std::string> using_cols = string_list(get(body, "usingClause"));
    const Json* nat = get(body, "isNatural");
    if (nat && nat->is_boolean() && nat->get<bool>()) {
      for (const Col& c : left)
        if (find_col(right, c.name)) using_cols.push_back(c.name);
    }
    std::vector<Col> joined;
    for (const std::string& u : using_cols) {
      Col merged{u, {}};
      if (const Col* c = find_col(left, u)) merged.deps.add(c->deps);
      if (const Col* c = find_col(right, u)) merged.deps.add(c->deps);
      joined.push_back(std::move(merged));
    }
    auto is_using = [&](const Col& c) {
      return std::find(using_cols.begin(), using_cols.end(), c.name) != using_cols.end();
    };
    for (const Col& c : left)
      if (!is_using(c)) joined.push_back(c);
    for (const Col& c : right)
      if (!is_using(c)) joined.push_back(c);
    std::string alias = alias_name(body);
    if (!alias.empty()) {
      Relation j;
      j.kind = Relation::Kind::kDerived;
      j.alias = alias;
      j.cols = joined;
      rename(j.cols, alias_columns(body));
      scope.rels.push_back(std::move(j));
    }
    star.insert(star.end(), joined.begin(), joined.end());
    return;
  }
  if (type == "RangeTableSample") {
    if (const Json* rel = get(body, "relation")) from_item(*rel, scope, ctes, star);
    return;
  }
  // XMLTABLE and anything newer: every column derives from everything inside, opaque.
  Relation r;
  r.kind = Relation::Kind::kFunction;
  r.all = expr(body, scope, ctes);
  r.all.opaque = true;
  r.alias = alias_name(body);
  r.columns_known = false;
  if (scope.star_unknown.empty())
    scope.star_unknown = "cannot expand * over a " + type + " in FROM";
  scope.rels.push_back(std::move(r));
}

}  // namespace phigate::sql::lineage_detail
