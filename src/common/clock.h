#pragma once
#include <chrono>
#include <cstdint>

namespace phigate {

// Wall-clock nanoseconds since the Unix epoch, for audit timestamps.
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline int64_t now_unix() { return now_ns() / 1'000'000'000; }
// Monotonic nanoseconds, for durations.
inline int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace phigate
