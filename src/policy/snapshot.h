#pragma once
// Policy compiled once into an immutable snapshot; sessions take the current one per request and a
// reload swaps the pointer (DESIGN.md §1).
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "common/snapshot_holder.h"
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
class PolicyHolder : public SnapshotHolder<PolicySnapshot> {
 public:
  using SnapshotHolder::SnapshotHolder;
};

}  // namespace phigate
