// `phigate serve --bench-audit-discard` (hidden): the "audit off" leg of bench/audit/run.sh.
// Records are still built, encoded and hashed by the Log; only the store is replaced by one that
// drops them, so the figure isolates what durable storage costs. Never for real use: it needs
// PHIGATE_BENCHMARK_ONLY=audit-off in the environment and a data_dir without an audit store,
// and it says so loudly; tests/integration/test_audit_exporters.py proves the refusals.
#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "audit/discard_store.h"
#include "cli/cli.h"

namespace phigate::cli {

Result<std::unique_ptr<audit::Store>> open_bench_discard_store(const Config& config) {
  const char* env = std::getenv("PHIGATE_BENCHMARK_ONLY");
  if (!env || std::string(env) != "audit-off") {
    return make_error("config",
                      "--bench-audit-discard is for benchmarks only and needs "
                      "PHIGATE_BENCHMARK_ONLY=audit-off");
  }
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(config.gateway.data_dir) / "phigate.db", ec)) {
    return make_error("config", "--bench-audit-discard refused: data_dir " +
                                    config.gateway.data_dir + " holds an audit store");
  }
  spdlog::warn("BENCHMARK ONLY: audit records are discarded, nothing is audited");
  return std::unique_ptr<audit::Store>(std::make_unique<audit::DiscardStore>());
}

}  // namespace phigate::cli
