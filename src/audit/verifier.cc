#include "audit/verifier.h"

#include <algorithm>
#include <thread>

#include "audit/record_view.h"

namespace phigate::audit {
namespace {

// ~8 ms of hashing per batch: large enough that handing half to a thread costs nothing, small
// enough to bound memory (lines are copied into the batch).
constexpr size_t kBatchRecords = 8192;
constexpr size_t kBatchBytes = size_t(16) << 20;
constexpr uint64_t kProgressEvery = 65536;
constexpr size_t kRecent = 1024;

Error tampered_seq(uint64_t seq, const std::string& what) {
  return make_error("tampered", "seq " + std::to_string(seq) + ": " + what);
}

Error bad_checkpoint(uint64_t size, const std::string& what) {
  return make_error("tampered", "checkpoint tree_size " + std::to_string(size) + ": " + what);
}

bool hex_to_raw(std::string_view hex, Sha256& out) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 32; ++i) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

struct LineVerifier::Batch {
  std::string arena;
  std::vector<size_t> begin;  // line i is arena[begin[i], begin[i+1])
  std::vector<uint64_t> keys;
  std::vector<RecordView> views;
  std::vector<uint8_t> parsed, chain_ok;
  std::vector<Sha256> leaf;

  size_t size() const { return keys.size(); }
  std::string_view line(size_t i) const {
    size_t end = i + 1 < begin.size() ? begin[i + 1] : arena.size();
    return std::string_view(arena).substr(begin[i], end - begin[i]);
  }
  void clear() {
    arena.clear();
    begin.clear();
    keys.clear();
  }
  // The order-independent part: parse, chain hash, leaf hash for lines [from, to).
  void compute(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      std::string_view l = line(i);
      parsed[i] = parse_record_view(l, views[i]);
      if (!parsed[i]) continue;
      uint8_t d[32];
      record_chain_digest(l, views[i], d);
      chain_ok[i] = digest_equals_hex(d, views[i].hash);
      leaf[i] = merkle_leaf_hash(l);
    }
  }
};

LineVerifier::LineVerifier(std::vector<Checkpoint> checkpoints, VerifyOptions opts)
    : batch_(std::make_unique<Batch>()), cps_(std::move(checkpoints)), opts_(std::move(opts)) {
  std::stable_sort(cps_.begin(), cps_.end(), [](const Checkpoint& a, const Checkpoint& b) {
    return a.tree_size < b.tree_size;
  });
  recent_.resize(kRecent);
  // A (pointless but valid) checkpoint of the empty tree.
  while (next_cp_ < cps_.size() && cps_[next_cp_].tree_size == 0) {
    const Checkpoint& c = cps_[next_cp_++];
    if (to_hex(merkle_empty_root()) != c.root_hex && !cp_bad_) {
      cp_bad_ = bad_checkpoint(0, "root is not the empty tree's");
    }
  }
}

LineVerifier::~LineVerifier() = default;

Status LineVerifier::start_from(const Anchor& a) {
  auto bad_anchor = [&](const std::string& what) {
    return make_error("tampered",
                      "retention anchor at tree_size " + std::to_string(a.tree_size) + ": " + what);
  };
  size_t at = 0;
  while (at < cps_.size() && cps_[at].tree_size < a.tree_size) ++at;
  if (at == cps_.size() || cps_[at].tree_size != a.tree_size)
    return bad_anchor("no signed checkpoint at this tree_size");
  auto restored = MerkleAccumulator::from_frontier(a.tree_size, a.frontier);
  if (!restored) return bad_anchor("malformed Merkle frontier");
  if (to_hex(restored->root()) != cps_[at].root_hex)
    return bad_anchor("Merkle frontier does not reproduce the signed root " + cps_[at].root_hex);
  if (!hex_to_raw(a.last_hash, prev_)) return bad_anchor("malformed last_hash");
  tree_ = std::move(*restored);
  prev_genesis_ = false;
  expected_ = a.tree_size + 1;
  // Checkpoints over the pruned prefix: signatures verified by the caller, roots not recomputable.
  pruned_checkpoints_ = at;
  next_cp_ = at + 1;
  cp_bad_.reset();
  pruned_ = a.tree_size;
  return ok_status();
}

bool LineVerifier::add(uint64_t key, std::string_view line) {
  if (bad_) return false;
  Batch& b = *batch_;
  b.begin.push_back(b.arena.size());
  b.arena.append(line);
  b.keys.push_back(key);
  if (b.size() >= kBatchRecords || b.arena.size() >= kBatchBytes) return run_batch();
  return true;
}

