#pragma once
// The session index of the SQLite audit store: one row per session id, so `phigate sessions list`
// and `phigate replay` need not parse every record of the log (~8 us each: 16 s for 1.9M records).
//
// Tables (additive: created IF NOT EXISTS on any version-1 file, no user_version bump; an older
// phigate ignores them, and a newer one catches them up on open):
//   audit_sessions(session_id TEXT PRIMARY KEY, first_seq, last_seq, start_seq, start_ns, end_ns,
//                  last_ns, sub, issuer, task_id, workflow_id, act_sub, roles (JSON array),
//                  client_addr, client_user, resource, protocol, client_tls, upstream_tls,
//                  statements, allowed, denied, held, errors)
//     first_seq/last_seq: the session's first and last record of any type (replay's bounds);
//     start_seq: its first session_start/http_request record, 0 while it has none (not listed,
//     like audit::SessionIndex: an auth failure carries a session id but never was a session).
//     The other columns are audit::SessionSummary over the records up to the high-water mark.
//   audit_sessions_meta(id = 1, high_water, low_seq, sessions): records low_seq..high_water are
//     summarised, in `sessions` rows.
//
// DERIVED data, not evidence: audit_events and its hash chain are the log; `audit verify` checks
// them and never reads this index. The writer maintains it in the same transaction as the records
// it summarises (so it is exactly in step after a crash) and rebuilds it on open when it cannot be
// trusted: table missing or recreated, row count or low_seq (retention pruned records) different
// from its meta row, high-water beyond the newest record. Readers that find it untrustworthy fall
// back to scanning the log.
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audit/event.h"
#include "audit/session_review.h"
#include "common/result.h"
#include "store/sqlite/sqlite_db.h"

namespace phigate::store::sqlite_detail {

// A record's decision and status as the session summary counts them (RowView::summary).
inline constexpr uint8_t kSummaryKnown = 1, kSummaryAllow = 2, kSummaryHold = 4, kSummaryError = 8;
inline uint8_t summary_bits(std::string_view decision, std::string_view status) {
  return kSummaryKnown | (decision == "allow" ? kSummaryAllow : 0) |
         (decision == "hold" ? kSummaryHold : 0) | (status == "error" ? kSummaryError : 0);
}

// Writer side, owned by the writing AuditTable (one connection, one thread at a time).
class SessionIndexWriter {
 public:
  // Creates the tables if needed, rebuilds an untrustworthy index and catches it up with the
  // records beyond its high-water mark (in transactions of kCatchUpRows records).
  // `announce`: log a large build at info (a gateway's start waits for it); CLI commands print
  // JSON on stdout, where spdlog writes too, so the prune's rebuild stays at debug.
  static Result<std::unique_ptr<SessionIndexWriter>> open(sqlite3* db, bool announce = true);
  ~SessionIndexWriter();

  // Inside the caller's write transaction, after `rows` (seq ascending, continuing the log) went
  // into audit_events: folds them into the index and moves the high-water mark. A batch that does
  // not continue the high-water mark (another process pruned and the index was invalidated) leaves
  // the index alone: readers then see it as untrustworthy and the next open rebuilds it.
  Status add(const std::vector<RowView>& rows);

 private:
  // The counters of audit::SessionSummary (audit::count_session_record); end_ns 0: no end seen.
  struct Counts {
    uint64_t statements = 0, allowed = 0, denied = 0, held = 0, errors = 0;
    int64_t last_ns = 0, end_ns = 0;
    void add(std::string_view type, int64_t time_ns, uint8_t summary);
  };
  // One session's share of a batch. Strings are owned: catch-up reads rows through a statement
  // whose column text does not outlive the step.
  struct Delta {
    int64_t first_seq = 0, last_seq = 0;
    Counts all;           // every record of the batch: applies when the session started earlier
    bool starts = false;  // the batch holds its first session_start/http_request...
    int64_t start_seq = 0, start_ns = 0;
    Counts from_start;  // ...and these are the records from there on
    std::string sub, issuer, task_id, workflow_id, act_sub, roles, client_addr, client_user,
        resource, protocol, client_tls, upstream_tls;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  friend Result<bool> prune_session_index(sqlite3* db, int64_t cut);

