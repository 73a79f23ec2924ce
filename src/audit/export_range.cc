#include "audit/export_range.h"

#include <algorithm>
#include <limits>

#include "audit/record_view.h"

namespace phigate::audit {

Status export_range(Store& store, const std::vector<Checkpoint>& checkpoints,
                    std::optional<int64_t> since, ExportFormat fmt,
                    const std::function<void(const std::string&)>& put, uint64_t* records) {
  *records = 0;
  uint64_t from = 1;
  if (since) {
    // Saturating: a --since near the start of the epoch range must not wrap to the far future.
    const int64_t target = *since < std::numeric_limits<int64_t>::min() + kSinceSeekMarginNs
                               ? std::numeric_limits<int64_t>::min()
                               : *since - kSinceSeekMarginNs;
    auto near = store.seq_near_time(target);
    if (!near.ok()) return near.error();
    from = std::max<uint64_t>(1, *near);
  }
  size_t next_cp = 0;
  bool started = !since.has_value();
  uint64_t first_seq = 0;
  // The checkpoints of the exported range go right after the record that completes their tree.
  auto put_checkpoints_upto = [&](uint64_t size) {
    while (next_cp < checkpoints.size() && checkpoints[next_cp].tree_size <= size) {
      const auto& c = checkpoints[next_cp++];
      if (started && c.tree_size >= first_seq) put(export_checkpoint(c, fmt));
    }
  };
  RecordView v;
  Status st = store.scan_lines(from, [&](uint64_t key, std::string_view line) {
    if (!started) {
      // Time is non-decreasing in seq (up to the margin above): the first record at or after
      // --since starts the export.
      if (parse_record_view(line, v) && v.time_ns < *since) return true;
      started = true;
    }
    if (*records == 0) {
      first_seq = key;
      put_checkpoints_upto(key - 1);
    }
    put(export_record(line, fmt));
    ++*records;
    put_checkpoints_upto(key);
    return true;
  });
  if (*records == 0 && !since) put_checkpoints_upto(0);
  return st;
}

}  // namespace phigate::audit
