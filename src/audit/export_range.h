#pragma once
// What `phigate audit export [--since T]` writes: the records from the first one at or after T
// (every record without T), each followed by the signed checkpoints whose tree it completes.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/export_format.h"
#include "audit/store.h"
#include "common/result.h"

namespace phigate::audit {

// How far before --since the store's time search starts (Store::seq_near_time). Records are
// numbered by one writer, but their times are taken by the threads that made them, so a record
// can carry a slightly earlier time than the one before it; the export starts at the first record
// in seq order whose time is >= since, and a search for since itself could land past it when the
// times around it step back. Starting a minute earlier and checking each record keeps the output
// exactly what reading from seq 1 gives as long as time never steps back by more than that (a
// clock stepped back further already made "first record at or after T" a matter of seq order).
inline constexpr int64_t kSinceSeekMarginNs = 60LL * 1000 * 1000 * 1000;

// Calls put(line) (no '\n') for each exported line, in order; `checkpoints` tree_size ascending
// (Store::checkpoints()). *records gets the number of records written. A store error stops the
// export after the lines already put and is returned.
Status export_range(Store& store, const std::vector<Checkpoint>& checkpoints,
                    std::optional<int64_t> since, ExportFormat fmt,
                    const std::function<void(const std::string&)>& put, uint64_t* records);

}  // namespace phigate::audit
