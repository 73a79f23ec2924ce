#include "audit/log.h"

#include <pthread.h>

#include <chrono>
#include <exception>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "audit/canonical.h"

namespace phigate::audit {
namespace {

// How long append waits for queue space before refusing the record (never a silent drop).
constexpr auto kQueueFullWait = std::chrono::seconds(1);
// Fire-and-forget records are committed within this long, or sooner with the next commit.
constexpr auto kLazyFlush = std::chrono::milliseconds(5);
constexpr size_t kLazyBatch = 256;

void call_done(const Log::Done& done, Result<uint64_t> r) {
  if (!done) return;
  // A throwing callback on the writer thread would terminate the process and take the audit log
  // with it; contain it, the record's fate is already decided.
  try {
    done(std::move(r));
  } catch (const std::exception& ex) {
    spdlog::error("audit: done callback threw: {}", ex.what());
  } catch (...) {
    spdlog::error("audit: done callback threw");
  }
}

// A refusal at append time. Without a callback nobody else would ever learn that a record was not
// written, so say it in the process log rather than drop it silently.
void refuse(const Log::Done& done, Error err) {
  if (!done) {
    spdlog::error("audit: record refused ({}: {})", err.code, err.message);
    return;
  }
  call_done(done, std::move(err));
}

}  // namespace

Log::Log(std::unique_ptr<Store> store, std::string node_id, size_t max_queue)
    : store_(std::move(store)),
      node_id_(std::move(node_id)),
      max_queue_(max_queue == 0 ? 1 : max_queue),
      prev_hash_(kGenesisHash) {}

Log::~Log() { close(); }

void Log::set_checkpointing(std::shared_ptr<const CheckpointKey> key, uint64_t every_events,
                            std::chrono::milliseconds every) {
  std::lock_guard lk(commit_mu_);
  ckpt_key_ = std::move(key);
  ckpt_every_events_ = every_events;
  ckpt_every_ = every;
}

Status Log::open() {
  // The writer does not run yet, so holding mu_ across the store read blocks nobody useful.
  std::lock_guard commit_lk(commit_mu_);
  std::lock_guard lk(mu_);
  if (opened_ || closed_) return make_error("audit_closed", "audit log already opened or closed");
  auto last = store_->last();
  if (!last.ok()) return last.error();
  // After a retention prune the log starts at the anchor: chain from its hash, tree from its
  // frontier (anchor.h).
  auto anchor = store_->anchor();
  if (!anchor.ok()) return anchor.error();
  const std::optional<Anchor>& a = *anchor;
  if (last->has_value()) {
    const Event& e = **last;
    next_seq_ = e.seq + 1;
    prev_hash_ = e.hash;
  } else if (a) {
    next_seq_ = a->tree_size + 1;
    prev_hash_ = a->last_hash;
  }
  if (ckpt_key_) {
    if (Status st = restore_tree(a); !st.ok()) return st;
    // Continue after the newest stored checkpoint, so a restart with no new records does not try
    // to sign the same tree_size again (the store refuses duplicates).
    auto newest = store_->newest_checkpoint_size();
    ckpt_size_ = newest.ok() ? *newest : 0;
    ckpt_at_ = std::chrono::steady_clock::now();
  }
  opened_ = true;
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "audit-writer");  // visible in top -H and perf
    run();
  });
  return ok_status();
}

