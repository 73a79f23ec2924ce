#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <limits>
#include <string_view>
#include <system_error>

#include "audit/canonical.h"

namespace phigate::store {
namespace {

using audit::Event;

constexpr int kBusyTimeoutMs = 5000;
constexpr const char* kColumns = "seq, time_ns, session_id, type, sub, resource, record, hash";

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

Error db_error(sqlite3* db, std::string_view what) {
  return make_error("store", std::string(what) + ": " + sqlite3_errmsg(db));
}

Error tampered(int64_t seq, std::string_view what) {
  return make_error("tampered", "seq " + std::to_string(seq) + ": " + std::string(what));
}

Result<Stmt> prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
      SQLITE_OK) {
    return db_error(db, "prepare");
  }
  return Stmt(s);
}

Status exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return db_error(db, sql);
  return ok_status();
}

// Indexed copies hold what the record holds, i.e. the sanitized text.
std::string col_copy(const std::string& s) {
  return audit::is_valid_utf8(s) ? s : audit::sanitize_utf8(s);
}

bool text_equals(sqlite3_stmt* s, int col, const std::string& want) {
  if (sqlite3_column_type(s, col) != SQLITE_TEXT) return false;
  const auto* p = sqlite3_column_text(s, col);
  int n = sqlite3_column_bytes(s, col);
  return std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) == want;
}

// Parses one row of kColumns and checks that the indexed columns are faithful copies of the record.
// Editing a column (to hide a row from a query by sub, say) must not go unnoticed even though the
// column is outside the hash.
Result<Event> read_row(sqlite3_stmt* s) {
  int64_t seq = sqlite3_column_int64(s, 0);
  if (sqlite3_column_type(s, 6) != SQLITE_TEXT) return tampered(seq, "record is missing");
  std::string record(reinterpret_cast<const char*>(sqlite3_column_text(s, 6)),
                     static_cast<size_t>(sqlite3_column_bytes(s, 6)));
  auto e = audit::from_json_line(record);
  if (!e) return tampered(seq, "record is not a well-formed audit record");
  // Whitespace, key order, duplicate keys: all invisible to the hash once parsed, but other tools
  // would read them differently, so only the canonical encoding is accepted.
  if (audit::to_json_line(*e) != record) return tampered(seq, "record is not in canonical form");
  const char* col = nullptr;
  if (seq < 0 || static_cast<uint64_t>(seq) != e->seq) {
    col = "seq";
  } else if (sqlite3_column_type(s, 1) != SQLITE_INTEGER ||
             sqlite3_column_int64(s, 1) != e->time_ns) {
    col = "time_ns";
  } else if (!text_equals(s, 2, e->session_id)) {
    col = "session_id";
  } else if (!text_equals(s, 3, e->type)) {
    col = "type";
  } else if (!text_equals(s, 4, e->sub)) {
    col = "sub";
  } else if (!text_equals(s, 5, e->resource)) {
    col = "resource";
  } else if (!text_equals(s, 7, e->hash)) {
    col = "hash";
  }
  if (col) return tampered(seq, std::string("indexed column ") + col + " differs from record");
  return std::move(*e);
}

class SqliteAuditStore final : public audit::Store {
 public:
  SqliteAuditStore(sqlite3* db, bool readonly) : db_(db), readonly_(readonly) {}
  ~SqliteAuditStore() override {
    // Statements first: sqlite3_close_v2 would otherwise defer closing until they are finalized.
    insert_.reset();
    begin_.reset();
    commit_.reset();
    rollback_.reset();
    last_.reset();
    sqlite3_close_v2(db_);
  }

