#pragma once
// One gateway per data_dir: `phigate serve` holds an exclusive lock on <data_dir>/phigate.lock for
// its lifetime (two writers would fork the audit chain), and commands that write the audit store
// offline (`phigate audit prune`) take the same lock, so they refuse to run beside a gateway.
#include <memory>
#include <string>

#include "common/result.h"

namespace phigate::cli {

class DataDirLock {
 public:
  // Error "busy" when another process holds it (flock, released when that process exits).
  static Result<std::unique_ptr<DataDirLock>> acquire(const std::string& data_dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace phigate::cli
