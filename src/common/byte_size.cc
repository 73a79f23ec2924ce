#include "common/byte_size.h"

#include <charconv>
#include <limits>
#include <string>

namespace phigate {

Result<uint64_t> parse_byte_size(std::string_view text) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p == text.data()) {
    return make_error("invalid",
                      "expected a size such as 16KiB, got \"" + std::string(text) + "\"");
  }
  std::string_view unit = text.substr(static_cast<size_t>(p - text.data()));
  struct Unit {
    std::string_view name;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},      {"B", 1},        {"KiB", 1024},     {"MiB", 1 << 20}, {"GiB", 1ull << 30},
      {"kB", 1000}, {"MB", 1000000}, {"GB", 1000000000}};
  for (const auto& u : kUnits) {
    if (unit != u.name) continue;
    if (n > std::numeric_limits<uint64_t>::max() / u.factor) {
      return make_error("invalid", "size \"" + std::string(text) + "\" is too large");
    }
    return n * u.factor;
  }
  return make_error("invalid", "unknown size unit \"" + std::string(unit) +
                                   "\" (use B, KiB, MiB, GiB, kB, MB or GB)");
}

}  // namespace phigate
