#include "sql/copy_options.h"

#include <pg_query.h>

#include <nlohmann/json.hpp>

#include "sql/quote.h"

namespace phigate::sql {
namespace {

std::string sval(const nlohmann::json& node) {
  // PostgreSQL 15's String node is {"sval": "..."}; older trees used {"str": "..."}.
  if (auto s = node.find("String"); s != node.end() && s->is_object()) {
    if (auto v = s->find("sval"); v != s->end() && v->is_string()) return v->get<std::string>();
    if (auto v = s->find("str"); v != s->end() && v->is_string()) return v->get<std::string>();
  }
  return {};
}

}  // namespace

std::optional<CopyOptions> copy_options(std::string_view statement) {
  if (statement.find('\0') != std::string_view::npos) return std::nullopt;
  std::string text(statement);
  PgQueryParseResult r = pg_query_parse(text.c_str());
  std::optional<CopyOptions> out;
  if (r.error == nullptr && r.parse_tree != nullptr) {
    auto tree = nlohmann::json::parse(r.parse_tree, nullptr, /*allow_exceptions=*/false);
    const nlohmann::json* stmts =
        tree.is_object() && tree.contains("stmts") ? &tree["stmts"] : nullptr;
    if (stmts && stmts->is_array() && stmts->size() == 1) {
      const nlohmann::json& st = (*stmts)[0].value("stmt", nlohmann::json::object());
      if (auto cs = st.find("CopyStmt"); cs != st.end() && cs->is_object()) {
        CopyOptions o;
        o.to_stdout = !cs->value("is_from", false) && !cs->contains("filename");
        bool csv = false, has_delim = false, has_null = false, has_escape = false;
        std::string format;
        for (const auto& opt : cs->value("options", nlohmann::json::array())) {
          const auto& d = opt.value("DefElem", nlohmann::json::object());
          std::string name = d.value("defname", "");
          std::string v = d.contains("arg") ? sval(d["arg"]) : std::string();
          if (name == "format") format = v;
          // HEADER alone has no argument; HEADER true/false/on/off a Boolean or a String.
          if (name == "header") {
            const auto& arg = d.value("arg", nlohmann::json::object());
            o.header = !arg.contains("Boolean") && v.empty() ? true
                       : arg.contains("Boolean") ? arg["Boolean"].value("boolval", false)
                                                 : (v == "true" || v == "on" || v == "1");
          }
          if (name == "delimiter" && v.size() == 1) o.delimiter = v[0], has_delim = true;
          if (name == "null") o.null_string = v, has_null = true;
          if (name == "quote" && v.size() == 1) o.quote = v[0];
          if (name == "escape" && v.size() == 1) o.escape = v[0], has_escape = true;
        }
        csv = format == "csv";
        o.binary = format == "binary";
        o.csv = csv;
        if (csv && !has_delim) o.delimiter = ',';
        if (csv && !has_null) o.null_string.clear();
        if (!has_escape) o.escape = o.quote;
        if (auto rel = cs->find("relation"); rel != cs->end() && rel->is_object()) {
          std::string schema = rel->value("schemaname", "");
          std::string name = quote_ident(rel->value("relname", ""));
          o.relation = schema.empty() ? name : quote_ident(schema) + "." + name;
        }
        for (const auto& a : cs->value("attlist", nlohmann::json::array()))
          o.columns.push_back(sval(a));
        out = std::move(o);
      }
    }
  }
  pg_query_free_parse_result(r);
  return out;
}

}  // namespace phigate::sql
