#include "sql/lineage.h"

#include <pg_query.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "sql/lineage_internal.h"

namespace phigate::sql {
namespace lineage_detail {

void Deps::add(Source s) {
  auto it = std::lower_bound(masked.begin(), masked.end(), s);
  if (it == masked.end() || *it != s) masked.insert(it, std::move(s));
}

void Deps::add(const Deps& o) {
  for (const Source& s : o.masked) add(s);
  whole_row = whole_row || o.whole_row;
  opaque = opaque || o.opaque;
}

const Json* get(const Json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

std::string_view str(const Json* j) {
  if (!j || !j->is_string()) return {};
  return j->get_ref<const std::string&>();
}

std::string_view node_string(const Json& n) {
  const Json* s = get(n, "String");
  return s ? str(get(*s, "sval")) : std::string_view();
}

Lineage Analyzer::run(std::string_view text) {
  Lineage out;
  // libpg_query reads a C string: an embedded NUL would hide the rest of the text.
  if (text.find('\0') != std::string_view::npos) {
    out.unanalysable = "statement contains a NUL byte";
    return out;
  }
  std::string sql(text);
  PgQueryParseResult r = pg_query_parse(sql.c_str());
  if (r.error) {
    out.unanalysable = std::string("cannot parse statement: ") +
                       (r.error->message ? r.error->message : "unknown error");
    pg_query_free_parse_result(r);
    return out;
  }
  Json tree = Json::parse(r.parse_tree ? r.parse_tree : "", nullptr, false);
  pg_query_free_parse_result(r);
  const Json* stmts = get(tree, "stmts");
  if (tree.is_discarded() || !stmts || !stmts->is_array()) {
    out.unanalysable = "unreadable parse tree";
    return out;
  }
  if (stmts->empty()) return out;  // empty query: no rows
  if (stmts->size() != 1) {
    out.unanalysable = "several statements in one text: analyse them one at a time";
    return out;
  }
  const Json* stmt = get((*stmts)[0], "stmt");
  if (!stmt) {
    out.unanalysable = "unreadable parse tree";
    return out;
  }
  bool rows = false;
  std::vector<Col> cols = statement(*stmt, nullptr, nullptr, &rows);
  out.returns_rows = rows;
  out.unanalysable = reason_;
  for (Col& c : cols) {
    OutputColumn oc;
    oc.name = std::move(c.name);
    for (const Source& s : c.deps.masked) {
      oc.masked.push_back(s.rule);
      oc.sources.push_back(s.column);
    }
    std::sort(oc.masked.begin(), oc.masked.end());
    oc.masked.erase(std::unique(oc.masked.begin(), oc.masked.end()), oc.masked.end());
    std::sort(oc.sources.begin(), oc.sources.end());
    oc.sources.erase(std::unique(oc.sources.begin(), oc.sources.end()), oc.sources.end());
    oc.whole_row = c.deps.whole_row;
    oc.opaque = c.deps.opaque;
    out.columns.push_back(std::move(oc));
  }
  return out;
}

}  // namespace lineage_detail

bool Lineage::any_masked() const {
  return std::any_of(columns.begin(), columns.end(),
                     [](const OutputColumn& c) { return !c.masked.empty(); });
}

bool Lineage::any_whole_row() const {
  return std::any_of(columns.begin(), columns.end(),
                     [](const OutputColumn& c) { return c.whole_row; });
}

Lineage analyse_lineage(std::string_view statement, const LineageCatalog& catalog) {
  // nlohmann::json may throw on allocation failure or a bug in a corner of the walker; the
  // contract is to never throw on the data path, so any exception becomes "unanalysable".
  try {
    return lineage_detail::Analyzer(catalog).run(statement);
  } catch (const std::exception& e) {
    Lineage l;
    l.unanalysable = std::string("lineage analysis failed: ") + e.what();
    return l;
  }
}

namespace {

constexpr size_t kMaxCachedText = 16 * 1024;
constexpr size_t kMaxEntries = 2048;

// Per thread, keyed by (generation, text). When full it is simply emptied: statement texts of
// one workload repeat, so it refills with the hot ones at the cost of one miss each.
struct LineageCache {
  std::unordered_map<std::string, std::shared_ptr<const Lineage>> map;
  std::string key;  // reused lookup key
};

}  // namespace

std::shared_ptr<const Lineage> analyse_lineage_cached(std::string_view statement,
                                                      uint64_t generation,
                                                      const LineageCatalog& catalog) {
  if (statement.size() > kMaxCachedText)
    return std::make_shared<const Lineage>(analyse_lineage(statement, catalog));
  thread_local LineageCache cache;
  cache.key.assign(reinterpret_cast<const char*>(&generation), sizeof generation);
  cache.key.append(statement);
  if (auto it = cache.map.find(cache.key); it != cache.map.end()) return it->second;
  auto value = std::make_shared<const Lineage>(analyse_lineage(statement, catalog));
  if (cache.map.size() >= kMaxEntries) cache.map.clear();
  cache.map.emplace(cache.key, value);
  return value;
}

}  // namespace phigate::sql
