#pragma once
// What the audit log needs from a store. Implemented by store/sqlite (and later store/postgres);
// chosen only in main.cc.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/canonical.h"
#include "audit/anchor.h"
#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/session_review.h"
#include "common/result.h"

namespace phigate::audit {

// A stored checkpoint and the Merkle frontier (MerkleAccumulator::frontier()) of the tree it signs.
// The frontier is a restart shortcut for the writer, not evidence: it is trusted only after its
// root equals the checkpoint's signed root_hex (Log::open).
struct CheckpointFrontier {
  Checkpoint checkpoint;
  std::vector<Sha256> frontier;
};

class Store {
 public:
  virtual ~Store() = default;
  // Appends records (seq and hash already set) in one transaction; durable when it returns ok.
  virtual Status append(const std::vector<Event>& batch) = 0;
  // The same, for a caller that already encoded the batch and keeps the records elsewhere (the
  // Log's writer, having hashed the canonical forms): batch[i] is record i, `lines` holds
  // to_json_line(*batch[i]) + '\n' for each record, concatenated, and line_ends[i] is the offset
  // just past record i's '\n'. A store that keeps JSONL writes the lines as they are instead of
  // encoding every record again. Default: copies the records and appends them.
  virtual Status append_encoded_refs(const std::vector<const Event*>& batch, std::string_view lines,
                                     const std::vector<size_t>& line_ends) {
    (void)lines, (void)line_ends;
    std::vector<Event> copy;
    copy.reserve(batch.size());
    for (const Event* e : batch) copy.push_back(*e);
    return append(copy);
  }
  // The record with the highest seq, if any (to continue the chain after a restart).
  virtual Result<std::optional<Event>> last() = 0;
  // Calls fn for each record with seq >= from, in seq order, until fn returns false.
  virtual Status scan(uint64_t from, const std::function<bool(const Event&)>& fn) = 0;
  // The stored lines (to_json_line of each record: exactly the Merkle leaf bytes) with seq >= from,
  // in the store's seq order, until fn returns false. `key` is the seq the store filed the line
  // under; a line whose own seq differs is for the caller to report (verify names it as moved).
  // Lines are not parsed into Events, which makes this the fast path of verification and export
  // (~10x cheaper than scan); stores still check what they keep outside the record (indexed
  // columns). Default: scan() + to_json_line.
  virtual Status scan_lines(uint64_t from,
                            const std::function<bool(uint64_t key, std::string_view line)>& fn) {
    std::string line;
    return scan(from, [&](const Event& e) {
      line = to_json_line(e);
      return fn(e.seq, line);
    });
  }
  // A seq to start reading from for the records with time_ns >= time_ns: at or before the first
  // such record, assuming time does not decrease along seq (callers that cannot assume that
  // exactly search for an earlier time and check each record, as `audit export --since` does).
  // Never beyond the first record the store holds only outside its indexed part (a journal):
  // scan_lines(result) still sees it. Default: 1, every record (a store without a time column).
  virtual Result<uint64_t> seq_near_time(int64_t time_ns) {
    (void)time_ns;
    return uint64_t{1};
  }
  // Per-session summaries (`phigate sessions list`), as SessionIndex::list(f) over every record.
  // Default: a scan of the whole log; a store may answer from a derived index (never evidence:
  // `audit verify` checks the records, not the index).
  virtual Result<std::vector<SessionSummary>> sessions(const SessionFilter& f) {
    SessionIndex index;
    Status st = scan(0, [&](const Event& e) {
      index.add(e);
      return true;
    });
    if (!st.ok()) return st.error();
    return index.list(f);
  }
  // Calls fn, in seq order, for records including every record of session_id (others may come
  // too: callers filter, as Timeline does), until fn returns false. Default: scan(0, fn); a store
  // with a session index skips the records before and after the session.
  virtual Status scan_session(const std::string& session_id,
                              const std::function<bool(const Event&)>& fn) {
    (void)session_id;
    return scan(0, fn);
  }
  // Signed checkpoints (checkpoint.h). Stores that cannot keep them inherit these defaults, so a
  // Log with checkpointing on just reports the error and goes on writing records.
  // Stores the checkpoint durably (checkpoints are rare: a synchronous write is fine). A second
  // checkpoint for the same tree_size is an error, never a silent replacement.
  virtual Status append_checkpoint(const Checkpoint& c) {
    (void)c;
    return make_error("unsupported", "this audit store does not keep checkpoints");
  }
  // The same, plus the Merkle frontier after c.tree_size leaves (MerkleAccumulator::frontier()),
  // stored in the same write so a restart can resume the tree there instead of reading every
  // record (see newest_checkpoint_frontier). Default: the checkpoint alone; restarts then rebuild.
  virtual Status append_checkpoint_with_frontier(const Checkpoint& c,
                                                 const std::vector<Sha256>& frontier) {
    (void)frontier;
    return append_checkpoint(c);
  }
  // The stored checkpoint with the largest tree_size among those that carry a frontier, with it;
  // nullopt if none does (older stores, or a store that keeps no frontiers). Error "tampered"
  // (naming the tree_size) for a row that does not parse or whose frontier is not
  // popcount(tree_size) hashes. Whether the frontier matches the root is the caller's check.
  virtual Result<std::optional<CheckpointFrontier>> newest_checkpoint_frontier() {
    return std::optional<CheckpointFrontier>();
  }
  // The tree_size of the newest stored checkpoint, 0 if none: where a restarted writer's next
  // checkpoint counts from. Default: checkpoints().back(); a store answers from one row instead of
  // parsing all of them (one per every_events records: millions on a busy log).
  virtual Result<uint64_t> newest_checkpoint_size() {
    auto cps = checkpoints();
    if (!cps.ok()) return cps.error();
    return cps->empty() ? uint64_t{0} : cps->back().tree_size;
  }
  // Every stored checkpoint, tree_size ascending. Error "tampered" (naming the tree_size) for a
  // stored checkpoint that does not parse.
  virtual Result<std::vector<Checkpoint>> checkpoints() {
    return make_error("unsupported", "this audit store does not keep checkpoints");
  }
  // Retention (anchor.h): the anchor of the newest prune, nullopt while nothing was pruned. The
  // records then start at seq tree_size + 1. Error "tampered" for a stored anchor that does not
  // parse. Pruning itself is done by the store's owner (main.cc wiring), not through this API.
  virtual Result<std::optional<Anchor>> anchor() { return std::optional<Anchor>(); }
};

}  // namespace phigate::audit
