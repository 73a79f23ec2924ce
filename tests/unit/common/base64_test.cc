#include "common/base64.h"

#include <gtest/gtest.h>

namespace phigate {
namespace {

TEST(Base64Url, RoundTrip) {
  for (size_t n = 0; n < 40; ++n) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(i * 37 + 11);
    auto enc = base64url_encode(b);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, b);
  }
}

TEST(Base64Url, RejectsPaddingWhitespaceAndNonCanonical) {
  EXPECT_FALSE(base64url_decode("YQ==").has_value());
  EXPECT_FALSE(base64url_decode("Y Q").has_value());
  EXPECT_FALSE(base64url_decode("YR").has_value());  // low bits set: non-canonical "a"
  EXPECT_FALSE(base64url_decode("Y").has_value());
  EXPECT_FALSE(base64url_decode("a+b/").has_value());
  EXPECT_TRUE(base64url_decode("YQ").has_value());
}

TEST(Base64Std, Strict) {
  EXPECT_EQ(base64_encode(as_bytes("ab")), "YWI=");
  EXPECT_TRUE(base64_decode("YWI=").has_value());
  EXPECT_FALSE(base64_decode("YWI").has_value());
  EXPECT_FALSE(base64_decode("YW==").has_value());
  EXPECT_FALSE(base64_decode("Y===").has_value());
}

}  // namespace
}  // namespace phigate
