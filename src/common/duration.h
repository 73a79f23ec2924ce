#pragma once
#include <chrono>
#include <string_view>

#include "common/result.h"

namespace phigate {

// Parses "500ms", "10s", "5m", "1h", "7d", "6y" (DESIGN.md §4). A unit is mandatory.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace phigate
