#pragma once
// Retention (audit.retention, issue 6), shared by `phigate audit prune` and the gateway's timer.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "audit/log.h"
#include "audit/retention.h"
#include "cli/cli.h"

namespace phigate::cli {

struct PruneOutcome {
  audit::PrunePlan plan;
  audit::BlobPruneStats blobs;
  int64_t cutoff_ns = 0;
  bool applied = false;
};

// Plans a prune at now - audit.retention over `reader` (a read-only view of the store) and, with
// `apply`, deletes the records (wiring.prune_store) and the capture blobs that no retained record
// names. The caller records the prune in the audit log (audit::prune_event). Errors: "config"
// (no or bad retention), the planner's ("tampered": the prefix does not verify, nothing deleted).
// `before_ns` (operator's --before) replaces the retention horizon as the cutoff.
Result<PruneOutcome> prune_once(const Config& config, const Wiring& wiring, audit::Store& reader,
                                audit::BlobStore* blobs, ByteSpan public_key, int64_t now_ns,
                                bool apply, std::optional<int64_t> before_ns = std::nullopt);

// The gateway's automatic pruning: once shortly after start, then every `interval`, on its own
// thread (pruning reads and deletes through its own store connection; it never blocks sessions).
class RetentionRunner {
 public:
  RetentionRunner(const Config& config, const Wiring& wiring, audit::Log& log,
                  audit::BlobStore* blobs, Bytes public_key,
                  std::chrono::milliseconds interval = std::chrono::hours(1));
  ~RetentionRunner();  // stops and joins
  void stop();

 private:
  void run();
  void run_once();
  const Config& config_;
  const Wiring& wiring_;
  audit::Log& log_;
  audit::BlobStore* blobs_;
  Bytes public_key_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace phigate::cli
