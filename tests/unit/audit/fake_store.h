#pragma once
// In-memory audit::Store for Log tests. State lives in a shared_ptr so a test can inspect it after
// handing the store to a Log, and "restart" by giving the same state to a new Log.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

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
  std::optional<Anchor> anchor;  // retention: rows start after anchor->tree_size
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
    }
    for (const auto& e : copy) {
      if (e.seq >= from && !fn(e)) break;
    }
    return ok_status();
  }

  Status append_checkpoint(const Checkpoint& c) override {
    std::lock_guard lk(s_->mu);
    if (s_->fail) return make_error("io", "disk on fire");
    for (const auto& o : s_->checkpoints) {
      if (o.tree_size == c.tree_size) return make_error("store", "duplicate checkpoint");
    }
    s_->checkpoints.push_back(c);
    return ok_status();
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

}  // namespace phigate::audit::testing
