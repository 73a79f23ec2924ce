#include "policy/grants.h"

#include <algorithm>

namespace phigate {

namespace {
std::string identity_key(std::string_view sub, std::string_view issuer) {
  std::string k;
  k.reserve(sub.size() + issuer.size() + 1);
  k.append(sub).append(1, '\n').append(issuer);
  return k;
}
}  // namespace

GrantSet::GrantSet(std::vector<Grant> grants) : grants_(std::move(grants)) {
  for (size_t i = 0; i < grants_.size(); ++i)
    by_identity_[identity_key(grants_[i].sub, grants_[i].issuer)].push_back(i);
}

void GrantSet::roles_for(const Identity& id, std::string_view resource, int64_t now_ns,
                         std::vector<std::string>& out) const {
  if (by_identity_.empty()) return;
  auto it = by_identity_.find(identity_key(id.sub, id.issuer));
  if (it == by_identity_.end()) return;
  for (size_t i : it->second) {
    const Grant& g = grants_[i];
    // Strictly before expiry: the statement at the expiry instant already runs without the grant.
    if (g.resource != resource || now_ns >= g.expires_ns) continue;
    if (std::find(out.begin(), out.end(), g.role) == out.end()) out.push_back(g.role);
  }
}

const Identity& effective_identity(const GrantHolder* grants, const Identity& id,
                                   std::string_view resource, int64_t now_ns, Identity& scratch) {
  if (!grants) return id;
  auto set = grants->get();
  if (set->empty()) return id;
  std::vector<std::string> extra;
  set->roles_for(id, resource, now_ns, extra);
  if (extra.empty()) return id;
  scratch = id;
  for (auto& r : extra)
    if (std::find(scratch.roles.begin(), scratch.roles.end(), r) == scratch.roles.end())
      scratch.roles.push_back(r);
  return scratch;
}

}  // namespace phigate
