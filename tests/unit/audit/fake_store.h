#pragma once
// In-memory audit::Store for Log tests. State lives in a shared_ptr so a test can inspect it after
// handing the store to a Log, and "restart" by giving the same state to a new Log.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/store.h"

namespace phigate::audit::testing {

struct FakeState {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Event> rows;
  std::vector<size_t> batch_sizes;
  bool fail = false;         // next appends fail
  bool gate_closed = false;  // append blocks while true (lets a test hold a batch "in flight")
  int in_append = 0;
  int append_calls = 0;
  std::vector<Checkpoint> checkpoints;
  // Frontier stored with checkpoints[i] (empty vector: none, as in stores older than frontiers).
  std::vector<std::vector<Sha256>> frontiers;
  bool keep_frontiers = true;       // false: behave like a store that cannot keep them
  std::vector<uint64_t> scan_from;  // the `from` of every scan, to see what open() read
  std::optional<Anchor> anchor;     // retention: rows start after anchor->tree_size
};

class FakeStore : public Store {
 public:
  explicit FakeStore(std::shared_ptr<FakeState> s) : s_(std::move(s)) {}
  Status append(const std::vector<Event>& batch) override {
    std::unique_lock lk(s_->mu);
    ++s_->append_calls;
    ++s_->in_append;
    s_->cv.notify_all();
    s_->cv.wait(lk, [&] { return !s_->gate_closed; });
    --s_->in_append;
    if (s_->fail) return make_error("io", "disk on fire");
    s_->rows.insert(s_->rows.end(), batch.begin(), batch.end());
    s_->batch_sizes.push_back(batch.size());
    return ok_status();
  }
  Result<std::optional<Event>> last() override {
    std::lock_guard lk(s_->mu);
    if (s_->rows.empty()) return std::optional<Event>();
    return std::optional<Event>(s_->rows.back());
  }
  Status scan(uint64_t from, const std::function<bool(const Event&)>& fn) override {
    std::vector<Event> copy;
    {
      std::lock_guard lk(s_->mu);
      copy = s_->rows;
      s_->scan_from.push_back(from);
    }
    for (const auto& e : copy) {
      if (e.seq >= from && !fn(e)) break;
    }
    return ok_status();
  }

  Status append_checkpoint(const Checkpoint& c) override { return add_checkpoint(c, {}); }
  Status append_checkpoint_with_frontier(const Checkpoint& c,
                                         const std::vector<Sha256>& frontier) override {
    return add_checkpoint(c, s_->keep_frontiers ? frontier : std::vector<Sha256>{});
  }
  Result<std::optional<CheckpointFrontier>> newest_checkpoint_frontier() override {
    std::lock_guard lk(s_->mu);
    std::optional<CheckpointFrontier> out;
    for (size_t i = 0; i < s_->checkpoints.size(); ++i) {
      if (i >= s_->frontiers.size() || s_->frontiers[i].empty()) continue;
      if (!out || s_->checkpoints[i].tree_size > out->checkpoint.tree_size) {
        out = CheckpointFrontier{s_->checkpoints[i], s_->frontiers[i]};
      }
    }
    return out;
  }
  Result<std::vector<Checkpoint>> checkpoints() override {
    std::lock_guard lk(s_->mu);
    return s_->checkpoints;
  }
  Result<std::optional<Anchor>> anchor() override {
    std::lock_guard lk(s_->mu);
    return s_->anchor;
  }

 private:
  Status add_checkpoint(const Checkpoint& c, std::vector<Sha256> frontier) {
    std::lock_guard lk(s_->mu);
    if (s_->fail) return make_error("io", "disk on fire");
    for (const auto& o : s_->checkpoints) {
      if (o.tree_size == c.tree_size) return make_error("store", "duplicate checkpoint");
    }
    s_->checkpoints.push_back(c);
    s_->frontiers.resize(s_->checkpoints.size() - 1);
    s_->frontiers.push_back(std::move(frontier));
    return ok_status();
  }

  std::shared_ptr<FakeState> s_;
};

inline void set_gate(FakeState& s, bool closed) {
  std::lock_guard lk(s.mu);
  s.gate_closed = closed;
  s.cv.notify_all();
}

// Waits until the writer is blocked inside append (i.e. a batch is in flight).
inline void wait_in_append(FakeState& s) {
  std::unique_lock lk(s.mu);
  s.cv.wait(lk, [&] { return s.in_append > 0; });
}

// Record i of a test log: one session, time_ns = 1000 + i.
inline Event numbered_event(int i) {
  Event e;
  e.time_ns = 1000 + i;
  e.session_id = "s1";
  e.type = "statement";
  e.sub = "alice";
  e.action = "SELECT " + std::to_string(i);
  return e;
}

// One checkpoint signing key per test binary (generating one per test is the slow part).
inline std::shared_ptr<const CheckpointKey> test_checkpoint_key() {
  static auto k = *CheckpointKey::generate();
  return k;
}

}  // namespace phigate::audit::testing
