#pragma once
#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace phigate {

// Parses a size: a plain number of bytes ("16384") or a number with a unit: B, KiB, MiB, GiB
// (powers of 1024) or kB, MB, GB (powers of 1000). Error "invalid" on anything else or overflow.
Result<uint64_t> parse_byte_size(std::string_view text);

}  // namespace phigate
