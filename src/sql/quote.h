#pragma once
// Quoting names and values into SQL that phigate writes itself (catalog lookups, COPY targets).
// A NUL cannot travel in PostgreSQL text at all and is dropped.
#include <string>
#include <string_view>

namespace phigate::sql {

// "name" with embedded quotes doubled: exact, since parse trees hold names already case-folded.
std::string quote_ident(std::string_view s);
// 'value' with embedded quotes doubled (standard_conforming_strings on, the default).
std::string quote_literal(std::string_view s);

}  // namespace phigate::sql
