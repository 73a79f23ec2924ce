#pragma once
// The audit sink. Appends from any thread go to one writer thread that assigns seq, chains hashes
// and commits batches (group commit). Nothing reads this to make a decision.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/event.h"
#include "audit/merkle.h"
#include "audit/store.h"

namespace phigate::audit {

// Threading: append/flush/close/last_seq/stats may be called from any thread. `done` normally runs
// on the writer thread, in seq order, after the batch holding the record committed (or failed); it
// must be quick and must not throw or call back into this Log's flush/close (that would deadlock):
// post to your own executor (the proxy posts to the session's io_context). When the log refuses a
// record up front (not open, closed, failed, queue full) `done` runs inline on the caller's thread
// before append returns, so do not hold a lock that `done` also takes.
// Error codes given to `done`: "audit_failed" (a commit failed; the log is poisoned, fail closed),
// "audit_overloaded" (queue stayed full for 1s), "audit_closed" (not open or already closed).
class Log {
 public:
  using Done = std::function<void(Result<uint64_t>)>;  // seq of the record once durable, or error
  struct Stats {
    uint64_t records = 0;      // committed records
    uint64_t batches = 0;      // committed transactions (group commits)
    uint64_t checkpoints = 0;  // signed checkpoints handed to the store
    // open() with checkpointing: the tree_size of the frontier (checkpoint or retention anchor)
    // the Merkle tree resumed from (0: rebuilt from the first record), and the records read on
    // top of it. Restart cost is proportional to the latter.
    uint64_t tree_resumed_at = 0;
    uint64_t tree_records_read = 0;
  };

  // max_queue bounds memory: when full, append blocks the caller briefly and then fails (never
  // drops a record silently).
  Log(std::unique_ptr<Store> store, std::string node_id, size_t max_queue = 65536);
  ~Log();  // drains and commits what is queued; must outlive every thread that appends
  // Turns on signed checkpoints (DESIGN.md §7): the Log keeps a Merkle tree over the stored
  // records and signs its root every `every_events` records, when `every` has passed since the
  // last checkpoint and there are new records, and at close(). Call before open(). 0 disables the
  // respective trigger (close() still checkpoints).
  void set_checkpointing(std::shared_ptr<const CheckpointKey> key, uint64_t every_events,
                         std::chrono::milliseconds every);
  // Sees every committed record, in seq order, on the committing thread under the commit lock
  // (audit/metrics.h counts them). Must be quick, must not throw and must not call back into this
  // Log. Call before open().
  void set_observer(std::function<void(const Event&)> fn) { observer_ = std::move(fn); }
  // Continues the chain from the store's last record. Must be called once before append.
  // With checkpointing on it also restores the Merkle tree: from the frontier stored with the
  // newest checkpoint (or retention anchor) plus the records after it, or from every record when
  // no checkpoint has a frontier. Error "tampered" if that frontier does not fold to its
  // checkpoint's root or the records do not continue the tree.
  Status open();
  // `done` runs on the writer thread after the batch holding the record committed (or failed).
  void append(Event e, Done done) { enqueue(std::move(e), std::move(done)); }
  // Fire-and-forget: a refusal or failed commit is only visible in the process log and failed().
  // Written lazily: with the next inline commit, a full queue, or within kLazyFlush.
  void append(Event e) { enqueue(std::move(e), nullptr); }
  // Commits `events` (and everything queued before them) on the calling thread and returns the seq
  // of events[0] once the store took them. This is the strict-durability path of the proxies: no
  // hand-off to the writer thread and back, which on a busy 2-core machine cost more than the
  // write itself. Blocks the caller for one store append (a journal write(); with sync "full" an
  // fdatasync, so callers with sync "full" should prefer append+done).
  Result<uint64_t> append_now(std::vector<Event>& events);
  // append_now unless another thread is committing right now: then nullopt at once, and `events`
  // are untouched. For a caller with other work to do meanwhile (an io thread with ready
  // connections) instead of sleeping on the commit lock.
  std::optional<Result<uint64_t>> try_append_now(std::vector<Event>& events);
  // Blocks until everything appended so far is committed (or failed) and its `done` has run.
  void flush();
  void close();
  uint64_t last_seq() const;
  // True once a commit failed; every later append fails.
  bool failed() const;
  Stats stats() const;

