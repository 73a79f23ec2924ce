#pragma once
// The options of a COPY ... TO STDOUT statement that decide how its CopyData rows are laid out
// (PostgreSQL docs "COPY": FORMAT, DELIMITER, NULL, QUOTE, ESCAPE), read from libpg_query's parse
// tree so both the option-list and the old `CSV HEADER DELIMITER '|'` syntax are understood.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::sql {

struct CopyOptions {
  bool to_stdout = false;  // COPY ... TO STDOUT (not FROM, not a server file or program)
  bool binary = false;
  bool csv = false;
  bool header = false;    // the first row holds column names
  char delimiter = '\t';  // ',' for CSV
  char quote = '"';
  char escape = '"';                // CSV; defaults to quote
  std::string null_string = "\\N";  // "" for CSV
  std::string relation;  // COPY tbl: quoted identifier(s), schema-qualified if written so
  std::vector<std::string> columns;  // COPY tbl (a, b)
};

// The statement's COPY options; nullopt when it is not one COPY statement or does not parse.
std::optional<CopyOptions> copy_options(std::string_view statement);

}  // namespace phigate::sql
