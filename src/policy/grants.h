#pragma once
// JIT access windows (DESIGN.md §3 `phigate access request`): an approved request lets one identity
// hold one role on one resource until it expires. The data path reads grants on every statement,
// so they live in an immutable snapshot swapped atomically (the PolicyHolder pattern): readers take
// no lock, and the approvals service publishes a new set whenever a grant starts or ends.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "identity/identity.h"

namespace phigate {

struct Grant {
  std::string id;  // the access request that created it
  std::string sub, issuer, resource, role;
  int64_t expires_ns = 0;  // wall clock; the grant ends at the first statement after this
};

class GrantSet {
 public:
  explicit GrantSet(std::vector<Grant> grants);
  bool empty() const { return by_identity_.empty(); }
  // Roles `id` holds on `resource` through grants still active at `now_ns`, in grant order.
  void roles_for(const Identity& id, std::string_view resource, int64_t now_ns,
                 std::vector<std::string>& out) const;
  const std::vector<Grant>& all() const { return grants_; }

 private:
  std::vector<Grant> grants_;
  // "sub\nissuer" -> indexes into grants_.
  std::unordered_map<std::string, std::vector<size_t>> by_identity_;
};

// Current grants; get() is lock-free after the first call per thread (see PolicyHolder).
class GrantHolder {
 public:
  GrantHolder() : current_(std::make_shared<const GrantSet>(std::vector<Grant>{})) {}
  std::shared_ptr<const GrantSet> get() const {
    thread_local const GrantHolder* owner = nullptr;
    thread_local uint64_t seen = 0;
    thread_local std::shared_ptr<const GrantSet> cached;
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (owner != this || seen != gen || !cached) {
      cached = std::atomic_load(&current_);
      owner = this;
      seen = gen;
    }
    return cached;
  }
  void set(std::shared_ptr<const GrantSet> s) {
    std::atomic_store(&current_, std::move(s));
    generation_.store(next_generation(), std::memory_order_release);
  }

 private:
  std::shared_ptr<const GrantSet> current_;
  std::atomic<uint64_t> generation_{next_generation()};
  static uint64_t next_generation() {
    static std::atomic<uint64_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed) + 1;
  }
};

// The identity policy should see for `resource` now: `id` itself when no grant applies (no copy),
// otherwise `scratch` filled with id plus the granted roles. `grants` may be null.
const Identity& effective_identity(const GrantHolder* grants, const Identity& id,
                                   std::string_view resource, int64_t now_ns, Identity& scratch);

}  // namespace phigate
