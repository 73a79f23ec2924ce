#include "store/sqlite/sqlite_time_seek.h"

#include <algorithm>

#include "store/sqlite/sqlite_db.h"

namespace phigate::store::sqlite_detail {

Result<uint64_t> seq_near_time(sqlite3* db, int64_t time_ns) {
  auto lo_row = query_int(db, "SELECT min(seq) FROM audit_events");
  if (!lo_row.ok()) return lo_row.error();
  auto hi_row = query_int(db, "SELECT max(seq) FROM audit_events");
  if (!hi_row.ok()) return hi_row.error();
  if (!lo_row->has_value() || !hi_row->has_value() || **hi_row < 1) return uint64_t{1};
  // Each probe is one PRIMARY KEY seek (~log n pages), so the search costs ~log2(n) seeks.
  // The probes need not share a snapshot: ingest only adds rows after max(seq) and retention only
  // removes a prefix, and the answer rests on the last probe that moved `lo` alone, a row that
  // existed with an older time.
  auto probe = prepare(
      db, "SELECT seq, time_ns FROM audit_events WHERE seq >= ?1 ORDER BY seq LIMIT 1", false);
  if (!probe.ok()) return probe.error();
  sqlite3_stmt* s = probe->get();
  int64_t lo = std::max<int64_t>(1, **lo_row), hi = **hi_row + 1;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, mid);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      hi = mid;  // pruned meanwhile or never there: nothing at or after mid to skip past
      continue;
    }
    if (rc != SQLITE_ROW) return db_error(db, "seek audit_events by time");
    const int64_t seq = sqlite3_column_int64(s, 0);
    // A NULL time (a forged row) counts as not older: the search only ever skips rows it read a
    // time for.
    if (sqlite3_column_type(s, 1) != SQLITE_NULL && sqlite3_column_int64(s, 1) < time_ns) {
      lo = std::min(seq + 1, hi);
    } else {
      hi = mid;
    }
  }
  return static_cast<uint64_t>(lo);
}

}  // namespace phigate::store::sqlite_detail
