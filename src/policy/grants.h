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

#include "common/snapshot_holder.h"
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

// Current grants; get() is lock-free after the first call per thread.
class GrantHolder : public SnapshotHolder<GrantSet> {
 public:
  GrantHolder() : SnapshotHolder(std::make_shared<const GrantSet>(std::vector<Grant>{})) {}
};

// The identity policy should see for `resource` now: `id` itself when no grant applies (no copy),
// otherwise `scratch` filled with id plus the granted roles. `grants` may be null.
const Identity& effective_identity(const GrantHolder* grants, const Identity& id,
                                   std::string_view resource, int64_t now_ns, Identity& scratch);

}  // namespace phigate
