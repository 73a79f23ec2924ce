#pragma once
// Embedded default store: SQLite in WAL mode under data_dir. Holds the audit log (one canonical JSON
// record per row plus indexed columns for queries).
#include <memory>
#include <string>

#include "audit/store.h"

namespace phigate::store {

// sync: "normal" (WAL, survives a process crash: kill -9) or "full" (fsync per commit: power loss).
Result<std::unique_ptr<audit::Store>> open_sqlite_audit_store(const std::string& path,
                                                              const std::string& sync = "normal");

}  // namespace phigate::store
