// Offline chain verification (`phigate audit verify`). Reads only through the Store interface, so
// the same check runs against SQLite, PostgreSQL or anything else that holds the records.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/canonical.h"
#include "audit/log.h"

namespace phigate::audit {

namespace {

// The chain check, calling `each` for every record that passed it (in seq order). After a prune
// the chain starts at the anchor (anchor.h) instead of the genesis hash.
Result<uint64_t> check_chain(Store& store, const std::optional<Anchor>& anchor,
                             const std::function<void(const Event&)>& each) {
  uint64_t count = 0;
  uint64_t expected = anchor ? anchor->tree_size + 1 : 1;
  std::string prev = anchor ? anchor->last_hash : kGenesisHash;
  std::optional<Error> bad;
  auto fail = [&](uint64_t seq, const std::string& what) {
    bad = make_error("tampered", "seq " + std::to_string(seq) + ": " + what);
    return false;
  };
  // From 0, not 1: a forged record at seq 0 (or below) must show up too.
  Status st = store.scan(0, [&](const Event& e) {
    if (e.seq != expected) {
      return fail(e.seq, (e.seq > expected ? "gap (expected " : "out of order (expected ") +
                             std::to_string(expected) + ")");
    }
    // The record's own hash first: it proves whether this record's content was edited. A record
    // edited with its hash recomputed shows up one step later, as the next record's broken link.
    if (chain_hash(e.prev_hash, canonical_json(e)) != e.hash) {
      return fail(e.seq, "hash mismatch \xE2\x80\x94 record edited");
    }
    if (e.prev_hash != prev) {
      if (e.seq == 1) return fail(e.seq, "prev_hash is not the genesis hash");
      return fail(e.seq, anchor && e.seq == anchor->tree_size + 1
                             ? "prev_hash does not match the retention anchor"
                             : "prev_hash does not match seq " + std::to_string(e.seq - 1));
    }
    prev = e.hash;
    ++expected;
    ++count;
    if (each) each(e);
    return true;
  });
  if (bad) return *bad;
  if (!st.ok()) return st.error();
  return count;
}

Error bad_checkpoint(const Checkpoint& c, const std::string& what) {
  return make_error("tampered",
                    "checkpoint tree_size " + std::to_string(c.tree_size) + ": " + what);
}

Result<std::optional<Anchor>> read_anchor(Store& store) {
  auto a = store.anchor();
  if (!a.ok() && a.error().code == "unsupported") return std::optional<Anchor>();
  return a;
}

}  // namespace

Result<uint64_t> verify_chain(Store& store) {
  auto anchor = read_anchor(store);
  if (!anchor.ok()) return anchor.error();
  return check_chain(store, *anchor, nullptr);
}

Result<VerifyReport> verify_log(Store& store, ByteSpan public_key) {
  // Checkpoints are read before the records: whatever a checkpoint read now covers was written
  // before it, so the later scan sees those records even while a gateway keeps appending.
  std::vector<Checkpoint> cps;
  if (auto r = store.checkpoints(); r.ok()) {
    cps = std::move(*r);
  } else if (r.error().code != "unsupported") {
    return r.error();
  }
  if (!cps.empty() && public_key.empty()) {
    return make_error("no_key", std::to_string(cps.size()) +
                                    " checkpoints stored but no audit public key to check them");
  }
  for (const Checkpoint& c : cps) {
    if (auto st = verify_checkpoint_signature(c, public_key); !st.ok()) {
      return bad_checkpoint(c, st.error().message);
    }
  }
  // Retention: the tree resumes from the anchor's frontier, which must reproduce the root signed by
  // the checkpoint at the anchor's tree_size. Checkpoints below it keep their (verified)
  // signatures but their records are gone, so their roots cannot be recomputed.
  auto anchor = read_anchor(store);
  if (!anchor.ok()) return anchor.error();
  MerkleAccumulator tree;
  size_t next = 0;
  uint64_t pruned_checkpoints = 0;
  if (*anchor) {
    const Anchor& a = **anchor;
    auto bad_anchor = [&](const std::string& what) {
      return make_error(
          "tampered", "retention anchor at tree_size " + std::to_string(a.tree_size) + ": " + what);
    };
    while (next < cps.size() && cps[next].tree_size < a.tree_size) ++next;
    pruned_checkpoints = next;
    if (next == cps.size() || cps[next].tree_size != a.tree_size) {
      return bad_anchor("no signed checkpoint at this tree_size");
    }
    auto restored = MerkleAccumulator::from_frontier(a.tree_size, a.frontier);
    if (!restored) return bad_anchor("malformed Merkle frontier");
    if (to_hex(restored->root()) != cps[next].root_hex) {
      return bad_anchor("Merkle frontier does not reproduce the signed root " + cps[next].root_hex);
    }
    tree = std::move(*restored);
  }
  std::optional<Error> bad;
  auto compare = [&] {
    while (next < cps.size() && cps[next].tree_size == tree.size()) {
      const Checkpoint& c = cps[next++];
      std::string got = to_hex(tree.root());
      if (!bad && got != c.root_hex) {
        bad = bad_checkpoint(c, "Merkle root of the first " + std::to_string(c.tree_size) +
                                    " records is " + got + ", checkpoint signed " + c.root_hex);
      }
    }
  };
  compare();  // a (pointless but valid) checkpoint of the empty tree
  auto count = check_chain(store, *anchor, [&](const Event& e) {
    tree.append_leaf(to_json_line(e));
    compare();
  });
  if (!count.ok()) return count.error();
  if (bad) return *bad;
  if (next < cps.size()) {
    return bad_checkpoint(cps[next],
                          "log holds only " + std::to_string(tree.size()) + " records (truncated)");
  }
  VerifyReport report{*count, cps.size()};
  if (*anchor) {
    report.pruned = (*anchor)->tree_size;
    report.pruned_checkpoints = pruned_checkpoints;
  }
  return report;
}

}  // namespace phigate::audit
