#pragma once
// Content-addressed blobs referenced from audit records by their SHA-256 (Event::capture). A blob
// is written before the record that names it, so a record never points at a blob that is not
// durable (to the same degree as the record: kill -9 with sync "normal", power loss with "full").
// Implemented by store/ (pack files under data_dir/blobs); chosen in main.cc.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace phigate::audit {

// Lowercase hex SHA-256 of `content`: the blob's name.
std::string blob_hash(std::string_view content);

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Stores `content` and returns its name (blob_hash). Thread-safe; one write() per call.
  virtual Result<std::string> put(std::string_view content) = 0;
  // The content named `hash`, nullopt if absent. Error "tampered" when the stored bytes do not
  // hash to their name.
  virtual Result<std::optional<std::string>> get(const std::string& hash) = 0;
};

}  // namespace phigate::audit
