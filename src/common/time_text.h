#pragma once
// Timestamps as people and JSON APIs read them.
#include <cstdint>
#include <string>

namespace phigate {

// RFC 3339 UTC to the second, e.g. "2026-11-26T00:41:40Z".
std::string utc_rfc3339(int64_t unix_seconds);

}  // namespace phigate
