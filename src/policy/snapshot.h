#pragma once
// Policy compiled once into an immutable snapshot; sessions take the current one per request and a
// reload swaps the pointer (DESIGN.md §1).
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "policy/config.h"
#include "policy/request.h"

namespace phigate {

class CompiledPolicy;
class Stage;

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
};

// Holds the current snapshot; load/store are atomic so reload never blocks sessions.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const PolicySnapshot> s) : current_(std::move(s)) {}
  std::shared_ptr<const PolicySnapshot> get() const { return std::atomic_load(&current_); }
  void set(std::shared_ptr<const PolicySnapshot> s) { std::atomic_store(&current_, std::move(s)); }

 private:
  std::shared_ptr<const PolicySnapshot> current_;
};

}  // namespace phigate
