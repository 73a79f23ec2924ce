#include "audit/blob_store.h"

#include "common/crypto.h"

namespace phigate::audit {

std::string blob_hash(std::string_view content) { return to_hex(sha256(content)); }

}  // namespace phigate::audit
