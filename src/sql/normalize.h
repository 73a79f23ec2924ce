#pragma once
// The normalized text that `regex` rules match (DESIGN.md §4, the last-resort matcher): the
// statement split into tokens by PostgreSQL's own scanner (libpg_query), comments dropped, tokens
// joined by one space, keywords and unquoted identifiers in lower case (PostgreSQL folds them
// too); quoted identifiers, string literals, numbers and operators kept byte for byte.
//   "SeLeCt  *  /* x */ FROM \"Patients\" -- y"  ->  select * from "Patients"
#include <optional>
#include <string>
#include <string_view>

namespace phigate::sql {

// nullopt when the scanner rejects the text (callers fail closed).
std::optional<std::string> normalize_sql(std::string_view text);

}  // namespace phigate::sql
