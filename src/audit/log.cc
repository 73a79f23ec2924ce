#include "audit/log.h"

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

Status Log::open() {
  // The writer does not run yet, so holding mu_ across the store read blocks nobody useful.
  std::lock_guard lk(mu_);
  if (opened_ || closed_) return make_error("audit_closed", "audit log already opened or closed");
  auto last = store_->last();
  if (!last.ok()) return last.error();
  if (last->has_value()) {
    const Event& e = **last;
    next_seq_ = e.seq + 1;
    prev_hash_ = e.hash;
  }
  opened_ = true;
  writer_ = std::thread([this] { run(); });
  return ok_status();
}

void Log::append(Event e, Done done) {
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
  // The writer only sleeps when the queue is empty and re-checks under the lock, so waking it on
  // the empty -> non-empty edge is enough and keeps the common append free of a futex call.
  bool wake = queue_.empty();
  queue_.push_back(Item{std::move(e), std::move(done)});
  lk.unlock();
  if (wake) cv_.notify_one();
}

void Log::run() {
  std::deque<Item> items;
  std::vector<Event> batch;
  for (;;) {
    uint64_t seq;
    std::string prev;
    bool poisoned;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      items.swap(queue_);         // group commit: everything queued so far
      busy_ = true;
      seq = next_seq_;
      prev = prev_hash_;
      poisoned = failed_;
    }
    space_.notify_all();

    Status st = ok_status();
    if (poisoned) {
      st = make_error("audit_failed", "audit store failed; refusing further records");
    } else {
      batch.clear();
      batch.reserve(items.size());
      try {
        for (Item& it : items) {
          Event& e = it.event;
          e.seq = seq++;
          e.node_id = node_id_;
          e.prev_hash = std::move(prev);
          e.hash = chain_hash(e.prev_hash, canonical_json(e));
          prev = e.hash;
          batch.push_back(std::move(e));
        }
        st = store_->append(batch);
      } catch (const std::exception& ex) {
        st = make_error("exception", ex.what());
      }
      if (!st.ok()) {
        spdlog::error("audit: commit of {} records failed ({}: {}); failing closed", items.size(),
                      st.error().code, st.error().message);
        st = make_error("audit_failed", "audit commit failed: " + st.error().message);
      }
    }

    if (st.ok()) {
      std::lock_guard lk(mu_);
      next_seq_ = seq;
      prev_hash_ = prev;
      stats_.records += items.size();
      stats_.batches += 1;
    } else if (!poisoned) {
      std::lock_guard lk(mu_);
      failed_ = true;  // seq/prev_hash stay where the last good commit left them
    }
    if (!st.ok()) space_.notify_all();  // appenders waiting for space should now fail fast

    for (size_t i = 0; i < items.size(); ++i) {
      if (st.ok()) {
        call_done(items[i].done, batch[i].seq);
      } else {
        call_done(items[i].done, st.error());
      }
    }
    items.clear();

    // busy_ drops only after the callbacks ran, so flush() returning means every done was called.
    std::lock_guard lk(mu_);
    busy_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
  std::lock_guard lk(mu_);
  busy_ = false;
  drained_.notify_all();
}

void Log::flush() {
  std::unique_lock lk(mu_);
  // Appends are refused before open and after close, so an idle log trivially satisfies this.
  drained_.wait(lk, [&] { return queue_.empty() && !busy_; });
}

void Log::close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  space_.notify_all();
  if (writer_.joinable()) writer_.join();
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
