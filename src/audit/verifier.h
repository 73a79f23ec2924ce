#pragma once
// The one-pass verifier behind `phigate audit verify` (store or export stream). It recomputes, for
// every stored line in order: the record's own chain hash (edited?), its link to the previous
// record (inserted / rewritten?), its seq against the expected one (deleted / reordered?), and the
// Merkle tree over the lines, compared with every signed checkpoint at its tree_size (a rewrite
// with recomputed hashes, or a truncated tail?). The first problem found is reported, naming the
// seq (or checkpoint) and what is wrong with it.
//
// Speed (target >= 1M records/s on 2 cores): lines are parsed as audit::RecordView (no Event, no
// allocation per record) and collected into batches; the two SHA-256 per record (chain hash and
// Merkle leaf), which are independent between records, are computed for half of each batch on a
// helper thread; then the checks that depend on order run sequentially over the batch.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/anchor.h"
#include "audit/checkpoint.h"
#include "audit/log.h"

namespace phigate::audit {

struct VerifyOptions {
  // Called every few tens of thousands of records and once at the end: records checked so far and
  // the total expected (0 if unknown). For a progress bar; must be cheap.
  std::function<void(uint64_t done, uint64_t total)> progress;
  uint64_t total = 0;  // expected number of records, passed to progress
  bool parallel = true;
  // Export streams: `key` is the line number (for naming unparsable lines), not a seq to compare.
  bool key_is_line_number = false;
};

class LineVerifier {
 public:
  // `checkpoints`: tree_size ascending, signatures already checked by the caller.
  LineVerifier(std::vector<Checkpoint> checkpoints, VerifyOptions opts);
  ~LineVerifier();
  LineVerifier(const LineVerifier&) = delete;
  LineVerifier& operator=(const LineVerifier&) = delete;

  // The next line in order; `key` is the seq the source filed it under (the store's row key, or
  // the line's own seq for an export stream). False once a problem was found: stop feeding.
  bool add(uint64_t key, std::string_view line);
  // Retention: records 1..anchor.tree_size were pruned. The chain resumes from the anchor's
  // last_hash and the tree from its frontier, which must reproduce the root signed by the
  // checkpoint at the anchor's tree_size (that signature authenticates the frontier). Call before
  // the first add().
  Status start_from(const Anchor& anchor);
  // Checks the lines fed so far; the first problem among them, if any.
  std::optional<Error> flush();
  // Checks what is left (the last batch, checkpoints beyond the end). Call once.
  Result<VerifyReport> finish();

 private:
  bool run_batch();
  void check(size_t i);
  struct Batch;
  std::unique_ptr<Batch> batch_;
  std::vector<Checkpoint> cps_;
  VerifyOptions opts_;
  size_t next_cp_ = 0;
  MerkleAccumulator tree_;
  uint64_t expected_ = 1, done_ = 0, last_progress_ = 0;
  uint64_t pruned_ = 0, pruned_checkpoints_ = 0;
  Sha256 prev_{};  // raw hash of the previous record (genesis: all zeros as hex "000...")
  bool prev_genesis_ = true;
  // Hashes of the most recent records (ring), so a broken link can say which earlier record it
  // points to (records deleted and the rest renumbered) or that it points to none (inserted).
  std::vector<std::pair<uint64_t, Sha256>> recent_;
  size_t recent_at_ = 0;
  std::optional<Error> bad_;     // first chain problem: stops verification
  std::optional<Error> cp_bad_;  // first checkpoint root mismatch: reported if the chain is fine
};

// Checks each checkpoint's signature with `public_key` (raw 32 bytes). Error{"tampered"} naming
// the first one that fails ("forged or replaced"), Error{"no_key"} if there are checkpoints but
// no key.
Status check_checkpoint_signatures(const std::vector<Checkpoint>& cps, ByteSpan public_key);

Result<VerifyReport> verify_log(Store& store, ByteSpan public_key, const VerifyOptions& opts);

// Verifies an exported JSONL stream (`phigate audit export --format jsonl`): record lines exactly
// as stored plus checkpoint lines (export_format.h), without the store. Reads the file twice (the
// checkpoints first, wherever they are in the stream). A line that is neither is named by number.
Result<VerifyReport> verify_export_file(const std::string& path, ByteSpan public_key,
                                        const VerifyOptions& opts);

}  // namespace phigate::audit
