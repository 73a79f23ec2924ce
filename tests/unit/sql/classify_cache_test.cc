// The per-thread classification cache: exact-text keys, LRU eviction, slot reuse.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>

#include "sql/classify.h"

namespace phigate::sql {
namespace {

// Random traffic over more distinct texts than the cache holds: every answer must be for the text
// asked (a probe-chain or slot-reuse bug would return another text's result), and a text asked
// again right away must be a hit.
TEST(ClassifyCacheSlots, RandomTrafficAlwaysAnswersTheTextAsked) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> pick(0, 9999);
  for (int i = 0; i < 30000; ++i) {
    std::string q = "SELECT c FROM cache_slots_" + std::to_string(pick(rng));
    auto r = classify(q);
    ASSERT_TRUE(r->ok);
    ASSERT_EQ(r->statements.size(), 1u);
    ASSERT_EQ(r->statements[0].text, q);
    if (i % 7 == 0) {
      ASSERT_EQ(classify(q).get(), r.get()) << q;
    }
  }
}

TEST(ClassifyCacheSlots, RecentlyUsedSurvivesEviction) {
  auto keep = classify("SELECT 1 AS kept_hot");
  for (int i = 0; i < 20000; ++i) {
    classify("SELECT " + std::to_string(i) + " AS churn");
    if (i % 1000 == 0) {
      ASSERT_EQ(classify("SELECT 1 AS kept_hot").get(), keep.get());
    }
  }
}

}  // namespace
}  // namespace phigate::sql
