#pragma once
// Internals of the lineage analysis (lineage.h): the dependency sets that flow through a query,
// the relations and scopes that column references resolve against, and the walker over
// libpg_query's JSON tree. Internal to phigate_sql.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sql/lineage.h"

namespace phigate::sql::lineage_detail {

using Json = nlohmann::json;

struct Source {
  std::string rule;
  std::string column;  // "schema.table.column"
  auto operator<=>(const Source&) const = default;
};

// What a value is derived from.
struct Deps {
  std::vector<Source> masked;  // sorted, unique
  bool whole_row = false;
  bool opaque = false;
  void add(const Deps& o);
  void add(Source s);
};

struct Col {
  std::string name;
  Deps deps;
};

struct Relation {
  enum class Kind { kTable, kDerived, kFunction };
  Kind kind = Kind::kDerived;
  std::string alias;          // the name references use
  std::string schema, table;  // identity of a base table / view (for is_masked)
  bool columns_known = true;
  std::vector<Col> cols;
  Deps all;  // kFunction without known columns: what any of its columns carries
};

struct Scope {
  const Scope* parent = nullptr;
  std::vector<Relation> rels;
  std::vector<Col> star;     // `*` in FROM order, USING/NATURAL columns merged
  std::string star_unknown;  // non-empty: `*` cannot be expanded, and why
};

struct Cte {
  std::string name;
  std::vector<Col> cols;
};

struct CteFrame {
  const CteFrame* parent = nullptr;
  std::vector<Cte> ctes;
  const Cte* find(std::string_view name) const;
};

// JSON accessors that never throw: a missing key or a wrong type reads as absent/empty.
const Json* get(const Json& o, const char* key);
std::string_view str(const Json* j);
// {"String": {"sval": "x"}} -> "x"; anything else -> "".
std::string_view node_string(const Json& n);

class Analyzer {
 public:
  explicit Analyzer(const LineageCatalog& catalog) : cat_(catalog) {}
  Lineage run(std::string_view text);

 private:
  friend class ExprWalker;
  // A statement node ({"SelectStmt": {...}}, {"CopyStmt": {...}}, ...).
  std::vector<Col> statement(const Json& node, const Scope* outer, const CteFrame* ctes,
                             bool* returns_rows);
  std::vector<Col> select(const Json& body, const Scope* outer, const CteFrame* ctes);
  std::vector<Col> select_core(const Json& body, const Scope* outer, const CteFrame* ctes);
  void with_clause(const Json& with, const Scope* outer, CteFrame& frame);
  std::vector<Col> returning(const Json& body, const Scope* outer, const CteFrame* ctes,
                             bool* returns_rows);
  void from_item(const Json& item, Scope& scope, const CteFrame* ctes, std::vector<Col>& star);
  Relation range_var(const Json& rv, const CteFrame* ctes);
  std::vector<Col> view_columns(std::string_view schema, std::string_view name,
                                const std::string& sql);
  void target_list(const Json& list, const Scope& scope, const CteFrame* ctes,
                   std::vector<Col>& out);

  Deps expr(const Json& node, const Scope& scope, const CteFrame* ctes);
  Deps expr_fields(const Json& node, const Scope& scope, const CteFrame* ctes);
  Deps func_call(const Json& body, const Scope& scope, const CteFrame* ctes);
  Deps column_ref(const Json& fields, const Scope& scope);
  Deps whole_row(const Relation& r);
  bool column_of(const Relation& r, std::string_view col, Deps* out);
  Deps everything(const Scope& scope);
  Deps masked(std::string_view schema, std::string_view table, std::string_view column);

  void fail(std::string reason) {
    if (reason_.empty()) reason_ = std::move(reason);
  }

  // Bounds the recursion of select/from/expression walks together (a chain of 3000 JOINs or
  // nested parentheses must not exhaust a session thread's stack). `ok` false: give up there.
  static constexpr int kMaxDepth = 1000;
  struct Depth {
    Analyzer& a;
    bool ok;
    explicit Depth(Analyzer& an) : a(an), ok(++an.depth_ <= kMaxDepth) {
      if (!ok) a.fail("query nesting too deep");
    }
    ~Depth() { --a.depth_; }
  };

  const LineageCatalog& cat_;
  std::string reason_;
  int depth_ = 0;
  std::vector<std::string> views_;  // views being expanded (cycle guard)
};

}  // namespace phigate::sql::lineage_detail
