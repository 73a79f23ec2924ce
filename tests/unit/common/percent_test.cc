#include "common/percent.h"

#include <gtest/gtest.h>

namespace phigate {
namespace {

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("a b&c=d/é+?#%"), "a%20b%26c%3Dd%2F%C3%A9%2B%3F%23%25");
  EXPECT_EQ(percent_encode(std::string_view("\0\x7f\xff", 3)), "%00%7F%FF");
  EXPECT_EQ(percent_encode(""), "");
}

}  // namespace
}  // namespace phigate