  Status prepare_all() {
    std::string sel = std::string("SELECT ") + kColumns + " FROM audit_events ";
    auto last = prepare(db_, sel + "ORDER BY seq DESC LIMIT 1");
    if (!last.ok()) return last.error();
    last_ = std::move(*last);
    if (readonly_) return ok_status();
    auto ins = prepare(db_, std::string("INSERT INTO audit_events (") + kColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    auto begin = prepare(db_, "BEGIN IMMEDIATE");
    auto commit = prepare(db_, "COMMIT");
    auto rollback = prepare(db_, "ROLLBACK");
    for (auto* r : {&ins, &begin, &commit, &rollback}) {
      if (!r->ok()) return r->error();
    }
    insert_ = std::move(*ins);
    begin_ = std::move(*begin);
    commit_ = std::move(*commit);
    rollback_ = std::move(*rollback);
    return ok_status();
  }

  Status append(const std::vector<Event>& batch) override {
    if (readonly_) return make_error("store", "audit store opened read-only");
    if (batch.empty()) return ok_status();
    if (!step_done(begin_.get())) return db_error(db_, "begin");
    Status st = insert_all(batch);
    if (st.ok() && !step_done(commit_.get())) st = db_error(db_, "commit");
    if (!st.ok() && !sqlite3_get_autocommit(db_)) step_done(rollback_.get());
    return st;
  }

  Result<std::optional<Event>> last() override {
    sqlite3_stmt* s = last_.get();
    int rc = sqlite3_step(s);
    Result<std::optional<Event>> out = std::optional<Event>();
    if (rc == SQLITE_ROW) {
      auto e = read_row(s);
      if (e.ok()) {
        out = std::optional<Event>(std::move(*e));
      } else {
        out = e.error();
      }
    } else if (rc != SQLITE_DONE) {
      out = db_error(db_, "read last audit record");
    }
    sqlite3_reset(s);
    return out;
  }

  Status scan(uint64_t from, const std::function<bool(const Event&)>& fn) override {
    // from == 0 means every row, including any (forged) seq <= 0, so verify sees them.
    std::string sql = std::string("SELECT ") + kColumns + " FROM audit_events ";
    if (from > 0) sql += "WHERE seq >= ?1 ";
    sql += "ORDER BY seq";
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      return db_error(db_, "prepare scan");
    }
    Stmt s(raw);
    if (from > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return ok_status();
    if (from > 0) sqlite3_bind_int64(raw, 1, static_cast<int64_t>(from));
    for (;;) {
      int rc = sqlite3_step(raw);
      if (rc == SQLITE_DONE) return ok_status();
      if (rc != SQLITE_ROW) return db_error(db_, "scan audit records");
      auto e = read_row(raw);
      if (!e.ok()) return e.error();
      if (!fn(*e)) return ok_status();
    }
  }

 private:
  bool step_done(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE;
  }

  Status insert_all(const std::vector<Event>& batch) {
    sqlite3_stmt* s = insert_.get();
    for (const Event& e : batch) {
      if (e.seq == 0 || e.seq > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return make_error("store", "audit seq out of range: " + std::to_string(e.seq));
      }
      // Locals outlive the step, so SQLITE_STATIC (no copy) is safe.
      std::string record = audit::to_json_line(e);
      std::string cols[] = {col_copy(e.session_id), col_copy(e.type), col_copy(e.sub),
                            col_copy(e.resource)};
      std::string hash = col_copy(e.hash);
      sqlite3_bind_int64(s, 1, static_cast<int64_t>(e.seq));
      sqlite3_bind_int64(s, 2, e.time_ns);
      for (int i = 0; i < 4; ++i) {
        sqlite3_bind_text(s, 3 + i, cols[i].data(), static_cast<int>(cols[i].size()),
                          SQLITE_STATIC);
      }
      sqlite3_bind_text(s, 7, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
      sqlite3_bind_text(s, 8, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
      int rc = sqlite3_step(s);
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      if (rc != SQLITE_DONE) {
        return db_error(db_, "insert audit record seq " + std::to_string(e.seq));
      }
    }
    return ok_status();
  }

  sqlite3* db_;
  bool readonly_;
  Stmt insert_, begin_, commit_, rollback_, last_;
};

Result<int> user_version(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db, "read schema version");
  }
  Stmt s(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) return db_error(db, "read schema version");
  return sqlite3_column_int(raw, 0);
}

Status set_journal_wal(sqlite3* db, bool in_memory) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db, "journal_mode");
  }
  Stmt s(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) return db_error(db, "journal_mode");
  std::string mode(reinterpret_cast<const char*>(sqlite3_column_text(raw, 0)));
  if (mode != "wal" && !in_memory) {
    return make_error("store", "could not enable WAL journal (got " + mode + ")");
  }
  return ok_status();
}

