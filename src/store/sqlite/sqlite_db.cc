#include "store/sqlite/sqlite_db.h"

#include <algorithm>
#include <bit>
#include <filesystem>
#include <limits>
#include <system_error>

#include "audit/canonical.h"
#include "audit/record_view.h"
#include "store/sqlite/sqlite_sessions.h"

namespace phigate::store::sqlite_detail {

Error db_error(sqlite3* db, std::string_view what) {
  return make_error("store", std::string(what) + ": " + sqlite3_errmsg(db));
}

Status exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return db_error(db, sql);
  return ok_status();
}

Result<Stmt> prepare(sqlite3* db, const std::string& sql, bool persistent) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql.c_str(), -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s,
                         nullptr) != SQLITE_OK) {
    return db_error(db, "prepare");
  }
  return Stmt(s);
}

Result<std::optional<int64_t>> query_int(sqlite3* db, const char* sql) {
  auto s = prepare(db, sql, false);
  if (!s.ok()) return s.error();
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<int64_t>();
  if (rc != SQLITE_ROW) return db_error(db, sql);
  if (sqlite3_column_type(s->get(), 0) == SQLITE_NULL) return std::optional<int64_t>();
  return std::optional<int64_t>(sqlite3_column_int64(s->get(), 0));
}

Result<bool> has_table(sqlite3* db, std::string_view name) {
  auto s =
      prepare(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", false);
  if (!s.ok()) return s.error();
  sqlite3_bind_text(s->get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
  if (sqlite3_step(s->get()) != SQLITE_ROW) return db_error(db, "look up table");
  return sqlite3_column_int(s->get(), 0) > 0;
}

namespace {

using audit::Event;

constexpr int kBusyTimeoutMs = 5000;
constexpr const char* kColumns = "seq, time_ns, session_id, type, sub, resource, record, hash";

Error tampered(int64_t seq, std::string_view what) {
  return make_error("tampered", "seq " + std::to_string(seq) + ": " + std::string(what));
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
Result<Event> read_row(sqlite3_stmt* s, std::string_view* record_out) {
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
  // The column text stays valid until the next step of this statement.
  if (record_out) {
    *record_out = std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(s, 6)),
                                   static_cast<size_t>(sqlite3_column_bytes(s, 6)));
  }
  return std::move(*e);
}

constexpr const char* kCheckpointSchema =
    "CREATE TABLE IF NOT EXISTS audit_checkpoints (tree_size INTEGER PRIMARY KEY,"
    " record TEXT NOT NULL, frontier BLOB);";

// True if `table` has a column `column` (false also when the table does not exist).
Result<bool> has_column(sqlite3* db, std::string_view table, std::string_view column) {
  sqlite3_stmt* raw = nullptr;
  std::string sql = "PRAGMA table_info(" + std::string(table) + ")";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db, "read columns of " + std::string(table));
  }
  Stmt s(raw);
  for (;;) {
    int rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW) return db_error(db, "read columns of " + std::string(table));
    if (sqlite3_column_type(raw, 1) == SQLITE_TEXT &&
        reinterpret_cast<const char*>(sqlite3_column_text(raw, 1)) == column) {
      return true;
    }
  }
}

// audit_checkpoints.frontier came after the table: files written before it get the column here.
// Additive (NULL for the older rows, which simply carry no frontier), so no user_version bump: an
// older phigate reads and writes (tree_size, record) as before and leaves it NULL.
Status add_frontier_column(sqlite3* db) {
  auto has = has_column(db, "audit_checkpoints", "frontier");
  if (!has.ok()) return has.error();
  if (*has) return ok_status();
  return exec(db, "ALTER TABLE audit_checkpoints ADD COLUMN frontier BLOB");
}