// Resumes the tree at the latest authenticated frontier and hashes only the records after it, as
// the raw stored lines (the leaf bytes): O(records since the last checkpoint), not O(all records).
// The frontier is a shortcut for the writer, not evidence, so it is trusted only once it folds to
// the root its checkpoint signs: anything else fails closed rather than letting the writer sign a
// tree that differs from the records. The checkpoint's signature is not checked here (see
// docs/DECISIONS.md, Audit evidence, "Restart resumes..."): `audit verify` checks them all.
Status Log::restore_tree(const std::optional<Anchor>& anchor) {
  const auto t0 = std::chrono::steady_clock::now();
  tree_ = MerkleAccumulator();
  if (anchor) {
    auto restored = MerkleAccumulator::from_frontier(anchor->tree_size, anchor->frontier);
    if (!restored) return make_error("tampered", "retention anchor: malformed Merkle frontier");
    tree_ = std::move(*restored);
  }
  auto cf = store_->newest_checkpoint_frontier();
  if (!cf.ok()) return cf.error();
  const char* from = anchor ? "retention anchor" : "genesis";
  // A checkpoint at the anchor's own tree_size adds nothing: the anchor was authenticated against
  // it when the prefix was pruned.
  if (*cf && (*cf)->checkpoint.tree_size > tree_.size()) {
    const Checkpoint& c = (*cf)->checkpoint;
    auto bad = [&](std::string_view what) {
      return make_error("tampered", "checkpoint tree_size " + std::to_string(c.tree_size) +
                                        ": stored Merkle frontier " + std::string(what));
    };
    auto restored = MerkleAccumulator::from_frontier(c.tree_size, std::move((*cf)->frontier));
    if (!restored) return bad("is malformed");
    if (to_hex(restored->root()) != c.root_hex) return bad("does not match the signed root");
    tree_ = std::move(*restored);
    from = "checkpoint";
  }
  const uint64_t resumed_at = tree_.size();
  std::optional<uint64_t> misplaced;
  Status st = store_->scan_lines(resumed_at + 1, [&](uint64_t key, std::string_view line) {
    if (key != tree_.size() + 1) {
      misplaced = key;
      return false;
    }
    tree_.append_leaf(line);
    return true;
  });
  if (!st.ok()) return st.error();
  if (misplaced) {
    return make_error("tampered", "seq " + std::to_string(*misplaced) + ": expected seq " +
                                      std::to_string(tree_.size() + 1));
  }
  if (tree_.size() != next_seq_ - 1) {
    return make_error("tampered", "audit store holds " + std::to_string(tree_.size()) +
                                      " records but its last seq is " +
                                      std::to_string(next_seq_ - 1));
  }
  // The caller (serve) reports this at info level; CLI commands that open a Log print JSON on
  // stdout, where spdlog's default logger writes too.
  spdlog::debug(
      "audit: Merkle tree resumed from the {} at tree_size {} + {} records in {} ms", from,
      resumed_at, tree_.size() - resumed_at,
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  stats_.tree_resumed_at = resumed_at;
  stats_.tree_records_read = tree_.size() - resumed_at;
  return ok_status();
}

void Log::enqueue(Event&& e, Done&& done) {
  std::unique_lock lk(mu_);
  if (!opened_ || stopping_) {
    lk.unlock();
    refuse(done, make_error("audit_closed", "audit log is not open"));
    return;
  }
  if (failed_) {
    lk.unlock();
    refuse(done, make_error("audit_failed", "audit store failed; refusing further records"));
    return;
  }
  if (queue_.size() >= max_queue_) {
    space_.wait_for(lk, kQueueFullWait,
                    [&] { return queue_.size() < max_queue_ || failed_ || stopping_; });
    if (failed_ || stopping_ || queue_.size() >= max_queue_) {
      bool failed = failed_, stopping = stopping_;
      lk.unlock();
      if (failed) {
        refuse(done, make_error("audit_failed", "audit store failed; refusing further records"));
      } else if (stopping) {
        refuse(done, make_error("audit_closed", "audit log is closing"));
      } else {
        refuse(done, make_error("audit_overloaded", "audit queue full"));
      }
      return;
    }
  }
  // Someone waits on `done`, or the queue is getting long: wake the writer now. Otherwise the
  // record waits for the next commit (at most kLazyFlush), saving a futex wake per record.
  bool wake = (done != nullptr || queue_.size() + 1 >= kLazyBatch) && !urgent_;
  if (wake) urgent_ = true;
  queue_.emplace_back(std::move(e), std::move(done));
  lk.unlock();
  if (wake) cv_.notify_one();
}

// Encoding buffers reused across batches so that, once warm, encoding allocates nothing but the
// hash strings.
struct Log::Scratch {
  std::vector<const Event*> batch;  // the records being committed, in seq order
  std::vector<size_t> line_ends;    // offset just past each record's '\n' in `lines`
  std::string lines;
  ChainHasher hasher;
};

Status Log::commit(std::deque<Item>& items, std::vector<Event>* direct, Scratch& sc,
                   uint64_t& first_seq) {
  uint64_t seq;
  std::string prev;
  bool poisoned;
  {
    std::lock_guard lk(mu_);
    seq = next_seq_;
    prev = prev_hash_;
    poisoned = failed_;
  }
  first_seq = seq;
  if (poisoned) return make_error("audit_failed", "audit store failed; refusing further records");
  const size_t count = items.size() + (direct ? direct->size() : 0);
  Status st = ok_status();
  sc.batch.clear();
  sc.batch.reserve(count);
  sc.line_ends.clear();
  sc.lines.clear();
  try {
    auto encode = [&](Event& e) {
      e.seq = seq++;
      e.node_id = node_id_;
      e.prev_hash = std::move(prev);
      // One encoding, straight into the batch's lines, serves both the hash input and the line.
      append_chained_line(e, sc.hasher, sc.lines);
      sc.lines += '\n';
      sc.line_ends.push_back(sc.lines.size());
      prev = e.hash;
      sc.batch.push_back(&e);
    };
    for (Item& it : items) encode(it.event);
    if (direct) {
      for (Event& e : *direct) encode(e);
    }
    st = store_->append_encoded_refs(sc.batch, sc.lines, sc.line_ends);
    sc.batch.clear();  // the pointers die with items/direct
  } catch (const std::exception& ex) {
    st = make_error("exception", ex.what());
  }
  if (!st.ok()) {
    spdlog::error("audit: commit of {} records failed ({}: {}); failing closed", count,
                  st.error().code, st.error().message);
    st = make_error("audit_failed", "audit commit failed: " + st.error().message);
    std::lock_guard lk(mu_);
    failed_ = true;  // seq/prev_hash stay where the last good commit left them
  } else {
    std::lock_guard lk(mu_);
    next_seq_ = seq;
    prev_hash_ = prev;
    stats_.records += count;
    stats_.batches += 1;
  }
  if (st.ok() && observer_) {
    for (Item& it : items) observer_(it.event);
    if (direct) {
      for (const Event& e : *direct) observer_(e);
    }
  }
  if (st.ok() && ckpt_key_) {
    // Leaf = the stored line without its newline, exactly the bytes in SQLite's `record` column.
    size_t begin = 0;
    for (size_t end : sc.line_ends) {
      tree_.append_leaf(std::string_view(sc.lines).substr(begin, end - 1 - begin));
      begin = end;
    }
    maybe_checkpoint(false);
  }
  // A burst of fire-and-forget records can make one batch very large; do not keep that much.
  if (sc.lines.capacity() > (size_t(8) << 20)) std::string().swap(sc.lines);
  return st;
}

void Log::maybe_checkpoint(bool force) {
  if (!ckpt_key_ || tree_.size() <= ckpt_size_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool due = force ||
                   (ckpt_every_events_ > 0 && tree_.size() - ckpt_size_ >= ckpt_every_events_) ||
                   (ckpt_every_.count() > 0 && now - ckpt_at_ >= ckpt_every_);
  if (!due) return;
  DueCheckpoint d;
  d.size = tree_.size();
  d.root = tree_.root();
  d.frontier = tree_.frontier();
  d.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  // The timer restarts and the size advances either way: a failed store is retried by the next
  // trigger, which covers these records too (retrying at once would spin).
  ckpt_at_ = now;
  ckpt_size_ = d.size;
  if (force) {
    store_checkpoint(d);  // close(): the writer thread is gone
    return;
  }
  {
    std::lock_guard lk(mu_);
    ckpt_due_.push_back(d);
    urgent_ = true;
  }
  cv_.notify_one();
}

void Log::store_checkpoint(const DueCheckpoint& d) {
  auto c = sign_checkpoint(*ckpt_key_, node_id_, d.size, d.root, d.time_ns);
  Status st = c.ok() ? store_->append_checkpoint_with_frontier(*c, d.frontier) : Status(c.error());
  // A failed checkpoint does not poison the log: the records themselves are durable and chained,
  // and the next trigger signs a tree that covers them too.
  if (!st.ok()) {
    spdlog::error("audit: checkpoint at tree_size {} failed ({}: {})", d.size, st.error().code,
                  st.error().message);
    return;
  }
  std::lock_guard lk(mu_);
  ++stats_.checkpoints;
}

void Log::finish(std::deque<Item>& items, const Status& st, uint64_t first_seq) {
  if (!st.ok()) space_.notify_all();  // appenders waiting for space should now fail fast
  for (size_t i = 0; i < items.size(); ++i) {
    if (st.ok()) {
      call_done(items[i].done, first_seq + i);
    } else {
      call_done(items[i].done, st.error());
    }
  }
  items.clear();
  // busy_ drops only after the callbacks ran, so flush() returning means every done was called.
  std::lock_guard lk(mu_);
  --busy_;
  if (queue_.empty() && busy_ == 0 && ckpt_due_.empty() && ckpt_busy_ == 0) drained_.notify_all();
}

void Log::run() {
  std::deque<Item> items;
  Scratch sc;
  bool ckpt_timer;
  {
    std::lock_guard commit_lk(commit_mu_);
    ckpt_timer = ckpt_key_ && ckpt_every_.count() > 0;
  }
  for (;;) {
    bool idle = false;
    {
      std::unique_lock lk(mu_);
      // Fire-and-forget records do not wake the writer: they ride along with the next inline
      // commit or are picked up here within kLazyFlush.
      cv_.wait_for(lk, kLazyFlush, [&] { return stopping_ || urgent_; });
      if (queue_.empty()) {
        urgent_ = false;
        if (stopping_) break;  // stopping and drained
        idle = true;
      }
    }
    std::deque<DueCheckpoint> due;
    {
      std::lock_guard lk(mu_);
      due.swap(ckpt_due_);
      ckpt_busy_ += static_cast<int>(due.size());
    }
    if (!due.empty()) {
      for (const auto& d : due) store_checkpoint(d);
      std::lock_guard lk(mu_);
      ckpt_busy_ -= static_cast<int>(due.size());
      if (queue_.empty() && busy_ == 0 && ckpt_busy_ == 0) drained_.notify_all();
    }
    if (idle) {
      // The time trigger: an idle log still signs what it wrote within `every`. try_lock: if an
      // append_now caller is committing, its commit checks the triggers itself.
      if (ckpt_timer && commit_mu_.try_lock()) {
        std::lock_guard commit_lk(commit_mu_, std::adopt_lock);
        maybe_checkpoint(false);
      }
      continue;
    }
    std::lock_guard commit_lk(commit_mu_);
    {
      std::lock_guard lk(mu_);
      items.swap(queue_);  // group commit: everything queued so far
      urgent_ = false;
      ++busy_;
    }
    space_.notify_all();
    uint64_t first = 0;
    Status st = items.empty() ? ok_status() : commit(items, nullptr, sc, first);
    finish(items, st, first);
  }
  std::lock_guard lk(mu_);
  drained_.notify_all();
}

Result<uint64_t> Log::append_now(std::vector<Event>& events) {
  if (events.empty()) return uint64_t{0};
  std::lock_guard commit_lk(commit_mu_);
  return append_now_locked(events);
}

std::optional<Result<uint64_t>> Log::try_append_now(std::vector<Event>& events) {
  if (events.empty()) return Result<uint64_t>(uint64_t{0});
  std::unique_lock commit_lk(commit_mu_, std::try_to_lock);
  if (!commit_lk.owns_lock()) return std::nullopt;
  return append_now_locked(events);
}

Result<uint64_t> Log::append_now_locked(std::vector<Event>& events) {
  std::deque<Item> items;
  {
    std::lock_guard lk(mu_);
    if (!opened_ || stopping_) return make_error("audit_closed", "audit log is not open");
    if (failed_) return make_error("audit_failed", "audit store failed; refusing further records");
    // What was queued before these events keeps its place in the chain.
    items.swap(queue_);
    ++busy_;
  }
  if (!items.empty()) space_.notify_all();
  const size_t queued = items.size();
  if (!inline_scratch_) inline_scratch_ = std::make_unique<Scratch>();
  uint64_t first = 0;
  // The events are encoded and stored where they are, and so come back with seq/hash filled in.
  Status st = commit(items, &events, *inline_scratch_, first);
  finish(items, st, first);
  if (!st.ok()) return st.error();
  return first + queued;
}

void Log::flush() {
  std::unique_lock lk(mu_);
  // Appends are refused before open and after close, so an idle log trivially satisfies this.
  if (!queue_.empty()) {
    urgent_ = true;
    cv_.notify_one();
  }
  if (!ckpt_due_.empty()) {
    urgent_ = true;
    cv_.notify_one();
  }
  drained_.wait(
      lk, [&] { return queue_.empty() && busy_ == 0 && ckpt_due_.empty() && ckpt_busy_ == 0; });
}

void Log::close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
    // A log whose open() failed (or never ran) holds a partial, possibly tampered tree: never
    // sign it. open() cannot run any more once closed_ is set.
    if (!opened_) return;
  }
  cv_.notify_all();
  space_.notify_all();
  if (writer_.joinable()) writer_.join();
  // The final checkpoint covers everything this process wrote (the writer drained the queue before
  // it exited). A poisoned log skips it: the store already failed.
  std::lock_guard commit_lk(commit_mu_);
  std::deque<DueCheckpoint> due;
  {
    std::lock_guard lk(mu_);
    due.swap(ckpt_due_);
  }
  for (const auto& d : due)
    if (!failed()) store_checkpoint(d);  // taken but not yet stored by the writer
  if (!failed()) maybe_checkpoint(true);
}

uint64_t Log::last_seq() const {
  std::lock_guard lk(mu_);
  return next_seq_ - 1;
}

bool Log::failed() const {
  std::lock_guard lk(mu_);
  return failed_;
}

Log::Stats Log::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

}  // namespace phigate::audit
