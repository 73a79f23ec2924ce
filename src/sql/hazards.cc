#include "sql/hazards.h"

#include <pg_query.h>

#include <nlohmann/json.hpp>

#include "sql/parse_tree_vocab.h"
#include "sql/settings.h"

namespace phigate::sql {

namespace {

using Json = nlohmann::json;

// The constant a node stands for, if it is one: A_Const (string, integer, boolean), possibly
// under TypeCast. Anything computed yields nullopt.
std::optional<std::string> constant_of(const Json& node) {
  if (!node.is_object()) return std::nullopt;
  if (auto tc = node.find("TypeCast"); tc != node.end() && tc->is_object()) {
    auto arg = tc->find("arg");
    return arg == tc->end() ? std::nullopt : constant_of(*arg);
  }
  auto ac = node.find("A_Const");
  if (ac == node.end() || !ac->is_object()) return std::nullopt;
  if (auto sv = ac->find("sval"); sv != ac->end() && sv->is_object()) {
    auto v = sv->find("sval");
    if (v != sv->end() && v->is_string()) return v->get<std::string>();
    return std::string();  // '' is an empty sval object
  }
  if (auto iv = ac->find("ival"); iv != ac->end() && iv->is_object()) {
    auto v = iv->find("ival");
    return v != iv->end() && v->is_number_integer() ? std::to_string(v->get<int64_t>()) : "0";
  }
  if (auto bv = ac->find("boolval"); bv != ac->end() && bv->is_object()) {
    auto v = bv->find("boolval");
    return v != bv->end() && v->is_boolean() && v->get<bool>() ? "on" : "off";
  }
  return std::nullopt;
}

// SET search_path: every value must be a constant and pg_catalog must not come after another
// schema (settings.h).
std::string judge_search_path(const Json& body) {
  std::string kind = body.value("kind", "");
  if (kind != "VAR_SET_VALUE") return {};  // RESET / DEFAULT / FROM CURRENT
  auto args = body.find("args");
  if (args == body.end() || !args->is_array()) return "an unreadable search_path";
  std::vector<std::string> items;
  for (const Json& a : *args) {
    auto v = constant_of(a);
    if (!v) return "a computed search_path";
    items.push_back(*v);
  }
  if (!search_path_is_safe(items))
    return "a search_path that lists pg_catalog after another schema";
  return {};
}

// Search-path findings go to `shadow`; they do not stop the walk, which goes on looking for a
// lexer hazard (that one refuses the statement for every role).
std::string judge_set(const Json& body, std::string& shadow) {
  auto name_it = body.find("name");
  if (name_it == body.end() || !name_it->is_string()) return {};
  std::string name = name_it->get<std::string>();
  if (is_search_path(name)) {
    if (shadow.empty()) shadow = judge_search_path(body);
    return {};
  }
  if (!is_lexer_setting(name)) return {};
  std::string kind = body.value("kind", "");
  if (kind == "VAR_RESET" || kind == "VAR_SET_DEFAULT" || kind == "VAR_SET_CURRENT") return {};
  auto args = body.find("args");
  if (args == body.end() || !args->is_array() || args->empty())
    return "SET " + name + " without a readable value";
  auto value = constant_of((*args)[0]);
  if (!value) return "SET " + name + " to a computed value";
  std::string_view v = *value;
  if (!setting_is_lexer_safe(name, &v)) return "SET " + name + " = " + *value;
  return {};
}

std::string judge_set_config(const Json& call, std::string& shadow) {
  auto fn = call.find("funcname");
  if (fn == call.end() || !fn->is_array() || fn->empty()) return {};
  const Json& last = fn->back();
  auto str = last.find("String");
  if (str == last.end() || !str->is_object()) return {};
  if (!iequals(str->value("sval", ""), "set_config")) return {};
  auto args = call.find("args");
  if (args == call.end() || !args->is_array() || args->empty()) return {};
  auto name = constant_of((*args)[0]);
  if (!name) return "set_config with a computed setting name";
  if (is_search_path(*name)) {
    if (args->size() < 2 || !shadow.empty()) return {};
    auto value = constant_of((*args)[1]);
    if (!value) {
      shadow = "a computed search_path";
    } else if (!search_path_is_safe({*value})) {
      shadow = "a search_path that lists pg_catalog after another schema";
    }
    return {};
  }
  if (!is_lexer_setting(*name)) return {};
  if (args->size() < 2) return {};
  auto value = constant_of((*args)[1]);
  if (!value) return "set_config('" + *name + "') to a computed value";
  std::string_view v = *value;
  if (!setting_is_lexer_safe(*name, &v)) return "set_config('" + *name + "', '" + *value + "')";
  return {};
}

std::string walk(const Json& node, std::string& shadow) {
  if (node.is_array()) {
    for (const Json& e : node)
      if (auto r = walk(e, shadow); !r.empty()) return r;
    return {};
  }
  if (!node.is_object()) return {};
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (it.key() == "VariableSetStmt" && it->is_object()) {
      if (auto r = judge_set(*it, shadow); !r.empty()) return r;
    } else if (it.key() == "FuncCall" && it->is_object()) {
      if (auto r = judge_set_config(*it, shadow); !r.empty()) return r;
    }
    if (auto r = walk(*it, shadow); !r.empty()) return r;
  }
  return {};
}

}  // namespace