// No secondary indexes on audit_events. Every reader (verify, export, sessions, replay, reports,
// retention, the Log's tail check) goes by seq, the primary key, and nothing queries the copied
// columns through an index, while each index cost the background ingest ~0.6 us per record (a
// fifth of it). Stores created by earlier versions carry the session index (the first ones also
// time and sub); the writer drops them on open. No user_version bump: a version-1 reader never
// used them, so older and newer binaries keep reading each other's files.
constexpr const char* kDropUnusedIndexes =
    "DROP INDEX IF EXISTS audit_events_session;"
    "DROP INDEX IF EXISTS audit_events_time;"
    "DROP INDEX IF EXISTS audit_events_sub;";

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
  if (*v > kSchemaVersion) {
    return fail(make_error("store", "audit store schema version " + std::to_string(*v) +
                                        " is newer than this phigate supports (" +
                                        std::to_string(kSchemaVersion) + ")"));
  }
  if (*v == 0) {
    static constexpr const char* kSchema =
        "CREATE TABLE IF NOT EXISTS audit_events ("
        " seq INTEGER PRIMARY KEY, time_ns INTEGER, session_id TEXT, type TEXT, sub TEXT,"
        " resource TEXT, record TEXT NOT NULL, hash TEXT NOT NULL);"
        "PRAGMA user_version = 1;";
    static_assert(kSchemaVersion == 1, "add a migration step and update kSchema");
    if (auto st = exec(db, kSchema); !st.ok()) return fail(st.error());
  }
  if (auto st = exec(db, kDropUnusedIndexes); !st.ok()) return fail(st.error());
  // Checkpoints came later but need no migration: the table is additive, so it is created on any
  // version-1 file (an older phigate simply ignores it) and user_version stays 1.
  if (auto st = exec(db, kCheckpointSchema); !st.ok()) return fail(st.error());
  if (auto st = add_frontier_column(db); !st.ok()) return fail(st.error());
  return exec(db, "COMMIT");
}

}  // namespace

std::string_view column_text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s, i)))
           : std::string_view();
}

RowView row_view(sqlite3_stmt* s) {
  return RowView{
      sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), column_text(s, 2), column_text(s, 3),
      column_text(s, 4),          column_text(s, 5),          column_text(s, 6), {}};
}

std::string col_copy(const std::string& s) {
  return audit::is_valid_utf8(s) ? s : audit::sanitize_utf8(s);
}

Result<std::unique_ptr<AuditTable>> AuditTable::open(const std::string& path,
                                                     const std::string& sync, bool readonly) {
  const bool in_memory = path == ":memory:";
  if (!readonly && !in_memory) {
    std::error_code ec;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::create_directories(parent, ec) && ec) {
      return make_error("store", "cannot create " + parent.string() + ": " + ec.message());
    }
  }
  // NOMUTEX: the connection is confined to one thread at a time (the store serializes its users),
  // so SQLite's own per-connection mutex would only add cost.
  int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Error e = make_error("store", "open " + path + ": " + (db ? sqlite3_errmsg(db) : "no memory"));
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<AuditTable> t(new AuditTable(db, readonly));  // owns db from here on
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (!readonly) {
    // 64 KiB pages (SQLite's largest): rows only ever go at the right edge, so what a page costs
    // is per byte and per page (WAL frame header and checksum start, checkpoint pread/pwrite,
    // splits); ~650-byte records fill them ~100 at a time. Measured on the ingest thread: 16 KiB
    // -> 64 KiB cut ~14% per record (after the indexes went), 4 KiB -> 16 KiB ~15% before that.
    // The price is a 64 KiB WAL frame per commit for the right-edge page, which matters only at
    // a few records per commit, where the total is tiny. Only takes effect on a new, empty file
    // (stores created earlier keep their page size), and only before WAL mode is on.
    if (auto st = exec(db, "PRAGMA page_size=65536"); !st.ok()) return st.error();
    if (auto st = set_journal_wal(db, in_memory); !st.ok()) return st.error();
    if (auto st =
            exec(db, sync == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        !st.ok()) {
      return st.error();
    }
    // Rows arrive in large background transactions (see sqlite_store.cc): a page cache that
    // holds the hot right edge of the table and its indexes saves re-reading pages from the OS.
    if (auto st = exec(db, "PRAGMA cache_size=-8192"); !st.ok()) return st.error();
    if (auto st = init_schema(db); !st.ok()) return st.error();
  } else {
    auto v = user_version(db);
    if (!v.ok()) return v.error();
    if (*v == 0) return make_error("store", path + " is not an initialized audit store");
    if (*v > kSchemaVersion) {
      return make_error("store", "audit store schema version " + std::to_string(*v) +
                                     " is newer than this phigate supports");
    }
  }
  if (auto st = t->prepare_all(); !st.ok()) return st.error();
  if (!readonly) {
    // Derived data kept next to the records (sqlite_sessions.h); builds or catches up here.
    auto sessions = SessionIndexWriter::open(db);
    if (!sessions.ok()) return sessions.error();
    t->sessions_ = std::move(*sessions);
  }
  return t;
}

