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

}  // namespace phigate::audit
