#pragma once
// The original DOM-based classifier, kept in the test binary as the differential-test oracle.
#include <string>
#include <string_view>

#include "sql/classify.h"

namespace phigate::sql::reference {

Classification classify(std::string_view query);
// The part after pg_query_parse: classifies a given JSON tree (any JSON, for odd-shape tests).
Classification classify_tree(std::string_view query, const std::string& tree_text);
// pg_query_parse's JSON for `query`, or "" on a parse error.
std::string parse_tree_json(std::string_view query);

}  // namespace phigate::sql::reference