AuditTable::AuditTable(sqlite3* db, bool readonly) : db_(db), readonly_(readonly) {}

AuditTable::~AuditTable() {
  // Statements first: sqlite3_close_v2 would otherwise defer closing until they are finalized.
  sessions_.reset();
  insert_.reset();
  begin_.reset();
  commit_.reset();
  rollback_.reset();
  last_.reset();
  sqlite3_close_v2(db_);
}

Status AuditTable::prepare_all() {
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

bool AuditTable::step_done(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE;
}

Status AuditTable::insert(const std::vector<RowView>& rows) {
  if (readonly_) return make_error("store", "audit store opened read-only");
  if (rows.empty()) return ok_status();
  if (!step_done(begin_.get())) return db_error(db_, "begin");
  Status st = ok_status();
  sqlite3_stmt* s = insert_.get();
  auto text = [&](int i, std::string_view v) {
    // The views outlive the step, so SQLITE_STATIC (no copy) is safe.
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  for (const RowView& r : rows) {
    if (r.seq <= 0) {
      st = make_error("store", "audit seq out of range: " + std::to_string(r.seq));
      break;
    }
    sqlite3_bind_int64(s, 1, r.seq);
    sqlite3_bind_int64(s, 2, r.time_ns);
    text(3, r.session_id);
    text(4, r.type);
    text(5, r.sub);
    text(6, r.resource);
    text(7, r.record);
    text(8, r.hash);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      st = db_error(db_, "insert audit record seq " + std::to_string(r.seq));
      break;
    }
  }
  sqlite3_clear_bindings(s);
  if (st.ok() && sessions_) st = sessions_->add(rows);
  if (st.ok() && !step_done(commit_.get())) st = db_error(db_, "commit");
  if (!st.ok() && !sqlite3_get_autocommit(db_)) step_done(rollback_.get());
  return st;
}

Result<std::optional<Event>> AuditTable::last() {
  sqlite3_stmt* s = last_.get();
  int rc = sqlite3_step(s);
  Result<std::optional<Event>> out = std::optional<Event>();
  if (rc == SQLITE_ROW) {
    auto e = read_row(s, nullptr);
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

Status AuditTable::scan(uint64_t from,
                        const std::function<bool(const Event&, std::string_view)>& fn) {
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
    std::string_view record;
    auto e = read_row(raw, &record);
    if (!e.ok()) return e.error();
    if (!fn(*e, record)) return ok_status();
  }
}

Status AuditTable::scan_session(uint64_t from, uint64_t to, const std::string& session_id,
                                const std::function<bool(const Event&)>& fn) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (from > kMax || from > to) return ok_status();
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM audit_events WHERE seq >= ?1 AND seq <= ?2 AND session_id = ?3"
                    " ORDER BY seq";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db_, "prepare scan");
  }
  Stmt s(raw);
  sqlite3_bind_int64(raw, 1, static_cast<int64_t>(from));
  sqlite3_bind_int64(raw, 2, static_cast<int64_t>(std::min(to, kMax)));
  sqlite3_bind_text(raw, 3, session_id.data(), static_cast<int>(session_id.size()), SQLITE_STATIC);
  for (;;) {
    int rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) return ok_status();
    if (rc != SQLITE_ROW) return db_error(db_, "scan audit records");
    auto e = read_row(raw, nullptr);
    if (!e.ok()) return e.error();
    if (!fn(*e)) return ok_status();
  }
}

