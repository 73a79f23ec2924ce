#include "proxy/cancel_registry.h"

#include <gtest/gtest.h>

#include <set>

namespace phigate::proxy {
namespace {

TEST(CancelRegistry, KeyMustMatchAndRemoveForgets) {
  CancelRegistry r;
  auto [pid, key] = r.add({"127.0.0.1", 5432, 111, 222, "s1"});
  EXPECT_GT(pid, 0);
  auto t = r.find(pid, key);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->pid, 111);
  EXPECT_EQ(t->key, 222);
  EXPECT_FALSE(r.find(pid, key ^ 1).has_value());
  r.remove(pid, key);
  EXPECT_FALSE(r.find(pid, key).has_value());
}

TEST(CancelRegistry, HandsOutDistinctKeys) {
  CancelRegistry r;
  std::set<std::pair<int32_t, int32_t>> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(r.add({"h", 1, i, i, "s"}));
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace phigate::proxy
