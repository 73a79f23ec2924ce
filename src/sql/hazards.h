#pragma once
// Statement properties that no rule list can be trusted to catch: built-in functions that write or
// reach outside the database from inside an apparently read-only statement, and settings that
// change how the server tokenizes later statements.
#include <string>
#include <string_view>

namespace phigate::sql {

// Built-in functions with side effects (case-insensitive; prefixes lo_, dblink, pg_logical_,
// pg_replication_ count as families).
bool is_hazardous_function(std::string_view name);

// For a statement the scanner flagged (it names a lexer setting or calls set_config): parses
// `statement` again into a full tree and judges every SET and set_config in it. Returns a reason
// when it is unsafe, "" when it is safe. Fails closed: an unreadable tree is unsafe.
std::string lexer_unsafe_reason(std::string_view statement);

// The same pass, also judging search_path (SET and set_config): `shadows_builtins` says why the
// statement may make another schema's functions shadow built-ins (settings.h), "" when it cannot.
struct SettingHazards {
  std::string lexer_unsafe;
  std::string shadows_builtins;
};
SettingHazards setting_hazards(std::string_view statement);

}  // namespace phigate::sql
