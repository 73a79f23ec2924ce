// Fuzz target: arbitrary text through the lineage analysis with a fake catalog that has masked
// columns, views (one of them cyclic) and an unknown relation. Must never crash or throw; an
// analysable result must have well-formed columns.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sql/lineage.h"

namespace {

const phigate::sql::LineageCatalog& catalog() {
  static const phigate::sql::LineageCatalog c = [] {
    phigate::sql::LineageCatalog cat;
    cat.is_masked = [](std::string_view, std::string_view table,
                       std::string_view column) -> std::optional<std::string> {
      if (column == "ssn" || (table == "patients" && column == "email")) return "rule";
      return std::nullopt;
    };
    cat.view_definition = [](std::string_view,
                             std::string_view name) -> std::optional<std::string> {
      if (name == "pv") return "SELECT id, ssn AS s FROM patients";
      if (name == "c1") return "SELECT * FROM c2";
      if (name == "c2") return "SELECT * FROM c1";
      if (name == "self") return "SELECT * FROM self";
      return std::nullopt;
    };
    cat.table_columns = [](std::string_view,
                           std::string_view name) -> std::optional<std::vector<std::string>> {
      if (name == "patients") return std::vector<std::string>{"id", "name", "ssn", "email"};
      if (name == "visits") return std::vector<std::string>{"id", "patient_id", "note"};
      return std::nullopt;
    };
    return cat;
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  phigate::sql::Lineage l = phigate::sql::analyse_lineage(text, catalog());
  if (l.unanalysable.empty()) {
    // Rules and source columns come in pairs; a whole row is only flagged when it has masked
    // columns (anything else would be "unanalysable").
    for (const auto& c : l.columns)
      if (c.masked.empty() != c.sources.empty() || (c.whole_row && c.masked.empty())) {
        std::fprintf(stderr, "lineage_fuzz: malformed column %s\n", c.name.c_str());
        std::abort();
      }
  }
  // The cached path must agree with the uncached one.
  auto cached = phigate::sql::analyse_lineage_cached(text, 7, catalog());
  if (cached->columns.size() != l.columns.size() || cached->unanalysable != l.unanalysable) {
    std::fprintf(stderr, "lineage_fuzz: cached result differs\n");
    std::abort();
  }
  return 0;
}