std::optional<Error> LineVerifier::flush() {
  if (!bad_) run_batch();
  return bad_;
}

bool LineVerifier::run_batch() {
  Batch& b = *batch_;
  const size_t n = b.size();
  if (n == 0) return !bad_;
  b.views.resize(n);
  b.parsed.assign(n, 0);
  b.chain_ok.assign(n, 0);
  b.leaf.resize(n);
  if (opts_.parallel && n >= 256 && std::thread::hardware_concurrency() > 1) {
    std::thread helper([&] { b.compute(0, n / 2); });
    b.compute(n / 2, n);
    helper.join();
  } else {
    b.compute(0, n);
  }
  for (size_t i = 0; i < n && !bad_; ++i) check(i);
  b.clear();
  return !bad_;
}

void LineVerifier::check(size_t i) {
  Batch& b = *batch_;
  const RecordView& v = b.views[i];
  const uint64_t key = b.keys[i];
  if (!b.parsed[i]) {
    bad_ = opts_.key_is_line_number ? make_error("tampered", "line " + std::to_string(key) +
                                                                 ": not a well-formed audit record")
                                    : tampered_seq(key, "record is not a well-formed audit record");
    return;
  }
  const uint64_t seq = v.seq;
  if (!opts_.key_is_line_number && key != seq) {
    bad_ = tampered_seq(key, "filed as seq " + std::to_string(key) +
                                 " but holds the record of seq " + std::to_string(seq) +
                                 " \xE2\x80\x94 records reordered or renumbered");
    return;
  }
  if (seq != expected_) {
    if (seq > expected_) {
      // Reordered rather than deleted if the missing record shows up later in this batch.
      for (size_t j = i + 1; j < b.size(); ++j) {
        if (b.parsed[j] && b.views[j].seq == expected_) {
          bad_ = tampered_seq(expected_, "out of order \xE2\x80\x94 found after seq " +
                                             std::to_string(seq) + " (records reordered)");
          return;
        }
      }
      std::string range = std::to_string(expected_);
      if (seq - 1 > expected_) range += ".." + std::to_string(seq - 1);
      bad_ = make_error("tampered", "seq " + range +
                                        ": missing \xE2\x80\x94 deleted (the next "
                                        "record present is seq " +
                                        std::to_string(seq) + ")");
    } else if (seq == 0) {
      bad_ = tampered_seq(seq, "forged record before the first one (inserted)");
    } else {
      bad_ = tampered_seq(seq, "out of order (expected " + std::to_string(expected_) +
                                   ") \xE2\x80\x94 record duplicated or moved");
    }
    return;
  }
  if (!b.chain_ok[i]) {
    bad_ = tampered_seq(seq, "hash mismatch \xE2\x80\x94 record edited");
    return;
  }
  bool linked =
      prev_genesis_ ? v.prev_hash == kGenesisHash : digest_equals_hex(prev_.data(), v.prev_hash);
  if (!linked) {
    if (pruned_ > 0 && seq == pruned_ + 1) {
      bad_ = make_error("tampered", "retention anchor at tree_size " + std::to_string(pruned_) +
                                        ": its last_hash is not seq " + std::to_string(seq) +
                                        "'s prev_hash \xE2\x80\x94 anchor or record edited");
      return;
    }
    if (seq == 1) {
      bad_ = tampered_seq(seq, "prev_hash is not the genesis hash");
      return;
    }
    std::optional<uint64_t> points_to;
    Sha256 want{};
    if (hex_to_raw(v.prev_hash, want)) {
      for (const auto& [s, h] : recent_) {
        if (s != 0 && h == want) points_to = s;
      }
    }
    if (points_to) {
      bad_ = tampered_seq(seq, "prev_hash links to seq " + std::to_string(*points_to) +
                                   ", not seq " + std::to_string(seq - 1) +
                                   " \xE2\x80\x94 records were removed or moved and the rest "
                                   "renumbered");
    } else {
      bad_ = tampered_seq(seq, "prev_hash does not match seq " + std::to_string(seq - 1) +
                                   " \xE2\x80\x94 seq " + std::to_string(seq - 1) +
                                   " was rewritten with a recomputed hash, or a record was "
                                   "inserted before seq " +
                                   std::to_string(seq));
    }
    return;
  }
  hex_to_raw(v.hash, prev_);
  prev_genesis_ = false;
  recent_[recent_at_] = {seq, prev_};
  recent_at_ = (recent_at_ + 1) % recent_.size();
  tree_.append_leaf_hash(b.leaf[i]);
  ++expected_;
  ++done_;
  while (next_cp_ < cps_.size() && cps_[next_cp_].tree_size == tree_.size()) {
    const Checkpoint& c = cps_[next_cp_++];
    if (cp_bad_) continue;
    std::string got = to_hex(tree_.root());
    if (got != c.root_hex) {
      uint64_t from = next_cp_ >= 2 ? cps_[next_cp_ - 2].tree_size + 1 : 1;
      cp_bad_ = bad_checkpoint(
          c.tree_size, "Merkle root of the first " + std::to_string(c.tree_size) + " records is " +
                           got + ", checkpoint signed " + c.root_hex +
                           " \xE2\x80\x94 records in seq " + std::to_string(from) + ".." +
                           std::to_string(c.tree_size) +
                           " were rewritten (hashes recomputed) after it was signed, or the "
                           "checkpoint was replaced");
    }
  }
  if (opts_.progress && done_ - last_progress_ >= kProgressEvery) {
    last_progress_ = done_;
    opts_.progress(done_, opts_.total);
  }
}

