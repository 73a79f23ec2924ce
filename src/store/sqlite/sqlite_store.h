#pragma once
// Embedded default store: SQLite in WAL mode under data_dir. Holds the audit log (one canonical
// JSON record per row plus indexed columns for queries).
//
// Schema (PRAGMA user_version = kSqliteSchemaVersion; bump it and migrate on open when it changes):
//   audit_events(seq INTEGER PRIMARY KEY, time_ns INTEGER, session_id TEXT, type TEXT, sub TEXT,
//                resource TEXT, record TEXT NOT NULL, hash TEXT NOT NULL)
//   indexes on session_id, time_ns, sub.
// `record` (audit::to_json_line) is the source of truth; the other columns are copies for queries.
// scan() and last() re-check every row: an unparsable record, a record not in canonical form or a
// column that differs from its record is reported as Error{"tampered", "seq N: ..."}, so
// audit::verify_chain names the seq. SQLite failures are Error{"store", ...}.
//
// Threading: each store owns one sqlite3 connection opened with SQLITE_OPEN_NOMUTEX, so one store
// object must be used by one thread at a time (the audit Log only touches it from its writer
// thread, plus open() before that thread starts). Readers elsewhere (CLI, admin API) open their own
// store, typically read-only; WAL lets them read while the gateway writes, from any process.
#include <memory>
#include <string>

#include "audit/store.h"

namespace phigate::store {

inline constexpr int kSqliteSchemaVersion = 1;

// Creates the file and its parent directories if needed.
// sync: "normal" (WAL, survives a process crash: kill -9) or "full" (fsync per commit: power loss).
Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store(const std::string& path,
                                                              const std::string& sync = "normal");

// For offline readers (`phigate audit verify|export`, replay): never creates or migrates anything;
// fails with "not_found" if the file does not exist. append() returns an error.
Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store_readonly(const std::string& path);

}  // namespace phigate::store
