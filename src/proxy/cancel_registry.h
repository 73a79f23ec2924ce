#pragma once
// Maps the BackendKeyData phigate hands to clients onto the real upstream backend, so a
// CancelRequest (which arrives on a fresh connection, maybe on another thread) reaches the right
// server process (§55.2.7). Touched only at session start/end and on cancel: a mutex is fine here.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace phigate::proxy {

struct CancelTarget {
  std::string host;
  uint16_t port = 0;
  int32_t pid = 0;
  int32_t key = 0;
  std::string session_id;
};

class CancelRegistry {
 public:
  // Allocates a fresh (pid, key) pair for a client and remembers where it leads.
  std::pair<int32_t, int32_t> add(CancelTarget target);
  void remove(int32_t pid, int32_t key);
  // The key must match too: a guessed pid alone cancels nothing.
  std::optional<CancelTarget> find(int32_t pid, int32_t key) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<int32_t, int32_t>, CancelTarget> targets_;
};

}  // namespace phigate::proxy