Status AuditTable::scan_lines(uint64_t from,
                              const std::function<bool(uint64_t, std::string_view)>& fn) {
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
  audit::RecordView v;
  for (;;) {
    int rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) return ok_status();
    if (rc != SQLITE_ROW) return db_error(db_, "scan audit records");
    int64_t seq = sqlite3_column_int64(raw, 0);
    if (sqlite3_column_type(raw, 6) != SQLITE_TEXT) return tampered(seq, "record is missing");
    std::string_view record = column_text(raw, 6);
    if (!audit::parse_record_view(record, v)) {
      return tampered(seq, "record is not a well-formed audit record");
    }
    if (v.escaped) {
      // A field the columns copy holds JSON escapes: compare against the decoded record (rare:
      // control characters or quotes in a session id, type, sub or resource).
      if (auto e = read_row(raw, nullptr); !e.ok()) return e.error();
    } else {
      const char* bad = nullptr;
      auto text_is = [&](int i, std::string_view want) {
        return sqlite3_column_type(raw, i) == SQLITE_TEXT && column_text(raw, i) == want;
      };
      if (sqlite3_column_type(raw, 1) != SQLITE_INTEGER ||
          sqlite3_column_int64(raw, 1) != v.time_ns) {
        bad = "time_ns";
      } else if (!text_is(2, v.session_id)) {
        bad = "session_id";
      } else if (!text_is(3, v.type)) {
        bad = "type";
      } else if (!text_is(4, v.sub)) {
        bad = "sub";
      } else if (!text_is(5, v.resource)) {
        bad = "resource";
      } else if (!text_is(7, v.hash)) {
        bad = "hash";
      }
      if (bad) return tampered(seq, std::string("indexed column ") + bad + " differs from record");
    }
    // A negative row key is a forged row; report it as seq 0 so the verifier names it as
    // out of place rather than wrapping around.
    if (!fn(seq < 0 ? 0 : static_cast<uint64_t>(seq), record)) return ok_status();
  }
}

Status AuditTable::insert_checkpoint(const audit::Checkpoint& c,
                                     const std::vector<Sha256>* frontier) {
  if (readonly_) return make_error("store", "audit store opened read-only");
  if (c.tree_size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return make_error("store", "checkpoint tree_size out of range");
  }
  // Plain INSERT, not INSERT OR REPLACE: a checkpoint already stored for this tree_size is
  // evidence and must never be overwritten.
  sqlite3_stmt* raw = nullptr;
  // The frontier goes in the same row, so a checkpoint and its frontier are stored (or not)
  // together. NULL without one.
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO audit_checkpoints (tree_size, record, frontier)"
                         " VALUES (?1, ?2, ?3)",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db_, "prepare checkpoint insert");
  }
  Stmt s(raw);
  std::string record = audit::checkpoint_to_json(c);
  sqlite3_bind_int64(raw, 1, static_cast<int64_t>(c.tree_size));
  sqlite3_bind_text(raw, 2, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
  std::string blob;  // the hashes back to back, largest subtree first
  if (frontier) {
    for (const Sha256& h : *frontier)
      blob.append(reinterpret_cast<const char*>(h.data()), h.size());
    // A zero-length blob (tree_size 0) would read back as NULL; bind it as an empty blob.
    sqlite3_bind_blob(raw, 3, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  }
  if (sqlite3_step(raw) != SQLITE_DONE) {
    return db_error(db_, "insert checkpoint tree_size " + std::to_string(c.tree_size));
  }
  return ok_status();
}

Result<uint64_t> AuditTable::newest_checkpoint_size() {
  // A read-only opener of a file older than checkpoints finds no table: no checkpoint.
  auto has = has_table(db_, "audit_checkpoints");
  if (!has.ok()) return has.error();
  if (!*has) return uint64_t{0};
  // max() over the INTEGER PRIMARY KEY reads one b-tree edge, not the table.
  auto size = query_int(db_, "SELECT max(tree_size) FROM audit_checkpoints");
  if (!size.ok()) return size.error();
  return static_cast<uint64_t>(std::max<int64_t>(size->value_or(0), 0));
}

Result<std::vector<audit::Checkpoint>> AuditTable::checkpoints() {
  std::vector<audit::Checkpoint> out;
  // A store written before checkpoints existed has no table (a read-only opener cannot create
  // it): that simply means no checkpoints.
  auto has = has_table(db_, "audit_checkpoints");
  if (!has.ok()) return has.error();
  if (!*has) return out;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT tree_size, record FROM audit_checkpoints ORDER BY tree_size",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db_, "prepare checkpoint scan");
  }
  Stmt s(raw);
  for (;;) {
    int rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) return out;
    if (rc != SQLITE_ROW) return db_error(db_, "scan checkpoints");
    int64_t size = sqlite3_column_int64(raw, 0);
    auto bad = [&](std::string_view what) {
      return make_error("tampered",
                        "checkpoint tree_size " + std::to_string(size) + ": " + std::string(what));
    };
    if (sqlite3_column_type(raw, 1) != SQLITE_TEXT) return bad("record is missing");
    std::string_view text(reinterpret_cast<const char*>(sqlite3_column_text(raw, 1)),
                          static_cast<size_t>(sqlite3_column_bytes(raw, 1)));
    auto c = audit::checkpoint_from_json(text);
    if (!c) return bad("record is not a well-formed checkpoint");
    // The key column is outside the signature; it must agree with the signed tree_size.
    if (size < 0 || static_cast<uint64_t>(size) != c->tree_size) {
      return bad("tree_size column differs from the record");
    }
    out.push_back(std::move(*c));
  }
}

