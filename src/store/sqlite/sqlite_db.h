#pragma once
// The SQLite side of the audit store: one connection, the audit_events table and its row checks.
// sqlite_store.cc puts the journal in front of it; nothing else uses this header.
#include <sqlite3.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/anchor.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/store.h"
#include "common/result.h"

namespace phigate::store::sqlite_detail {

inline constexpr int kSchemaVersion = 1;

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// One row as inserted: the record line plus the copies of its fields kept in indexed columns
// (already sanitized, i.e. equal to what the record holds).
struct RowView {
  int64_t seq = 0;
  int64_t time_ns = 0;
  std::string_view session_id, type, sub, resource, record, hash;
  // What the session index counts for this record (sqlite_sessions.h summary_bits), taken from
  // the Event when there is one so the index never re-reads the line; 0: not known, read it.
  uint8_t summary = 0;
};

class SessionIndexWriter;  // sqlite_sessions.h

// Column i of the current row as text ("" for NULL); valid until the statement steps again.
std::string_view column_text(sqlite3_stmt* s, int i);
// The current row of a `SELECT seq, time_ns, session_id, type, sub, resource, record` as a RowView
// (hash and summary left empty); its views live as long as column_text's.
RowView row_view(sqlite3_stmt* s);

// Connection helpers shared by the audit table, the session index and retention.
Error db_error(sqlite3* db, std::string_view what);  // Error{"store", what + sqlite's message}
Status exec(sqlite3* db, const char* sql);
// persistent: kept for the connection's life (SQLITE_PREPARE_PERSISTENT), not a one-off.
Result<Stmt> prepare(sqlite3* db, const std::string& sql, bool persistent = true);
// The first column of a single-row query; nullopt for no row or NULL.
Result<std::optional<int64_t>> query_int(sqlite3* db, const char* sql);
// Tables that came later (checkpoints, anchors, the session index) are absent from older files,
// which a read-only opener cannot change: readers ask first.
Result<bool> has_table(sqlite3* db, std::string_view name);

// Indexed copies hold what the record holds, i.e. the sanitized text.
std::string col_copy(const std::string& s);

class AuditTable {
 public:
  // Opens (and for a writer creates, sets WAL + `sync` and migrates) the database at path.
  static Result<std::unique_ptr<AuditTable>> open(const std::string& path, const std::string& sync,
                                                  bool readonly);
  ~AuditTable();
  AuditTable(const AuditTable&) = delete;
  AuditTable& operator=(const AuditTable&) = delete;

  // Inserts rows (seq ascending) in one transaction: all or nothing. A writer also folds them into
  // the session index (sqlite_sessions.h) in that transaction.
  Status insert(const std::vector<RowView>& rows);
  // The row with the highest seq, checked like scan() checks rows.
  Result<std::optional<audit::Event>> last();
  // Rows with seq >= from (from == 0: every row, forged seq <= 0 included) in seq order, each
  // checked: an unparsable record, a record not in canonical form or an indexed column that differs
  // from its record is Error{"tampered", "seq N: ..."}. fn gets the parsed record and its stored
  // text; it returns false to stop.
  Status scan(uint64_t from,
              const std::function<bool(const audit::Event&, std::string_view record)>& fn);
  // scan() of the rows with from <= seq <= to whose session_id column is `session_id` (replay
  // through the session index: SQLite skips the other sessions' rows unparsed; a forged column
  // is for `audit verify` to find, as for every reader that trusts the index).
  Status scan_session(uint64_t from, uint64_t to, const std::string& session_id,
                      const std::function<bool(const audit::Event&)>& fn);
  // scan() without building Events: fn gets the row's seq and its record text (valid until fn
  // returns). Each row's record must be a structurally valid record line (audit::RecordView) and
  // its indexed columns must equal the record's fields (else Error{"tampered"}); whether the line
  // hashes right and whether its own seq equals the row's is left to the verifier.
  Status scan_lines(uint64_t from, const std::function<bool(uint64_t, std::string_view)>& fn);
  // Table audit_checkpoints(tree_size INTEGER PRIMARY KEY, record TEXT, frontier BLOB): record is
  // audit::checkpoint_to_json, frontier the Merkle frontier after tree_size leaves as
  // popcount(tree_size) 32-byte hashes back to back (NULL: none; rows older than the column have
  // none). Insert is its own transaction; a duplicate tree_size fails.
  Status insert_checkpoint(const audit::Checkpoint& c,
                           const std::vector<Sha256>* frontier = nullptr);
  // The newest row with a frontier (audit::Store::newest_checkpoint_frontier).
  Result<std::optional<audit::CheckpointFrontier>> newest_checkpoint_frontier();
  // Tree_size ascending; Error{"tampered", "checkpoint tree_size N: ..."} for a malformed row.
  Result<std::vector<audit::Checkpoint>> checkpoints();
  // max(tree_size) of audit_checkpoints, 0 when empty or absent (a file older than the table).
  Result<uint64_t> newest_checkpoint_size();
  // The newest retention anchor (sqlite_retention.cc), nullopt if nothing was pruned.
  Result<std::optional<audit::Anchor>> anchor();
  // The connection, for the session index readers (sqlite_sessions.h); same threading rules.
  sqlite3* handle() { return db_; }

 private:
  AuditTable(sqlite3* db, bool readonly);  // out of line: sessions_ is incomplete here
  Status prepare_all();
  bool step_done(sqlite3_stmt* s);

  sqlite3* db_;
  bool readonly_;
  Stmt insert_, begin_, commit_, rollback_, last_;
  std::unique_ptr<SessionIndexWriter> sessions_;  // writers only
};

}  // namespace phigate::store::sqlite_detail
