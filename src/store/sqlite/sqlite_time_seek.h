#pragma once
// audit::Store::seq_near_time for the SQLite table: a binary search over seq on the time_ns
// column, so `audit export --since` starts near its first record instead of reading every line.
#include <sqlite3.h>

#include <cstdint>

#include "common/result.h"

namespace phigate::store::sqlite_detail {

// The smallest seq p such that the row before p (the newest row with seq < p) has time_ns <
// time_ns, found by probing rows by seq. If time does not decrease along seq, p is the first row
// with time_ns >= time_ns; in any case every row the search saw below p is older than time_ns, so
// p is never beyond the first row that is not. Rows go from max(1, min(seq)) (retention pruned
// the prefix) to max(seq); the result is at most max(seq) + 1 (records in the journal follow
// SQLite's rows: a caller scanning from p still reads them) and 1 on an empty table.
Result<uint64_t> seq_near_time(sqlite3* db, int64_t time_ns);

}  // namespace phigate::store::sqlite_detail
