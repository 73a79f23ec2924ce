// Wiring: the only place concrete stores are chosen (DESIGN.md §2).
#include <filesystem>

#include "cli/cli.h"
#include "store/blob_pack.h"
#include "store/sqlite/sqlite_retention.h"
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

std::string db_path(const phigate::Config& c) {
  return (std::filesystem::path(c.gateway.data_dir) / "phigate.db").string();
}

phigate::Result<std::unique_ptr<phigate::audit::BlobStore>> open_blobs(const phigate::Config& c,
                                                                       bool read_only) {
  phigate::store::PackBlobStore::Options opts;
  opts.sync = c.audit.sync;
  auto dir = (std::filesystem::path(c.gateway.data_dir) / "blobs").string();
  auto s = phigate::store::PackBlobStore::open(dir, opts, read_only);
  if (!s) return s.error();
  return std::unique_ptr<phigate::audit::BlobStore>(std::move(*s));
}

phigate::Status prune_store(const phigate::Config& c, const phigate::audit::Anchor& a) {
  if (c.gateway.store != "sqlite") return phigate::make_error("store", "store cannot prune");
  return phigate::store::prune_sqlite_audit_store(db_path(c), a);
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
  phigate::cli::Wiring wiring{open_store, open_blobs, prune_store, open_approvals};
  return phigate::cli::run(argc, argv, wiring);
}
