#pragma once
// SQLite ApprovalStore in its own file (<data_dir>/approvals.db): kept apart from the audit
// database so neither schema's version or page setup depends on the other.
//
// Schema (PRAGMA user_version = 1):
//   approvals(id TEXT PRIMARY KEY, kind, state, sub, issuer, act_sub, session_id, resource,
//             protocol, rule, role, summary, fingerprint, reason, created_ns, deadline_ns,
//             decided_ns, reviewer_sub, reviewer_issuer, decision_reason, duration_ns,
//             grant_expires_ns); index on (state, created_ns).
// Threading: the object serializes its own callers (one internal mutex).
#include <memory>
#include <string>

#include "store/approval_store.h"

namespace phigate::store {

// Creates the file and its parent directories if needed; ":memory:" for tests.
Result<std::unique_ptr<ApprovalStore>> open_sqlite_approval_store(const std::string& path);

}  // namespace phigate::store