bool is_hazardous_function(std::string_view name) {
  static constexpr std::string_view kExact[] = {"nextval",
                                                "setval",
                                                "pg_read_file",
                                                "pg_read_binary_file",
                                                "pg_ls_dir",
                                                "pg_stat_file",
                                                "pg_ls_logdir",
                                                "pg_ls_waldir",
                                                "pg_ls_tmpdir",
                                                "pg_ls_archive_statusdir",
                                                "pg_terminate_backend",
                                                "pg_cancel_backend",
                                                "pg_reload_conf",
                                                "pg_rotate_logfile",
                                                "pg_notify",
                                                "pg_create_restore_point",
                                                "pg_switch_wal",
                                                "pg_promote",
                                                "pg_file_write",
                                                "pg_file_rename",
                                                "pg_file_unlink",
                                                "pg_file_sync",
                                                "pg_import_system_collations",
                                                "pg_drop_replication_slot",
                                                "pg_create_physical_replication_slot",
                                                "pg_create_logical_replication_slot",
                                                "pg_copy_physical_replication_slot",
                                                "pg_copy_logical_replication_slot",
                                                "query_to_xml",
                                                "query_to_xmlschema",
                                                "query_to_xml_and_xmlschema",
                                                "cursor_to_xml",
                                                "cursor_to_xmlschema",
                                                "pg_stat_reset",
                                                "pg_stat_reset_shared",
                                                "pg_stat_reset_single_table_counters",
                                                "pg_stat_reset_single_function_counters",
                                                "pg_stat_reset_slru",
                                                "pg_stat_reset_replication_slot",
                                                "pg_stat_reset_subscription_stats",
                                                "pg_backup_start",
                                                "pg_backup_stop",
                                                "pg_wal_replay_pause",
                                                "pg_wal_replay_resume",
                                                "pg_log_backend_memory_contexts"};
  for (auto e : kExact)
    if (iequals(name, e)) return true;
  static constexpr std::string_view kPrefix[] = {"lo_", "dblink", "pg_logical_",
                                                 "pg_replication_origin"};
  for (auto p : kPrefix)
    if (iequals(name.substr(0, p.size()), p)) return true;
  return iequals(name, "loread") || iequals(name, "lowrite");
}

SettingHazards setting_hazards(std::string_view statement) {
  std::string text(statement);
  PgQueryParseResult r = pg_query_parse(text.c_str());
  SettingHazards out;
  if (r.error) {
    out.lexer_unsafe = "statement could not be re-parsed";
  } else {
    Json tree = Json::parse(r.parse_tree ? r.parse_tree : "", nullptr, false);
    if (tree.is_discarded()) {
      out.lexer_unsafe = "statement tree unreadable";
    } else {
      out.lexer_unsafe = walk(tree, out.shadows_builtins);
    }
  }
  pg_query_free_parse_result(r);
  return out;
}

std::string lexer_unsafe_reason(std::string_view statement) {
  return setting_hazards(statement).lexer_unsafe;
}

}  // namespace phigate::sql
