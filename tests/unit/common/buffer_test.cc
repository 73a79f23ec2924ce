#include "common/buffer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace phigate {
namespace {

// Random appends and consumes behave like a std::string queue.
TEST(Buffer, MatchesReferenceQueue) {
  Buffer b(8);
  std::string ref;
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    if (rng() % 2) {
      std::string chunk(rng() % 100, char('a' + rng() % 26));
      b.append(as_bytes(chunk));
      ref += chunk;
    } else if (!ref.empty()) {
      size_t n = rng() % (ref.size() + 1);
      b.consume(n);
      ref.erase(0, n);
    }
    ASSERT_EQ(as_sv(b.readable()), ref);
  }
}

TEST(Buffer, PrepareGivesRequestedSpaceAndShrinks) {
  Buffer b(16);
  auto w = b.prepare(1000);
  EXPECT_GE(w.size(), 1000u);
  b.commit(3);
  EXPECT_EQ(b.size(), 3u);
  b.consume(3);
  EXPECT_TRUE(b.empty());
  b.shrink_if_idle(16);
  EXPECT_GE(b.prepare(10).size(), 10u);
}

}  // namespace
}  // namespace phigate
