#include "common/duration.h"

#include <charconv>

namespace phigate {

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 12) return make_error("duration", "expected a number with a unit, e.g. 10s");
  long long n = 0;
  std::from_chars(text.data(), text.data() + i, n);
  std::string_view unit = text.substr(i);
  long long ms_per = 0;
  if (unit == "ms")
    ms_per = 1;
  else if (unit == "s")
    ms_per = 1000;
  else if (unit == "m")
    ms_per = 60'000;
  else if (unit == "h")
    ms_per = 3'600'000;
  else if (unit == "d")
    ms_per = 86'400'000;
  else if (unit == "y")
    ms_per = 365LL * 86'400'000;
  else
    return make_error("duration", "unknown unit '" + std::string(unit) + "' (ms, s, m, h, d, y)");
  return std::chrono::milliseconds(n * ms_per);
}

}  // namespace phigate
