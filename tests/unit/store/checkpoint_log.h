#pragma once
// A checkpointing Log over an SQLite store file, run to completion: what the checkpoint and
// frontier tests start from before they look at, or edit, the file behind the store's back.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/log.h"
#include "store/sqlite/sqlite_store.h"

namespace phigate::store::testing {

inline std::shared_ptr<const audit::CheckpointKey> checkpoint_key() {
  static auto k = *audit::CheckpointKey::generate();
  return k;
}

// Record i of a test log: three interleaved sessions, time_ns = time_base + i.
inline audit::Event numbered_event(int i, int64_t time_base) {
  audit::Event e;
  e.time_ns = time_base + i;
  e.session_id = "s" + std::to_string(i % 3);
  e.type = "statement";
  e.sub = "alice";
  e.resource = "clinic";
  e.action = "SELECT " + std::to_string(i);
  return e;
}

// Opens a Log over `path` with a checkpoint every `every_events`, appends records
// [from, from + n) one commit each and closes it (the final checkpoint). Returns the first
// failure: open()'s (then nothing is appended) or an append's.
inline Status run_checkpointed_log(const std::string& path, int from, int n, uint64_t every_events,
                                   int64_t time_base) {
  auto st = open_sqlite_audit_store(path);
  if (!st.ok()) return st.error();
  audit::Log log(std::move(*st), "gw-1");
  log.set_checkpointing(checkpoint_key(), every_events, std::chrono::milliseconds(0));
  if (Status o = log.open(); !o.ok()) return o;
  for (int i = from; i < from + n; ++i) {
    std::vector<audit::Event> one{numbered_event(i, time_base)};
    if (auto r = log.append_now(one); !r.ok()) return r.error();
  }
  log.close();
  return ok_status();
}

}  // namespace phigate::store::testing