Result<std::optional<audit::CheckpointFrontier>> AuditTable::newest_checkpoint_frontier() {
  using Out = std::optional<audit::CheckpointFrontier>;
  // Read-only openers of an older file may find no table or no frontier column: no frontier.
  auto has = has_column(db_, "audit_checkpoints", "frontier");
  if (!has.ok()) return has.error();
  if (!*has) return Out();
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT tree_size, record, frontier FROM audit_checkpoints"
                         " WHERE frontier IS NOT NULL ORDER BY tree_size DESC LIMIT 1",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return db_error(db_, "prepare checkpoint frontier read");
  }
  Stmt s(raw);
  int rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return Out();
  if (rc != SQLITE_ROW) return db_error(db_, "read checkpoint frontier");
  int64_t size = sqlite3_column_int64(raw, 0);
  auto bad = [&](std::string_view what) {
    return make_error("tampered",
                      "checkpoint tree_size " + std::to_string(size) + ": " + std::string(what));
  };
  if (sqlite3_column_type(raw, 1) != SQLITE_TEXT) return bad("record is missing");
  auto c = audit::checkpoint_from_json(
      std::string_view(reinterpret_cast<const char*>(sqlite3_column_text(raw, 1)),
                       static_cast<size_t>(sqlite3_column_bytes(raw, 1))));
  if (!c) return bad("record is not a well-formed checkpoint");
  if (size < 0 || static_cast<uint64_t>(size) != c->tree_size) {
    return bad("tree_size column differs from the record");
  }
  if (sqlite3_column_type(raw, 2) != SQLITE_BLOB) return bad("frontier is not a blob");
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(raw, 2));
  const auto n = static_cast<size_t>(sqlite3_column_bytes(raw, 2));
  const auto want = static_cast<size_t>(std::popcount(c->tree_size));
  if (n != want * sizeof(Sha256)) {
    return bad("frontier holds " + std::to_string(n) + " bytes, not " + std::to_string(want) +
               " hashes");
  }
  audit::CheckpointFrontier out{std::move(*c), std::vector<Sha256>(want)};
  for (size_t i = 0; i < want; ++i) {
    std::copy(p + i * sizeof(Sha256), p + (i + 1) * sizeof(Sha256), out.frontier[i].begin());
  }
  return Out(std::move(out));
}

}  // namespace phigate::store::sqlite_detail
