#include "audit/retention.h"

#include <vector>

#include "audit/canonical.h"
#include "audit/merkle.h"

namespace phigate::audit {

Result<PrunePlan> plan_prune(Store& store, ByteSpan public_key, int64_t cutoff_ns,
                             const std::string& retention, int64_t now_ns) {
  PrunePlan plan;
  auto prev = store.anchor();
  if (!prev.ok() && prev.error().code != "unsupported") return prev.error();
  std::optional<Anchor> anchor = prev.ok() ? *prev : std::nullopt;
  auto last = store.last();
  if (!last.ok()) return last.error();
  if (!last->has_value()) {
    plan.reason = "the audit log is empty";
    return plan;
  }
  const uint64_t last_seq = (*last)->seq;
  auto cps = store.checkpoints();
  if (!cps.ok()) {
    if (cps.error().code == "unsupported") {
      plan.reason = "the store keeps no checkpoints, so nothing can be pruned verifiably";
      return plan;
    }
    return cps.error();
  }
  const uint64_t base = anchor ? anchor->tree_size : 0;
  plan.first_seq = base + 1;

  // Scan the prefix of records older than the cutoff, checking the chain and accumulating the
  // tree; remember the state at each checkpoint boundary inside it.
  MerkleAccumulator tree;
  if (anchor) {
    auto restored = MerkleAccumulator::from_frontier(anchor->tree_size, anchor->frontier);
    if (!restored) return make_error("tampered", "retention anchor: malformed Merkle frontier");
    tree = std::move(*restored);
  }
  std::string prev_hash = anchor ? anchor->last_hash : kGenesisHash;
  uint64_t expected = base + 1;
  size_t next_cp = 0;
  while (next_cp < cps->size() && (*cps)[next_cp].tree_size <= base) ++next_cp;
  struct Candidate {
    const Checkpoint* cp;
    std::vector<Sha256> frontier;
    std::string last_hash;
    int64_t last_time_ns;
  };
  std::optional<Candidate> best;
  std::optional<Error> bad;
  Status st = store.scan(base + 1, [&](const Event& e) {
    if (e.seq >= last_seq || e.time_ns >= cutoff_ns) return false;  // end of the old prefix
    if (e.seq != expected) {
      bad = make_error("tampered", "seq " + std::to_string(e.seq) + ": gap (expected " +
                                       std::to_string(expected) + ")");
      return false;
    }
    if (chain_hash(e.prev_hash, canonical_json(e)) != e.hash) {
      bad = make_error("tampered", "seq " + std::to_string(e.seq) + ": hash mismatch (edited)");
      return false;
    }
    if (e.prev_hash != prev_hash) {
      bad = make_error("tampered", "seq " + std::to_string(e.seq) + ": prev_hash does not link");
      return false;
    }
    prev_hash = e.hash;
    ++expected;
    tree.append_leaf(to_json_line(e));
    while (next_cp < cps->size() && (*cps)[next_cp].tree_size < tree.size()) ++next_cp;
    if (next_cp < cps->size() && (*cps)[next_cp].tree_size == tree.size()) {
      best = Candidate{&(*cps)[next_cp], tree.frontier(), e.hash, e.time_ns};
      if (to_hex(tree.root()) != best->cp->root_hex) {
        bad = make_error("tampered", "checkpoint tree_size " + std::to_string(tree.size()) +
                                         ": Merkle root does not match the records");
        return false;
      }
    }
    return true;
  });
  if (bad) return *bad;
  if (!st.ok()) return st.error();
  if (!best) {
    plan.reason = "no signed checkpoint ends a run of records older than the cutoff";
    return plan;
  }
  if (public_key.empty()) return make_error("no_key", "no audit public key to check checkpoints");
  if (auto s = verify_checkpoint_signature(*best->cp, public_key); !s.ok()) {
    return make_error("tampered", "checkpoint tree_size " + std::to_string(best->cp->tree_size) +
                                      ": " + s.error().message);
  }
  Anchor a;
  a.tree_size = best->cp->tree_size;
  a.last_hash = best->last_hash;
  a.frontier = std::move(best->frontier);
  a.last_time_ns = best->last_time_ns;
  a.pruned_at_ns = now_ns;
  a.retention = retention;
  plan.records = a.tree_size - base;
  plan.checkpoint = *best->cp;
  plan.anchor = std::move(a);
  return plan;
}

Event prune_event(const PrunePlan& plan, uint64_t blob_packs, uint64_t blob_bytes,
                  const std::string& actor) {
  Event e;
  e.time_ns = plan.anchor ? plan.anchor->pruned_at_ns : 0;
  e.type = "retention_prune";
  e.sub = actor;
  e.action = "prune";
  e.status = "ok";
  if (plan.anchor) {
    const Anchor& a = *plan.anchor;
    e.ref_seq = a.tree_size;
    e.rows = plan.records;
    e.bytes = blob_bytes;
    e.message = "pruned records " + std::to_string(plan.first_seq) + ".." +
                std::to_string(a.tree_size) + " (retention " + a.retention + ")" +
                " at signed checkpoint tree_size " + std::to_string(a.tree_size) + " (root " +
                plan.checkpoint.root_hex + "); chain anchor " + a.last_hash + "; " +
                std::to_string(blob_packs) + " capture packs removed";
  }
  return e;
}

}  // namespace phigate::audit
