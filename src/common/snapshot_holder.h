#pragma once
// An immutable snapshot behind a pointer that a reload swaps (DESIGN.md §1, §8: no locks on the
// per-request path). libstdc++'s atomic shared_ptr load takes a lock from a global pool, so each
// thread keeps the snapshot it last loaded and reloads only when the holder's generation moved.
// Generations are unique across all holders of every type: a holder built where a destroyed one
// lived never matches a thread's stale cache.
#include <atomic>
#include <cstdint>
#include <memory>

namespace phigate {

inline uint64_t next_snapshot_generation() {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

template <class T>
class SnapshotHolder {
 public:
  explicit SnapshotHolder(std::shared_ptr<const T> s)
      : current_(std::move(s)), generation_(next_snapshot_generation()) {}
  SnapshotHolder(const SnapshotHolder&) = delete;
  SnapshotHolder& operator=(const SnapshotHolder&) = delete;

  std::shared_ptr<const T> get() const {
    thread_local const SnapshotHolder* owner = nullptr;
    thread_local uint64_t seen = 0;
    thread_local std::shared_ptr<const T> cached;
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (owner != this || seen != gen || !cached) {
      cached = std::atomic_load(&current_);
      owner = this;
      seen = gen;
    }
    return cached;
  }
  void set(std::shared_ptr<const T> s) {
    std::atomic_store(&current_, std::move(s));
    // After the store, so a reader that sees the new generation loads the new snapshot.
    generation_.store(next_snapshot_generation(), std::memory_order_release);
  }

 private:
  std::shared_ptr<const T> current_;
  std::atomic<uint64_t> generation_;
};

}  // namespace phigate
