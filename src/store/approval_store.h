#pragma once
// Durable state of approval requests (held statements and JIT access requests), so a decision
// survives a restart and `phigate approvals list` shows what waits. Implemented by store/sqlite;
// chosen only in main.cc. Not on the per-statement path: written when a request is held or decided.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace phigate::store {

struct ApprovalRecord {
  std::string id;
  std::string kind;   // "statement" (a held request) | "access" (a JIT access window)
  std::string state;  // pending | approved | denied | timed_out | cancelled
  // requester
  std::string sub, issuer, act_sub, session_id;
  std::string resource, protocol, rule, role;
  std::string summary;      // statement text / "METHOD /path" / "ROLE on RESOURCE for 1h"
  std::string fingerprint;  // hex digest binding the approval to exactly one request
  std::string reason;       // the requester's reason (access requests)
  int64_t created_ns = 0, deadline_ns = 0, decided_ns = 0;
  // decision
  std::string reviewer_sub, reviewer_issuer, decision_reason;
  // access windows: requested length and, once approved, when the grant ends
  int64_t duration_ns = 0, grant_expires_ns = 0;
};

class ApprovalStore {
 public:
  virtual ~ApprovalStore() = default;
  // Inserts or replaces the record with this id; durable when it returns ok.
  virtual Status put(const ApprovalRecord& r) = 0;
  virtual Result<std::optional<ApprovalRecord>> get(const std::string& id) = 0;
  // Newest first, at most `limit`; `state` empty = any state, `kind` empty = any kind.
  virtual Result<std::vector<ApprovalRecord>> list(const std::string& state,
                                                   const std::string& kind, size_t limit) = 0;
  // Approved access requests whose grant ends after `now_ns` (restored into the grant set).
  virtual Result<std::vector<ApprovalRecord>> active_grants(int64_t now_ns) = 0;
};

}  // namespace phigate::store
