#pragma once
// Retention (audit.retention, issue 6): which prefix of the log may go, and the anchor that lets
// the rest verify (anchor.h). Pruning is by whole prefixes ending at a signed checkpoint:
//   - every record in the prefix is older than the cutoff (time_ns < cutoff_ns);
//   - the prefix ends exactly at a stored checkpoint's tree_size, so the anchor's frontier is
//     authenticated by that checkpoint's signed root;
//   - the newest record is never pruned (the chain must continue from a stored record).
// Before an anchor is built the prefix is verified (hash chain from the previous anchor, the
// checkpoint's signature and root): a tampered prefix is refused, never laundered into an anchor.
#include <cstdint>
#include <optional>
#include <string>

#include "audit/anchor.h"
#include "audit/checkpoint.h"
#include "audit/store.h"
#include "common/bytes.h"

namespace phigate::audit {

struct PrunePlan {
  std::optional<Anchor> anchor;  // nullopt: nothing to prune (see `reason`)
  std::string reason;
  uint64_t first_seq = 0;  // records first_seq..anchor->tree_size go
  uint64_t records = 0;
  Checkpoint checkpoint;  // the checkpoint the new anchor rests on
};

// Reads (never writes) `store`. Errors: "tampered" (the prefix does not verify), "no_key"
// (checkpoints but no public key), store errors.
Result<PrunePlan> plan_prune(Store& store, ByteSpan public_key, int64_t cutoff_ns,
                             const std::string& retention, int64_t now_ns);

// The audit event that records a prune (type "retention_prune"; ref_seq = anchor tree_size,
// rows = records pruned, bytes = blob bytes removed).
Event prune_event(const PrunePlan& plan, uint64_t blob_packs, uint64_t blob_bytes,
                  const std::string& actor);

}  // namespace phigate::audit
