#pragma once
// Column names for RowDescription's (table OID, attribute number), so column rules
// (`patients.ssn`) can be applied to results. Looked up over phigate's OWN upstream connection per
// resource and thread, logged in with the resource's credentials — never the client's session,
// whose search_path, transaction state and privileges are the client's.
//
// One cache per (thread, resource): sessions of a thread share it without locks (one io_context
// per thread, DESIGN.md §8). Bounded (whole tables are cached; past kMaxTables the cache starts
// over); dropped on a policy reload and whenever a DDL statement completes through any session.
// Lookups are asynchronous on the session's own io_context, serialized on the one connection;
// other sessions' I/O never waits for them.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/asio.h"
#include "policy/config.h"
#include "proxy/pg_masking.h"
#include "upstream/pg_connector.h"

namespace phigate::proxy {

class PgCatalog : public std::enable_shared_from_this<PgCatalog> {
 public:
  static constexpr size_t kMaxTables = 4096;

  // This thread's catalog of `res`; rebuilt when the resource's upstream settings change, emptied
  // when the policy version or the DDL epoch moved since it was last used.
  static std::shared_ptr<PgCatalog> for_thread(const ResourceConfig& res, uint64_t policy_version);
  // A DDL statement completed: every thread's caches are stale (checked on their next use).
  static void invalidate_all();

  explicit PgCatalog(upstream::PgTarget target, ResourceConfig res)
      : target_(std::move(target)), res_(std::move(res)) {}

  bool has(uint32_t table_oid) const { return tables_.count(table_oid) > 0; }
  std::optional<ColumnName> name(uint32_t table_oid, int16_t attnum) const;

  // Fetches every table of `oids` that is not cached (unknown OIDs are cached as empty). Fails on
  // any connection or query error: the caller must not forward rows it cannot plan.
  net::awaitable<Status> fetch(std::vector<uint32_t> oids);
  // Resolves a relation name as written in a COPY statement (resolved with the upstream role's
  // default search_path) to its OID and caches its columns; 0 = no such relation.
  net::awaitable<Result<uint32_t>> resolve(std::string relation);
  // The OID of a relation resolve() saw (0 = none such); nullopt = not resolved yet.
  std::optional<uint32_t> relation(const std::string& name) const;
  // Attribute numbers of a cached table's live columns, in order (COPY tbl column order).
  std::vector<int16_t> live_columns(uint32_t table_oid) const;
  // The attribute number of a column by name; 0 = none.
  int16_t attnum(uint32_t table_oid, std::string_view column) const;

  // Relations as the lineage library names them (sql/lineage.h: schema "" = unqualified, resolved
  // with the upstream role's default search_path — the same one pg_get_viewdef qualifies names
  // against, so a view's body resolves consistently).
  struct RelInfo {
    bool exists = false;
    std::string schema;                     // the resolved schema
    std::vector<std::string> columns;       // live columns in attnum order
    std::optional<std::string> definition;  // pg_get_viewdef for views and materialized views
  };
  // nullptr = not fetched yet.
  const RelInfo* relation_info(std::string_view schema, std::string_view name) const;
  // Fetches every (schema, name) not cached yet, in one query.
  net::awaitable<Status> fetch_relations(std::vector<std::pair<std::string, std::string>> rels);
  // Changes whenever any cached answer may change (a fetch, a clear): unique across every
  // catalog of every thread, so it can key the per-thread lineage cache.
  uint64_t generation() const { return generation_; }
  // An answer was computed while something was missing: results cached under the current
  // generation must not be reused.
  void bump_generation();

 private:
  struct Table {
    std::string schema, name;
    std::vector<std::string> columns;  // by attnum - 1; "" = dropped
  };
  // Runs one simple query; rows as text values (NULL = nullopt).
  using Row = std::vector<std::optional<std::string>>;
  net::awaitable<Result<std::vector<Row>>> query(std::string sql);
  net::awaitable<Result<std::vector<Row>>> query_locked(const std::string& sql);
  net::awaitable<Status> ensure_connected();
  void add_rows(const std::vector<Row>& rows);

  upstream::PgTarget target_;
  ResourceConfig res_;
  std::unique_ptr<net::Stream> conn_;
  Bytes inbuf_;
  std::unordered_map<uint32_t, Table> tables_;
  std::unordered_map<std::string, uint32_t> relations_;  // cleared with tables_
  std::unordered_map<std::string, RelInfo> rel_info_;    // "schema\0name"; cleared with tables_
  uint64_t generation_ = 0;
  void clear();
  uint64_t policy_version_ = 0, ddl_epoch_ = 0;
  // One query at a time on the connection; waiters park on a timer that the finisher cancels.
  bool busy_ = false;
  std::deque<net::asio::steady_timer*> waiters_;
};

}  // namespace phigate::proxy
