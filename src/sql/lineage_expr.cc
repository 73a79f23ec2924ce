// Expressions and column references: what each value is derived from. Every node kind not named
// below is handled generically — the union of everything beneath it — so a node type this file
// does not know can only over-approximate, never hide a masked column.
#include <algorithm>

#include "sql/functions.h"
#include "sql/lineage_internal.h"

namespace phigate::sql::lineage_detail {
namespace {

bool is_system_column(std::string_view c) {
  return c == "ctid" || c == "xmin" || c == "xmax" || c == "cmin" || c == "cmax" ||
         c == "tableoid" || c == "oid";
}

const Relation* find_relation(const Scope& s, std::string_view schema, std::string_view name) {
  for (const Relation& r : s.rels) {
    if (r.alias != name) continue;
    if (!schema.empty() && r.schema != schema) continue;
    return &r;
  }
  return nullptr;
}

}  // namespace

Deps Analyzer::masked(std::string_view schema, std::string_view table, std::string_view column) {
  Deps d;
  if (!cat_.is_masked) return d;
  if (auto rule = cat_.is_masked(schema, table, column)) {
    std::string src;
    src.append(schema).append(".").append(table).append(".").append(column);
    d.add(Source{*rule, std::move(src)});
  }
  return d;
}

bool Analyzer::column_of(const Relation& r, std::string_view col, Deps* out) {
  if (r.columns_known) {
    for (const Col& c : r.cols)
      if (c.name == col) {
        *out = c.deps;
        return true;
      }
    if (r.kind == Relation::Kind::kTable && is_system_column(col)) {
      *out = Deps{};
      return true;
    }
    return false;
  }
  if (r.kind == Relation::Kind::kTable) {
    *out = masked(r.schema, r.table, col);
    return true;
  }
  *out = r.all;
  return true;
}

Deps Analyzer::whole_row(const Relation& r) {
  Deps d;
  if (!r.columns_known) {
    if (r.kind == Relation::Kind::kTable) {
      fail("whole-row reference to \"" + r.alias + "\", whose columns are unknown");
      d.whole_row = true;
      return d;
    }
    d = r.all;
  }
  for (const Col& c : r.cols) d.add(c.deps);
  if (!d.masked.empty()) d.whole_row = true;
  return d;
}

// Every column of every relation visible from `scope`: the answer when a reference cannot be
// resolved (PostgreSQL would reject the query; phigate must still not under-mask).
Deps Analyzer::everything(const Scope& scope) {
  Deps d;
  for (const Scope* s = &scope; s; s = s->parent)
    for (const Relation& r : s->rels) {
      if (!r.columns_known && r.kind == Relation::Kind::kTable)
        fail("cannot resolve a column reference, and \"" + r.alias + "\" has unknown columns");
      d.add(r.all);
      for (const Col& c : r.cols) d.add(c.deps);
    }
  return d;
}

Deps Analyzer::column_ref(const Json& fields, const Scope& scope) {
  std::vector<std::string_view> parts;
  bool star = false;
  if (fields.is_array())
    for (const Json& f : fields) {
      if (get(f, "A_Star")) {
        star = true;
      } else {
        parts.push_back(node_string(f));
      }
    }
  if (star) {  // t.* (or *) inside an expression: the whole row
    for (const Scope* s = &scope; s; s = s->parent) {
      if (parts.empty()) {
        Deps d = everything(*s);
        if (!d.masked.empty()) d.whole_row = true;
        return d;
      }
      std::string_view schema = parts.size() >= 2 ? parts[parts.size() - 2] : "";
      if (const Relation* r = find_relation(*s, schema, parts.back())) return whole_row(*r);
    }
    return everything(scope);
  }
  if (parts.empty()) return everything(scope);
  if (parts.size() == 1) {
    std::string_view name = parts[0];
    for (const Scope* s = &scope; s; s = s->parent) {
      // Columns of relations with known columns first; then relation names; then relations
      // whose columns are unknown (asked by name).
      Deps d;
      bool found = false;
      for (const Relation& r : s->rels) {
        Deps c;
        if (r.columns_known && column_of(r, name, &c)) {
          d.add(c);
          found = true;
        } else if (!r.columns_known) {  // named columns of a function in FROM (its alias list)
          for (const Col& col : r.cols)
            if (col.name == name) {
              d.add(col.deps);
              found = true;
            }
        }
      }
      if (found) return d;
      // A relation name alone is a whole-row reference (a column of that name would win, but
      // no relation with known columns has one).
      if (const Relation* r = find_relation(*s, "", name)) return whole_row(*r);
      for (const Relation& r : s->rels) {
        Deps c;
        if (!r.columns_known && column_of(r, name, &c)) {
          d.add(c);
          found = true;
        }
      }
      if (found) {
        // A relation whose columns are unknown may not have this column at all, and then the
        // name is an outer query's column (a correlated reference): count that one too.
        if (s->parent) {
          std::string reason = reason_;
          Json one = Json::array({Json{{"String", Json{{"sval", std::string(name)}}}}});
          Deps outer = column_ref(one, *s->parent);
          reason_ = std::move(reason);  // a miss out there is not a failure here
          d.add(outer);
        }
        return d;
      }
    }
    return everything(scope);
  }
  // rel.col, schema.rel.col, db.schema.rel.col — or composite_column.field.
  std::string_view col = parts.back();
  std::string_view rel = parts[parts.size() - 2];
  std::string_view schema = parts.size() >= 3 ? parts[parts.size() - 3] : "";
  for (const Scope* s = &scope; s; s = s->parent) {
    if (const Relation* r = find_relation(*s, schema, rel)) {
      Deps d;
      if (column_of(*r, col, &d)) return d;
      return whole_row(*r);  // rel.field of a composite column we cannot see: the whole row
    }
  }
  // (composite).field written without parentheses, e.g. addr.zip: derived from the column.
  Json first = Json::array({Json{{"String", Json{{"sval", std::string(parts[0])}}}}});
  return column_ref(first, scope);
}

Deps Analyzer::func_call(const Json& body, const Scope& scope, const CteFrame* ctes) {
  std::string_view name, schema;
  if (const Json* fn = get(body, "funcname"); fn && fn->is_array() && !fn->empty()) {
    name = node_string(fn->back());
    if (fn->size() >= 2) schema = node_string((*fn)[fn->size() - 2]);
  }
  // The read-only built-ins (sql/functions.h) compute from their arguments: lineage flows through
  // them. pgcrypto's digest/hmac do too, but live outside pg_catalog, so they are not on the
  // read-only list (a same-named user function could write). Anything else is opaque: its result
  // is content-scanned as well.
  bool builtin = (schema.empty() || schema == "pg_catalog") &&
                 (is_pure_function(name) || name == "digest" || name == "hmac");
  // count() reveals how many, never a value: its result carries no column's data.
  if (builtin && name == "count") return Deps{};
  Deps d;
  if (const Json* args = get(body, "args")) d = expr(*args, scope, ctes);
  if (!builtin) d.opaque = true;
  return d;
}

Deps Analyzer::expr(const Json& node, const Scope& scope, const CteFrame* ctes) {
  Deps d;
  Depth depth(*this);
  if (!depth.ok) return everything(scope);
  if (node.is_array()) {
    for (const Json& n : node) d.add(expr(n, scope, ctes));
    return d;
  }
  if (!node.is_object()) return d;
  if (node.size() == 1) {
    const std::string& type = node.begin().key();
    const Json& body = node.begin().value();
    if (type == "ColumnRef")
      return column_ref(get(body, "fields") ? *get(body, "fields") : Json(), scope);
    if (type == "A_Const" || type == "ParamRef" || type == "WindowDef" || type == "SortBy" ||
        type == "TypeName" || type == "String")
      return d;
    if (type == "FuncCall") return func_call(body, scope, ctes);
    if (type == "TypeCast" || type == "CollateClause")
      return get(body, "arg") ? expr(*get(body, "arg"), scope, ctes) : d;
    if (type == "RowExpr") {
      if (const Json* args = get(body, "args")) d = expr(*args, scope, ctes);
      if (!d.masked.empty()) d.whole_row = true;
      return d;
    }
    if (type == "SubLink") {
      if (const Json* t = get(body, "testexpr")) d.add(expr(*t, scope, ctes));
      if (const Json* sub = get(body, "subselect")) {
        bool rows = false;
        for (const Col& c : statement(*sub, &scope, ctes, &rows)) d.add(c.deps);
      }
      return d;
    }
    if (type == "A_Indirection") {
      // (p).ssn: the named column of a whole-row reference, not the whole row.
      const Json* arg = get(body, "arg");
      const Json* ind = get(body, "indirection");
      if (arg && ind && ind->is_array() && ind->size() == 1 && get(*arg, "ColumnRef") &&
          !node_string((*ind)[0]).empty()) {
        const Json* f = get(*get(*arg, "ColumnRef"), "fields");
        if (f && f->is_array() && f->size() == 1) {
          Json fields = *f;
          fields.push_back((*ind)[0]);
          return column_ref(fields, scope);
        }
      }
    }
    if (type == "SelectStmt") {
      bool rows = false;
      for (const Col& c : statement(node, &scope, ctes, &rows)) d.add(c.deps);
      return d;
    }
    return expr_fields(body, scope, ctes);
  }
  return expr_fields(node, scope, ctes);
}

// The union over an object's fields, without counting a nesting level: a node's body is one
// level with the node itself.
Deps Analyzer::expr_fields(const Json& node, const Scope& scope, const CteFrame* ctes) {
  Deps d;
  if (!node.is_object()) return node.is_array() ? expr(node, scope, ctes) : d;
  for (const auto& [key, value] : node.items()) {
    if (key == "location" || key == "typeName" || key == "over" || key == "agg_order" ||
        key == "agg_filter")
      continue;  // positions, types, and window/ordering/filter clauses carry no output values
    if (value.is_array()) {
      for (const Json& n : value) d.add(expr(n, scope, ctes));
    } else if (value.is_object()) {
      d.add(expr(value, scope, ctes));
    }
  }
  return d;
}

}  // namespace phigate::sql::lineage_detail
