#pragma once
// Embedded default store: SQLite in WAL mode under data_dir, fronted by an append-only journal.
// Holds the audit log (one canonical JSON record per row plus indexed columns for queries).
//
// Schema (PRAGMA user_version = kSqliteSchemaVersion; bump it and migrate on open when it changes):
//   audit_events(seq INTEGER PRIMARY KEY, time_ns INTEGER, session_id TEXT, type TEXT, sub TEXT,
//                resource TEXT, record TEXT NOT NULL, hash TEXT NOT NULL)
//   no secondary indexes: every reader goes by seq (stores from earlier versions had indexes on
//   session_id, time_ns, sub; the writer drops them on open, see sqlite_db.cc).
//   audit_checkpoints(tree_size INTEGER PRIMARY KEY, record TEXT NOT NULL, frontier BLOB): signed
//                checkpoints (audit::checkpoint_to_json), written synchronously, never replaced,
//                with the Merkle frontier the writer resumes from on restart (NULL in rows written
//                before the column existed); table and column added without a version bump
//                because both are additive (the writer adds the column to older files on open).
//   audit_sessions, audit_sessions_meta: the session index (sqlite_sessions.h), derived from the
//                records for `sessions list`/`replay`, kept in the ingest transaction; additive, no
//                version bump; not evidence (`audit verify` never reads it).
// `record` (audit::to_json_line) is the source of truth; the other columns are copies for queries.
// scan() and last() re-check every row: an unparsable record, a record not in canonical form or a
// column that differs from its record is reported as Error{"tampered", "seq N: ..."}, so
// audit::verify_chain names the seq. SQLite failures are Error{"store", ...}.
//
// Write path (why: a SQLite transaction per small group commit cost ~20 us of CPU per record):
// append() copies the batch's JSONL lines into the journal ("<path>-audit-<seq>.jsonl", see
// journal.h): a preallocated segment mapped MAP_SHARED whose pages the ingest thread faulted in
// beforehand, so the copy costs no syscall, allocation or page fault (+ fdatasync with sync
// "full"), and returns: that is the durability point (measured: 1.5 -> 0.75 us per record on the
// appending thread vs one write() per batch; the ingest thread pays ~0.4 us for preparing pages). A
// background thread inserts the records into SQLite in large transactions (every ingest_interval or
// ingest_records) and deletes journal files once all their records are in. Opening for writing
// first ingests whatever a crashed process left in the journal (a torn final line, never
// acknowledged, is cut off and reported) and refuses a journal that does not continue the chain.
// Closing ingests everything and removes the journal.
//
// Readers: scan() and last() of a read-only store read the journal and then SQLite, and present
// SQLite's rows followed by the journal records beyond them, so a reader in another process sees
// every record acknowledged before it started even if it is not in SQLite yet. Journal records
// that are also in SQLite must be identical to the stored row (Error{"tampered"} otherwise). On the
// writing store itself, scan() and last() first wait for everything appended to be ingested.
//
// Threading: one store object must be used by one thread at a time (the audit Log only touches it
// from its writer thread, plus open() before that thread starts); its ingest thread is internal.
// Readers elsewhere (CLI, admin API) open their own store, typically read-only, from any process.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "audit/store.h"

namespace phigate::store {

inline constexpr int kSqliteSchemaVersion = 1;

struct SqliteOptions {
  // "normal": a record is durable once written to the journal (survives kill -9 of the process);
  // "full": also fdatasync'd, and SQLite commits are fsync'd (survives power loss).
  std::string sync = "normal";
  // Ingest into SQLite once this much time passed since the first pending record, or as soon as
  // this many are pending: larger transactions amortize SQLite's per-commit cost.
  std::chrono::milliseconds ingest_interval{50};
  size_t ingest_records = 5000;
  // Journal segment size: a new file starts when a batch no longer fits in the current one, so
  // ingested files can go. Each segment is preallocated (and one spare prepared ahead).
  size_t journal_rotate_bytes = size_t(4) << 20;
  // false: ingest only on close/reopen (tests use it to keep records in the journal).
  bool background_ingest = true;
};

// Creates the file and its parent directories if needed.
// sync: "normal" (survives a process crash: kill -9) or "full" (fsync per commit: power loss).
Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store(const std::string& path,
                                                              const std::string& sync = "normal");
Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store(const std::string& path,
                                                              const SqliteOptions& options);

// For offline readers (`phigate audit verify|export`, replay): never creates or migrates anything
// and never touches the journal; fails with "not_found" if the file does not exist. append()
// returns an error.
Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store_readonly(const std::string& path);

}  // namespace phigate::store
