#pragma once
// Retention for the SQLite audit store (issue 6). Table (additive, no schema version bump):
//   audit_anchors(tree_size INTEGER PRIMARY KEY, record TEXT NOT NULL)   audit::anchor_to_json
// one row per prune; the newest (largest tree_size) governs. Older rows stay as the history of
// what was pruned when.
#include <string>

#include "audit/anchor.h"
#include "common/result.h"

namespace phigate::store {

// In one transaction on its own connection (safe while a gateway writes the same file): deletes
// audit records with seq <= anchor.tree_size and stores the anchor. Refuses (Error "store") unless
// the anchor advances past the newest stored one and record tree_size + 1 is already in SQLite
// (so the chain continues from the anchor inside the table, not from the journal).
// The caller has verified the pruned records and built the anchor (audit/retention.h).
Status prune_sqlite_audit_store(const std::string& path, const audit::Anchor& anchor);

}  // namespace phigate::store
