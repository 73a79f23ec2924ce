#pragma once
// Column lineage (issue 5): for one statement's text, which masked columns each OUTPUT column is
// derived from — through any expression, function, cast, operator, CASE/COALESCE, aggregate,
// window function, scalar subquery, subquery/LATERAL in FROM, CTE (recursive and renamed), set
// operation branch, view (expanded recursively from the catalog), `*`/`t.*`, USING/NATURAL join,
// VALUES and set-returning function — so `replace(ssn,'-','')`, `md5(ssn)`, `ssn::bigint`,
// `row_to_json(p)` or `UNION SELECT ssn` cannot bypass a column rule.
//
// Built on libpg_query's JSON tree (one DOM walk per statement text; results are cacheable).
// Conservative by construction: whatever the library cannot tell is reported as derived from
// every masked column in scope, or as `unanalysable` with a reason; the caller then fails closed
// (masks every column or refuses the statement).
//
// Analysed statements: SELECT (incl. VALUES, set operations, WITH), COPY (query) TO / COPY table
// TO, EXPLAIN [ANALYZE] (one opaque "QUERY PLAN" column; the inner query is still analysed so a
// nonsensical one is reported), DECLARE CURSOR (the cursor's query), INSERT/UPDATE/DELETE ...
// RETURNING (the returning list). Other statements return no rows to mask: `returns_rows` false.
// FETCH and EXECUTE are `unanalysable` (their query text is elsewhere: the caller tracks it).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::sql {

// The caller's view of the catalog and of the active masking profile. Names arrive as the parser
// produced them (unquoted identifiers lower-cased). An UNQUALIFIED relation arrives with an empty
// schema: the caller resolves it through search_path (and globs such as "*.email" are the
// caller's business too).
struct LineageCatalog {
  // The masking rule name for a column, or nullopt when the column is not masked. May be asked
  // about columns that do not exist (e.g. of a relation whose columns are unknown).
  std::function<std::optional<std::string>(std::string_view schema, std::string_view table,
                                           std::string_view column)>
      is_masked;
  // The defining SELECT of a view or materialized view (pg_get_viewdef), or nullopt when `name`
  // is not a view. pg_get_viewdef qualifies names relative to the search_path it runs under:
  // fetch it under the same search_path used to resolve empty schemas here.
  std::function<std::optional<std::string>(std::string_view schema, std::string_view name)>
      view_definition;
  // A relation's column names in attnum order, dropped columns excluded (for `*` expansion and
  // name resolution), or nullopt for an unknown relation.
  std::function<std::optional<std::vector<std::string>>(std::string_view schema,
                                                        std::string_view name)>
      table_columns;
};

struct OutputColumn {
  std::string name;                  // as PostgreSQL labels it (best effort; "?column?" otherwise)
  std::vector<std::string> masked;   // rule names it derives from, sorted, unique; empty = clean
  std::vector<std::string> sources;  // the masked source columns, "schema.table.column" (schema
                                     // empty when unqualified), sorted, unique: for audit/errors
  // The value embeds a whole row that has masked columns: `SELECT p FROM patients p`,
  // row_to_json(p), to_jsonb(p), json_agg(p), ROW(ssn, ...), func(p.*), (p)::text. Default
  // configuration refuses such statements rather than masking a whole JSON document.
  bool whole_row = false;
  // Derived through a function phigate cannot see into (anything not a PostgreSQL built-in, and
  // set-returning functions in FROM): the caller also runs content detection on this column.
  bool opaque = false;
};

struct Lineage {
  bool returns_rows = false;  // false: nothing to mask (DDL, plain DML, SET, ...)
  // In output order. If the count differs from the RowDescription's field count (a function in
  // FROM returning a composite type is counted as one column), the caller must fail closed.
  std::vector<OutputColumn> columns;
  // Non-empty when the library cannot tell (parse error, several statements, unknown relation
  // under `*`, view nesting too deep or cyclic, FETCH/EXECUTE, ...). The caller fails closed.
  std::string unanalysable;

  bool any_masked() const;
  bool any_whole_row() const;
};

// Analyses one statement. Never throws; never trusts the text.
Lineage analyse_lineage(std::string_view statement, const LineageCatalog& catalog);

// The same through a per-thread cache keyed by (generation, text). `generation` must change
// whenever any callback's answer may change: bump it on catalog changes (DDL, reload) AND make it
// differ per masking profile (e.g. hash(profile version, catalog version)), since is_masked
// depends on the profile. Texts over 16 KiB are not cached.
std::shared_ptr<const Lineage> analyse_lineage_cached(std::string_view statement,
                                                      uint64_t generation,
                                                      const LineageCatalog& catalog);

}  // namespace phigate::sql