Result<VerifyReport> LineVerifier::finish() {
  if (auto e = flush()) return *e;
  if (opts_.progress) opts_.progress(done_, opts_.total);
  if (cp_bad_) return *cp_bad_;
  if (next_cp_ < cps_.size()) {
    const Checkpoint& c = cps_[next_cp_];
    std::string range = std::to_string(done_ + 1);
    if (c.tree_size > done_ + 1) range += ".." + std::to_string(c.tree_size);
    return bad_checkpoint(c.tree_size, "log holds only " + std::to_string(done_) +
                                           " records (truncated: seq " + range + " deleted)");
  }
  VerifyReport report{done_, cps_.size()};
  report.pruned = pruned_;
  report.pruned_checkpoints = pruned_checkpoints_;
  return report;
}

Status check_checkpoint_signatures(const std::vector<Checkpoint>& cps, ByteSpan public_key) {
  if (cps.empty()) return ok_status();
  if (public_key.empty()) {
    return make_error("no_key", std::to_string(cps.size()) +
                                    " checkpoints stored but no audit public key to check them");
  }
  for (const Checkpoint& c : cps) {
    Status st = verify_checkpoint_signature(c, public_key);
    if (st.ok()) continue;
    std::string why = st.error().message;
    if (st.error().code == "bad_signature") {
      why += " \xE2\x80\x94 checkpoint forged or replaced";
    } else if (st.error().code == "wrong_key") {
      why += ", not by the audit key " + checkpoint_key_id(public_key) +
             " \xE2\x80\x94 checkpoint forged or replaced";
    }
    return bad_checkpoint(c.tree_size, why);
  }
  return ok_status();
}

Result<VerifyReport> verify_log(Store& store, ByteSpan public_key, const VerifyOptions& opts) {
  // Checkpoints are read before the records: whatever a checkpoint read now covers was written
  // before it, so the later scan sees those records even while a gateway keeps appending.
  std::vector<Checkpoint> cps;
  if (auto r = store.checkpoints(); r.ok()) {
    cps = std::move(*r);
  } else if (r.error().code != "unsupported") {
    return r.error();
  }
  if (auto st = check_checkpoint_signatures(cps, public_key); !st.ok()) return st.error();
  VerifyOptions o = opts;
  if (o.progress && o.total == 0) {
    if (auto last = store.last(); last.ok() && last->has_value()) o.total = (*last)->seq;
  }
  LineVerifier v(std::move(cps), o);
  auto anchor = store.anchor();
  if (!anchor.ok() && anchor.error().code != "unsupported") return anchor.error();
  if (anchor.ok() && *anchor) {
    if (auto st = v.start_from(**anchor); !st.ok()) return st.error();
  }
  // From 0, not 1: a forged record at seq 0 (or below) must show up too.
  Status st =
      store.scan_lines(0, [&](uint64_t key, std::string_view line) { return v.add(key, line); });
  if (!st.ok()) {
    // Records before the one the store objected to may still sit in the verifier's batch: an
    // earlier problem among them is the first one.
    if (auto e = v.flush()) return *e;
    return st.error();
  }
  return v.finish();
}

Result<VerifyReport> verify_log(Store& store, ByteSpan public_key) {
  return verify_log(store, public_key, VerifyOptions{});
}

}  // namespace phigate::audit