  explicit SessionIndexWriter(sqlite3* db) : db_(db) {}
  Status prepare_statements();
  Status accumulate(const RowView& r);
  // Upserts the batch's sessions and moves the meta row to high_water (the batch began at
  // first_seq).
  Status flush(int64_t first_seq, int64_t high_water);
  Status catch_up(bool announce);

  sqlite3* db_;
  Stmt upsert_, meta_get_, meta_put_;
  std::unordered_map<std::string, Delta, Hash, std::equal_to<>> batch_;
  int64_t high_water_ = 0, low_seq_ = 0, sessions_ = 0;  // the meta row
};

// Retention (sqlite_retention.cc), inside the prune's write transaction, before it deletes the
// records with seq <= cut (record cut + 1 is in the table): updates a trustworthy index in place
// so it summarises the records that remain. Sessions whose records are all pruned lose their row;
// a session with records on both sides of the cut whose start record is kept only gets its new
// first_seq; one whose start record goes is summarised again from its remaining records, exactly
// as a rebuild would (its next session_start/http_request starts it, else it is not listed). The
// meta row moves low_seq to cut + 1 and keeps the high-water mark. Cost: a pass over the index
// rows plus the records from the cut to the last record of those restarted sessions (at most
// everything up to the high-water mark, when one that lost its start is still going); never the
// pruned records. False (nothing changed): the index was not trustworthy or does not reach the
// cut; the caller then empties it and rebuilds it after the commit.
Result<bool> prune_session_index(sqlite3* db, int64_t cut);
// Retention's fallback, inside the prune's transaction: the records the index summarised from
// are gone, so it is emptied (high-water 0). No-op on a store without an index.
Status reset_session_index(sqlite3* db);
// After that transaction committed, on the same connection: rebuilds the index in transactions
// of kCatchUpRows records, while a gateway may be writing (its ingest leaves the index alone until
// the rebuild has reached the newest record, then continues it; readers meanwhile use what is
// built and read the rest as records).
Status rebuild_session_index(sqlite3* db);

// Reader side: the index rows of started sessions and the high-water mark, read in one snapshot;
// nullopt if the store has no trustworthy index (see above).
struct SessionIndexSnapshot {
  uint64_t high_water = 0;
  std::vector<audit::SessionSummary> sessions;
};
Result<std::optional<SessionIndexSnapshot>> read_session_index(sqlite3* db);

// One session's record range [first_seq, last_seq] among the records up to high_water (nullopt
// range: no record of it up to there); nullopt if the index is not trustworthy.
struct SessionBounds {
  uint64_t high_water = 0;
  std::optional<std::pair<uint64_t, uint64_t>> range;
};
Result<std::optional<SessionBounds>> read_session_bounds(sqlite3* db, const std::string& id);

// The store's Store::sessions() and scan_session() over the index. `with_table` runs its argument
// with the connection locked; `scan` is the store's own scan() (used for the records beyond the
// high-water mark: on a read-only store that includes the journal).
struct IndexReads {
  std::function<Status(const std::function<Status(AuditTable&)>&)> with_table;
  std::function<Status(uint64_t, const std::function<bool(const audit::Event&)>&)> scan;
};
// The index rows seeded into the SessionIndex the scan-based default uses, continued with the
// records beyond the high-water mark, so both give the same list. nullopt: no trusted index.
Result<std::optional<std::vector<audit::SessionSummary>>> indexed_sessions(
    const IndexReads& r, const audit::SessionFilter& f);
// The session's rows in [first_seq, last_seq] as indexed, then every record beyond the
// high-water mark. False (nothing called): no trusted index.
Result<bool> indexed_scan_session(const IndexReads& r, const std::string& id,
                                  const std::function<bool(const audit::Event&)>& fn);

}  // namespace phigate::store::sqlite_detail