// Creates the schema on a new file, or checks the version of an existing one, in one write
// transaction so two processes opening a new file at once cannot both create it.
Status init_schema(sqlite3* db) {
  if (auto st = exec(db, "BEGIN IMMEDIATE"); !st.ok()) return st;
  auto fail = [&](Error e) -> Status {
    (void)exec(db, "ROLLBACK");  // best effort: the original error is what matters
    return e;
  };
  auto v = user_version(db);
  if (!v.ok()) return fail(v.error());
  if (*v > kSqliteSchemaVersion) {
    return fail(make_error("store", "audit store schema version " + std::to_string(*v) +
                                        " is newer than this phigate supports (" +
                                        std::to_string(kSqliteSchemaVersion) + ")"));
  }
  if (*v == 0) {
    static constexpr const char* kSchema =
        "CREATE TABLE IF NOT EXISTS audit_events ("
        " seq INTEGER PRIMARY KEY, time_ns INTEGER, session_id TEXT, type TEXT, sub TEXT,"
        " resource TEXT, record TEXT NOT NULL, hash TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS audit_events_session ON audit_events(session_id);"
        "CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events(time_ns);"
        "CREATE INDEX IF NOT EXISTS audit_events_sub ON audit_events(sub);"
        "PRAGMA user_version = 1;";
    static_assert(kSqliteSchemaVersion == 1, "add a migration step and update kSchema");
    if (auto st = exec(db, kSchema); !st.ok()) return fail(st.error());
  }
  return exec(db, "COMMIT");
}

Result<std::unique_ptr<audit::Store>> open_impl(const std::string& path, const std::string& sync,
                                                bool readonly) {
  const bool in_memory = path == ":memory:";
  if (!readonly && sync != "normal" && sync != "full") {
    return make_error("config", "audit sync must be \"normal\" or \"full\", got \"" + sync + "\"");
  }
  std::error_code ec;
  if (readonly && !std::filesystem::exists(path, ec)) {
    return make_error("not_found", "no audit store at " + path);
  }
  if (!readonly && !in_memory) {
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::create_directories(parent, ec) && ec) {
      return make_error("store", "cannot create " + parent.string() + ": " + ec.message());
    }
  }
  // NOMUTEX: the connection is confined to one thread at a time (see header), so SQLite's own
  // per-connection mutex would only add cost.
  int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error e = make_error("store", "open " + path + ": " + (db ? sqlite3_errmsg(db) : "no memory"));
    sqlite3_close_v2(db);
    return e;
  }
  auto store = std::make_unique<SqliteAuditStore>(db, readonly);  // owns db from here on
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (!readonly) {
    if (auto st = set_journal_wal(db, in_memory); !st.ok()) return st.error();
    if (auto st =
            exec(db, sync == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        !st.ok()) {
      return st.error();
    }
    if (auto st = init_schema(db); !st.ok()) return st.error();
  } else {
    auto v = user_version(db);
    if (!v.ok()) return v.error();
    if (*v == 0) return make_error("store", path + " is not an initialized audit store");
    if (*v > kSqliteSchemaVersion) {
      return make_error("store", "audit store schema version " + std::to_string(*v) +
                                     " is newer than this phigate supports");
    }
  }
  if (auto st = store->prepare_all(); !st.ok()) return st.error();
  return std::unique_ptr<audit::Store>(std::move(store));
}

}  // namespace

Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store(const std::string& path,
                                                              const std::string& sync) {
  return open_impl(path, sync, /*readonly=*/false);
}

Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store_readonly(const std::string& path) {
  return open_impl(path, "normal", /*readonly=*/true);
}

}  // namespace phigate::store