 private:
  void run();
  // Both appends end here, taking the record by reference so that it is moved once more, into its
  // queue slot (an Event is ~1 KiB of members: each move of it showed in the io threads' profile).
  void enqueue(Event&& e, Done&& done);
  struct Item {
    Event event;
    Done done;
  };
  struct Scratch;
  // Assigns seq and hashes to `items` in order and appends them to the store. Caller holds
  // commit_mu_; returns the first seq used.
  // `direct` (append_now) are committed after `items`, in place: they are neither moved into
  // Items nor copied for the store.
  Status commit(std::deque<Item>& items, std::vector<Event>* direct, Scratch& scratch,
                uint64_t& first_seq);
  // append_now's body; the caller holds commit_mu_.
  Result<uint64_t> append_now_locked(std::vector<Event>& events);
  void finish(std::deque<Item>& items, const Status& st, uint64_t first_seq);
  // Signs and stores a checkpoint of the tree as it is now if it grew since the last one and
  // `force` or a trigger is due. Caller holds commit_mu_.
  void maybe_checkpoint(bool force);
  std::unique_ptr<Store> store_;
  std::string node_id_;
  size_t max_queue_;
  mutable std::mutex mu_;
  std::function<void(const Event&)> observer_;  // set before open(), then read-only
  std::mutex commit_mu_;  // one committer at a time (writer thread or an append_now caller)
  std::unique_ptr<Scratch> inline_scratch_;  // append_now callers' buffers (under commit_mu_)
  std::condition_variable cv_, drained_;
  std::condition_variable space_;  // signalled when the writer takes the queue (bounded appends)
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool urgent_ = false;  // the writer was asked to commit now
  int busy_ = 0;         // committers between taking items and running their callbacks
  uint64_t next_seq_ = 1;
  std::string prev_hash_;
  bool failed_ = false;  // a failed commit poisons the log: fail closed from then on
  bool opened_ = false;
  bool closed_ = false;
  Stats stats_;
  std::thread writer_;

  // Checkpointing; set before open(), then guarded by commit_mu_ (the tree follows commits).
  std::shared_ptr<const CheckpointKey> ckpt_key_;
  uint64_t ckpt_every_events_ = 0;
  std::chrono::milliseconds ckpt_every_{0};
  MerkleAccumulator tree_;
  Status restore_tree(const std::optional<Anchor>& anchor);  // open(), commit_mu_ held
  uint64_t ckpt_size_ = 0;  // tree_size of the last checkpoint taken (stored, or being stored)
  // A checkpoint taken on a committing thread, signed and stored by the writer thread: storing
  // waits on SQLite, which must not stall a session's io thread (guarded by mu_).
  struct DueCheckpoint {
    uint64_t size = 0;
    Sha256 root{};
    int64_t time_ns = 0;
    std::vector<Sha256> frontier;  // stored with the checkpoint: the next open resumes from it
  };
  std::deque<DueCheckpoint> ckpt_due_;
  int ckpt_busy_ = 0;  // checkpoints taken off ckpt_due_ and being stored (flush waits for them)
  void store_checkpoint(const DueCheckpoint& due);
  std::chrono::steady_clock::time_point ckpt_at_;
};

// Recomputes the chain over a store. Returns ok with the number of records, or an error whose
// message names the first bad seq ("seq N: hash mismatch", "seq N: gap", ...).
// Error code "tampered" for integrity failures (including those the store detects itself, such as
// an indexed column differing from the record); other codes are I/O errors from the store.
// What it cannot see on its own: records removed from the tail (the count just shrinks) or a tail
// rewritten with correctly recomputed hashes; signed checkpoints (Merkle roots) cover those.
Result<uint64_t> verify_chain(Store& store);

struct VerifyReport {
  uint64_t records = 0;
  uint64_t checkpoints = 0;  // stored checkpoints whose signature and root both verified
  // Retention (anchor.h): records pruned before the first stored one, and the checkpoints over
  // that prefix, whose signatures verified but whose roots can no longer be recomputed (they are
  // included in `checkpoints`).
  uint64_t pruned = 0;
  uint64_t pruned_checkpoints = 0;
};
// verify_chain plus every stored checkpoint: its Ed25519 signature under `public_key` (raw 32
// bytes) and its root recomputed over the first tree_size records. One pass over the records: the
// tree is accumulated while the chain is checked and compared at each checkpoint's tree_size, so
// the cost is O(records + checkpoints), not O(records x checkpoints). A failed checkpoint is
// Error{"tampered", "checkpoint tree_size N: ..."}. With no key (empty span) stored checkpoints
// cannot be checked and that is an error too ("no_key"); a store without checkpoint support
// ("unsupported") verifies as zero checkpoints.
Result<VerifyReport> verify_log(Store& store, ByteSpan public_key);  // verifier.cc

}  // namespace phigate::audit
