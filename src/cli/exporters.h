#pragma once
// Wiring of audit.export (DESIGN.md §4) for `phigate serve`: one audit::Exporter per entry, each
// reading the store through its own read-only connection.
#include <memory>
#include <string>
#include <vector>

#include "audit/exporter.h"
#include "audit/log.h"
#include "cli/cli.h"

namespace phigate::cli {

class AuditExporters {
 public:
  ~AuditExporters() { stop(); }
  void stop() {
    for (auto& e : list_) e->stop();
  }
  struct Lag {
    std::string name;
    uint64_t records_behind = 0, delivered_seq = 0, failures = 0;
  };
  // For the admin API's metrics: how far behind each exporter is.
  std::vector<Lag> lags() const;

  std::vector<std::unique_ptr<audit::Exporter>> list_;
};

// Builds and starts every exporter of config.audit.exports. Errors (refuse to start): an unknown
// type, a webhook token that cannot be read, a malformed cursor file.
Result<std::unique_ptr<AuditExporters>> start_audit_exporters(const Config& config,
                                                              const Wiring& wiring,
                                                              const audit::Log& log);

}  // namespace phigate::cli
