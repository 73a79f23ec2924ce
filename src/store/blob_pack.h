#pragma once
// audit::BlobStore in append-only pack files: <dir>/<20-digit creation time ns>.pack, each a run of
//   "phigate-blob <sha256 hex> <length>\n" <content> "\n"
// Why packs and not a file per blob: a result capture is written per statement on the session's
// thread, and one write() appending to an open file costs a few microseconds where creating,
// writing and renaming a file costs tens. A process starts a new pack when it opens the store and
// rotates by size and age, so packs become whole units for retention: a sealed pack goes once no
// retained audit record names any blob in it.
//
// Durability follows the audit store's sync setting: "normal" (the write() returned: survives
// kill -9), "full" (fdatasync per blob). A crash can leave a torn entry at the end of a pack; it
// was never acknowledged (no record names it) and readers stop at it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "audit/blob_store.h"

namespace phigate::store {

using audit::BlobPruneStats;

class PackBlobStore final : public audit::BlobStore {
 public:
  struct Options {
    std::string sync = "normal";
    uint64_t rotate_bytes = uint64_t(16) << 20;
    std::chrono::seconds rotate_age{3600};
  };
  // Creates `dir` (0700) for a writer; a reader never creates anything.
  static Result<std::unique_ptr<PackBlobStore>> open(const std::string& dir, Options opts,
                                                     bool read_only);
  ~PackBlobStore() override;

  Result<std::string> put(std::string_view content) override;
  Result<std::optional<std::string>> get(const std::string& hash) override;

  // Removes sealed packs (not the one this object appends to) last modified before
  // `older_than_ns` (unix ns) that hold no blob for which `referenced(hash)` is true.
  Result<BlobPruneStats> prune(const std::function<bool(const std::string&)>& referenced,
                               int64_t older_than_ns) override;

 private:
  PackBlobStore(std::string dir, Options opts, bool read_only)
      : dir_(std::move(dir)), opts_(std::move(opts)), read_only_(read_only) {}
  struct Loc {
    std::string path;
    uint64_t offset = 0, length = 0;
  };
  Status open_pack();
  // Reads the headers of every pack into index_ (once; packs written later by another process
  // are picked up by a later reload).
  Status load_index();

  const std::string dir_;
  const Options opts_;
  const bool read_only_;
  std::mutex mu_;
  int fd_ = -1;
  std::string cur_path_;
  uint64_t cur_bytes_ = 0;
  std::chrono::steady_clock::time_point cur_opened_;
  std::unordered_set<std::string> cur_hashes_;  // blobs already in the current pack (dedup)
  std::string buf_;
  bool indexed_ = false;
  std::map<std::string, Loc> index_;
};

}  // namespace phigate::store
