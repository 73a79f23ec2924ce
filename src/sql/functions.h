#pragma once
// Built-in functions known to be read-only: they neither write nor reach outside the database.
// Everything else — user functions, extensions, built-ins not listed — may write as far as phigate
// can tell, so a read_only role refuses statements that call them (DESIGN.md §4 read_only).
#include <string_view>

namespace phigate::sql {

// `name` as the parse tree spells it ("lower", "pg_catalog.lower"). Exact, case-sensitive
// comparison: unquoted names are already folded to lower case, and a quoted "Lower" is a different
// (user) function. A schema other than pg_catalog is never pure.
bool is_pure_function(std::string_view name);

}  // namespace phigate::sql
