#include "store/sqlite/sqlite_retention.h"

#include <sqlite3.h>

#include <limits>

#include <spdlog/spdlog.h>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_sessions.h"

namespace phigate::store {
namespace sqlite_detail {
constexpr const char* kAnchorSchema =
    "CREATE TABLE IF NOT EXISTS audit_anchors (tree_size INTEGER PRIMARY KEY,"
    " record TEXT NOT NULL)";

namespace {

// The newest anchor, read on `db`.
Result<std::optional<audit::Anchor>> newest_anchor(sqlite3* db) {
  auto has = has_table(db, "audit_anchors");
  if (!has.ok()) return has.error();
  if (!*has) return std::optional<audit::Anchor>();
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT tree_size, record FROM audit_anchors ORDER BY tree_size DESC "
                         "LIMIT 1",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return make_error("store", std::string("prepare anchor read: ") + sqlite3_errmsg(db));
  }
  Stmt s(raw);
  int rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::optional<audit::Anchor>();
  if (rc != SQLITE_ROW) {
    return make_error("store", std::string("read anchor: ") + sqlite3_errmsg(db));
  }
  const int64_t size = sqlite3_column_int64(raw, 0);
  std::optional<audit::Anchor> a;
  if (sqlite3_column_type(raw, 1) == SQLITE_TEXT) {
    a = audit::anchor_from_json(column_text(raw, 1));
  }
  if (!a || size < 0 || static_cast<uint64_t>(size) != a->tree_size) {
    return make_error("tampered", "retention anchor at tree_size " + std::to_string(size) +
                                      ": record is not a well-formed anchor");
  }
  return a;
}

}  // namespace

Result<std::optional<audit::Anchor>> AuditTable::anchor() { return newest_anchor(db_); }

}  // namespace sqlite_detail

Status prune_sqlite_audit_store(const std::string& path, const audit::Anchor& anchor) {
  using sqlite_detail::Stmt;
  if (anchor.tree_size == 0 ||
      anchor.tree_size >= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return make_error("store", "retention anchor tree_size out of range");
  }
  sqlite3* raw_db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw_db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    Error e = make_error("store",
                         "open " + path + ": " + (raw_db ? sqlite3_errmsg(raw_db) : "no memory"));
    sqlite3_close_v2(raw_db);
    return e;
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw_db, sqlite3_close_v2);
  sqlite3_busy_timeout(raw_db, 10000);
  auto exec = [&](const char* sql) { return sqlite_detail::exec(raw_db, sql); };
  if (auto st = exec("BEGIN IMMEDIATE"); !st.ok()) return st;
  auto fail = [&](Error e) -> Status {
    (void)exec("ROLLBACK");
    return e;
  };
  if (auto st = exec(sqlite_detail::kAnchorSchema); !st.ok()) return fail(st.error());
  auto prev = sqlite_detail::newest_anchor(raw_db);
  if (!prev.ok()) return fail(prev.error());
  if (*prev && (*prev)->tree_size >= anchor.tree_size) {
    return fail(
        make_error("store", "already pruned up to seq " + std::to_string((*prev)->tree_size)));
  }
  const auto size = static_cast<int64_t>(anchor.tree_size);
  {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(raw_db, "SELECT count(*) FROM audit_events WHERE seq = ?1", -1, &s,
                           nullptr) != SQLITE_OK) {
      return fail(make_error("store", sqlite3_errmsg(raw_db)));
    }
    Stmt guard(s);
    sqlite3_bind_int64(s, 1, size + 1);
    if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_int(s, 0) != 1) {
      return fail(make_error("store", "record " + std::to_string(size + 1) +
                                          " is not in the database yet; prune later"));
    }
  }
  // The session index follows the prune in its transaction: updated in place when it can be
  // trusted (sessions before the cut dropped, those across it recomputed), else emptied and
  // rebuilt from every record after the commit. Before the DELETE: the trust check compares the
  // meta row with the records as they were.
  auto in_place = sqlite_detail::prune_session_index(raw_db, size);
  if (!in_place.ok()) return fail(in_place.error());
  {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(raw_db, "DELETE FROM audit_events WHERE seq <= ?1", -1, &s, nullptr) !=
        SQLITE_OK) {
      return fail(make_error("store", sqlite3_errmsg(raw_db)));
    }
    Stmt guard(s);
    sqlite3_bind_int64(s, 1, size);
    if (sqlite3_step(s) != SQLITE_DONE) {
      return fail(make_error("store", std::string("delete: ") + sqlite3_errmsg(raw_db)));
    }
  }
  {
    std::string record = audit::anchor_to_json(anchor);
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(raw_db, "INSERT INTO audit_anchors (tree_size, record) VALUES (?1, ?2)",
                           -1, &s, nullptr) != SQLITE_OK) {
      return fail(make_error("store", sqlite3_errmsg(raw_db)));
    }
    Stmt guard(s);
    sqlite3_bind_int64(s, 1, size);
    sqlite3_bind_text(s, 2, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
      return fail(make_error("store", std::string("insert anchor: ") + sqlite3_errmsg(raw_db)));
    }
  }
  // An index not updated in place summarised the deleted records: emptied with them, rebuilt
  // after the commit (in small transactions, so a running gateway's ingest is not held up long).
  if (!*in_place) {
    if (auto st = sqlite_detail::reset_session_index(raw_db); !st.ok()) return fail(st.error());
  }
  if (auto st = exec("COMMIT"); !st.ok()) return st;
  if (*in_place) return ok_status();
  if (auto st = sqlite_detail::rebuild_session_index(raw_db); !st.ok()) {
    // Derived data: the prune stands; readers scan until the next open rebuilds the index.
    spdlog::warn("audit: rebuilding the session index after pruning failed: {}",
                 st.error().message);
  }
  return ok_status();
}

}  // namespace phigate::store
