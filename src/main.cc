// Wiring: the only place concrete stores are chosen (DESIGN.md §2).
#include <filesystem>

#include "cli/cli.h"
#include "store/sqlite/approval_sqlite.h"
#include "store/sqlite/sqlite_store.h"

namespace {

phigate::Result<std::unique_ptr<phigate::audit::Store>> open_store(const phigate::Config& c,
                                                                   bool read_only) {
  if (c.gateway.store != "sqlite")
    return phigate::make_error("store", "store '" + c.gateway.store + "' is not supported yet");
  std::string path = (std::filesystem::path(c.gateway.data_dir) / "phigate.db").string();
  if (read_only) return phigate::store::open_sqlite_audit_store_readonly(path);
  return phigate::store::open_sqlite_audit_store(path, c.audit.sync);
}

phigate::Result<std::unique_ptr<phigate::store::ApprovalStore>> open_approvals(
    const phigate::Config& c) {
  if (c.gateway.store != "sqlite")
    return phigate::make_error("store", "store '" + c.gateway.store + "' is not supported yet");
  std::string path = (std::filesystem::path(c.gateway.data_dir) / "approvals.db").string();
  return phigate::store::open_sqlite_approval_store(path);
}

}  // namespace

int main(int argc, char** argv) {
  phigate::cli::Wiring wiring{open_store, open_approvals};
  return phigate::cli::run(argc, argv, wiring);
}
