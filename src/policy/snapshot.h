#pragma once
// Policy compiled once into an immutable snapshot; sessions take the current one per request and a
// reload swaps the pointer (DESIGN.md §1).
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "policy/config.h"
#include "policy/request.h"

namespace phigate {

class CompiledPolicy;
class Stage;
namespace mask {
class MaskProfile;
}

class PolicySnapshot {
 public:
  // Fails when the policy part of `config` is invalid (validate_policy); a Config from the loader
  // has passed that already.
  static Result<std::shared_ptr<const PolicySnapshot>> compile(const Config& config,
                                                               uint64_t version);
  uint64_t version() const { return version_; }
  const Config& config() const { return config_; }
  // Whether any of the identity's roles lists the resource (authorization of the connection).
  bool can_access(const Identity& id, std::string_view resource) const;
  // Runs the stage pipeline for one request and returns the final verdict (never kContinue).
  Verdict decide(const Request& req) const;
  // The masking profile for a statement: that of the role whose rule decided (`role`, may have
  // none), or — when no role decided (plumbing) — of the identity's first role on the resource
  // that has one. Null: no masking.
  std::shared_ptr<const mask::MaskProfile> masking_for(const Identity& id,
                                                       std::string_view resource,
                                                       std::string_view role) const;

  ~PolicySnapshot();
  PolicySnapshot(const PolicySnapshot&) = delete;
  PolicySnapshot& operator=(const PolicySnapshot&) = delete;

 private:
  PolicySnapshot() = default;
  Config config_;
  uint64_t version_ = 0;
  // Built from config_ after it is in place; they point into it, so the snapshot never moves.
  std::unique_ptr<const CompiledPolicy> compiled_;
  std::vector<std::unique_ptr<const Stage>> stages_;
  // Masking profiles by name, compiled with their secrets; a profile that does not compile makes
  // compile() fail, so serve refuses to start and a reload keeps the old snapshot.
  std::map<std::string, std::shared_ptr<const mask::MaskProfile>, std::less<>> masks_;
};

// Holds the current snapshot; load/store are atomic so reload never blocks sessions.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const PolicySnapshot> s)
      : current_(std::move(s)), generation_(next_generation()) {}
  // Per-request path: libstdc++'s atomic shared_ptr load takes a lock from a global pool, so each
  // thread keeps the snapshot it last loaded and reloads only when the generation moved.
  std::shared_ptr<const PolicySnapshot> get() const {
    thread_local const PolicyHolder* owner = nullptr;
    thread_local uint64_t seen = 0;
    thread_local std::shared_ptr<const PolicySnapshot> cached;
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (owner != this || seen != gen || !cached) {
      cached = std::atomic_load(&current_);
      owner = this;
      seen = gen;
    }
    return cached;
  }
  void set(std::shared_ptr<const PolicySnapshot> s) {
    std::atomic_store(&current_, std::move(s));
    // After the store, so a reader that sees the new generation loads the new snapshot.
    generation_.store(next_generation(), std::memory_order_release);
  }

 private:
  std::shared_ptr<const PolicySnapshot> current_;
  // Unique across holders too: a holder built where a destroyed one lived never matches a
  // thread's stale cache.
  std::atomic<uint64_t> generation_;
  static uint64_t next_generation() {
    static std::atomic<uint64_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed) + 1;
  }
};

}  // namespace phigate
