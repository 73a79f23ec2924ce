#pragma once
// One streaming pass over libpg_query's JSON parse tree (nlohmann SAX, no DOM) that produces the
// per-statement facts of classify.h. Internal to phigate_sql; classify.h is the interface.
#include <string_view>
#include <vector>

#include "sql/classify.h"

namespace phigate::sql::detail {

// Table and nested-kind order follows the order the former DOM walk met them in. Usually text
// locations settle it; when they do not (ties, two nested kinds), kAuto scans a second time
// recording tree paths. kAlwaysTrackPaths does that from the start (for tests).
enum class ScanOrder { kAuto, kAlwaysTrackPaths };

// Appends one Statement per entry of the tree's "stmts" to `out`. Returns false when `json` is not
// a readable libpg_query parse tree; `out` is then unspecified. Never throws on bad input.
bool scan_parse_tree(std::string_view query, std::string_view json, std::vector<Statement>& out,
                     ScanOrder order = ScanOrder::kAuto);

}  // namespace phigate::sql::detail
