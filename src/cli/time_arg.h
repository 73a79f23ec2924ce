#pragma once
// Time arguments of the review commands (--since, --until, --from, --to).
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace phigate::cli {

// Unix nanoseconds for: "now"; a date "2024-05-01" (00:00 UTC); a date-time
// "2024-05-01T12:30:00[.fff][Z|+02:00|-05:00]" (UTC when no zone is given; a space may replace
// the T); unix seconds "1714566600"; or a duration meaning that long before `now_ns` ("90m",
// "7d", see parse_duration). Error "invalid" with the accepted forms otherwise.
Result<int64_t> parse_time_arg(std::string_view text, int64_t now_ns);

// "2024-05-01T12:30:00.123Z" (UTC, milliseconds).
std::string format_time(int64_t unix_ns);

}  // namespace phigate::cli
