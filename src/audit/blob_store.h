#pragma once
// Content-addressed blobs referenced from audit records by their SHA-256 (Event::capture). A blob
// is written before the record that names it, so a record never points at a blob that is not
// durable (to the same degree as the record: kill -9 with sync "normal", power loss with "full").
// Implemented by store/ (pack files under data_dir/blobs); chosen in main.cc.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace phigate::audit {

// Lowercase hex SHA-256 of `content`: the blob's name.
std::string blob_hash(std::string_view content);

struct BlobPruneStats {
  uint64_t packs = 0;  // storage units removed (pack files)
  uint64_t blobs = 0;  // blobs they held
  uint64_t bytes = 0;  // their size
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores `content` and returns its name (blob_hash). Thread-safe; one write() per call.
  virtual Result<std::string> put(std::string_view content) = 0;
  // The content named `hash`, nullopt if absent. Error "tampered" when the stored bytes do not
  // hash to their name.
  virtual Result<std::optional<std::string>> get(const std::string& hash) = 0;
  // Retention: removes stored blobs last written before `older_than_ns` (unix ns) for which
  // `referenced(hash)` is false, in whatever units the store keeps (never a blob still named by a
  // retained record, never one the store may still be appending next to).
  virtual Result<BlobPruneStats> prune(const std::function<bool(const std::string&)>& referenced,
                                       int64_t older_than_ns) = 0;
};

}  // namespace phigate::audit
