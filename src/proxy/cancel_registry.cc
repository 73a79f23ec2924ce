#include "proxy/cancel_registry.h"

#include "common/crypto.h"

namespace phigate::proxy {

std::pair<int32_t, int32_t> CancelRegistry::add(CancelTarget target) {
  std::lock_guard lock(mu_);
  for (;;) {
    // Positive pids, like a real server's, since some clients print or compare them.
    int32_t pid = static_cast<int32_t>(random_u32() & 0x3fffffff) + 1;
    int32_t key = static_cast<int32_t>(random_u32());
    if (targets_.emplace(std::make_pair(pid, key), std::move(target)).second) return {pid, key};
  }
}

void CancelRegistry::remove(int32_t pid, int32_t key) {
  std::lock_guard lock(mu_);
  targets_.erase({pid, key});
}

std::optional<CancelTarget> CancelRegistry::find(int32_t pid, int32_t key) const {
  std::lock_guard lock(mu_);
  auto it = targets_.find({pid, key});
  if (it == targets_.end()) return std::nullopt;
  return it->second;
}

}  // namespace phigate::proxy
