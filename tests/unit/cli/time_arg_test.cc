#include "cli/time_arg.h"

#include <gtest/gtest.h>

#include "common/byte_size.h"

namespace phigate::cli {
namespace {

constexpr int64_t kS = 1'000'000'000;

TEST(TimeArg, Forms) {
  const int64_t now = 1'700'000'000 * kS;
  EXPECT_EQ(*parse_time_arg("now", now), now);
  EXPECT_EQ(*parse_time_arg("1714566600", now), 1714566600 * kS);
  EXPECT_EQ(*parse_time_arg("2024-05-01", now), 1714521600 * kS);
  EXPECT_EQ(*parse_time_arg("2024-05-01T12:30:00Z", now), 1714566600 * kS);
  EXPECT_EQ(*parse_time_arg("2024-05-01 12:30", now), 1714566600 * kS);
  EXPECT_EQ(*parse_time_arg("2024-05-01T14:30:00+02:00", now), 1714566600 * kS);
  EXPECT_EQ(*parse_time_arg("2024-05-01T12:30:00.25Z", now), 1714566600 * kS + kS / 4);
  EXPECT_EQ(*parse_time_arg("90m", now), now - 90 * 60 * kS);
  for (const char* bad : {"", "yesterday", "2024-13-01", "2024-05-01T25:00", "2024-05-01Tx",
                          "2024-05-01T12:30:00Zjunk", "-5"}) {
    EXPECT_FALSE(parse_time_arg(bad, now).ok()) << bad;
  }
}

TEST(TimeArg, FormatRoundTrips) {
  EXPECT_EQ(format_time(1714566600 * kS + 123'000'000), "2024-05-01T12:30:00.123Z");
  EXPECT_EQ(*parse_time_arg(format_time(1714566600 * kS), 0), 1714566600 * kS);
  EXPECT_EQ(format_time(-1'000'000), "1969-12-31T23:59:59.999Z");
}

TEST(ByteSize, Units) {
  EXPECT_EQ(*parse_byte_size("16384"), 16384u);
  EXPECT_EQ(*parse_byte_size("16KiB"), 16384u);
  EXPECT_EQ(*parse_byte_size("2MiB"), 2u << 20);
  EXPECT_EQ(*parse_byte_size("3kB"), 3000u);
  EXPECT_EQ(*parse_byte_size("7B"), 7u);
  for (const char* bad : {"", "KiB", "16 KiB", "16kib", "-1", "99999999999999999999GiB"}) {
    EXPECT_FALSE(parse_byte_size(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace phigate::cli
