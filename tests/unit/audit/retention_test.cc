// Retention (audit/retention.h, anchor.h): pruning a prefix at a signed checkpoint keeps the rest
// verifiable, the log continues from the anchor, and a tampered anchor or prefix is caught.
#include <gtest/gtest.h>

#include <algorithm>

#include "audit/anchor.h"
#include "audit/canonical.h"
#include "audit/log.h"
#include "audit/retention.h"
#include "fake_store.h"

namespace phigate::audit {
namespace {

using testing::FakeState;
using testing::FakeStore;
using testing::numbered_event;
using testing::test_checkpoint_key;

ByteSpan pub() { return ByteSpan(test_checkpoint_key()->public_key()); }

// n records with time_ns = 1000 + i, a checkpoint every `every` records and at close.
std::shared_ptr<FakeState> make_log_state(int n, uint64_t every) {
  auto s = std::make_shared<FakeState>();
  Log log(std::make_unique<FakeStore>(s), "gw-1");
  log.set_checkpointing(test_checkpoint_key(), every, std::chrono::milliseconds(0));
  EXPECT_TRUE(log.open().ok());
  for (int i = 1; i <= n; ++i) {
    Event e;
    e.time_ns = 1000 + i;
    e.session_id = "s";
    e.type = "statement";
    e.action = "SELECT " + std::to_string(i);
    std::vector<Event> one{e};
    EXPECT_TRUE(log.append_now(one).ok());
  }
  log.close();
  return s;
}

// What the SQLite store's prune does: drop rows <= tree_size and keep the anchor.
void apply(FakeState& s, const Anchor& a) {
  std::lock_guard lk(s.mu);
  s.rows.erase(std::remove_if(s.rows.begin(), s.rows.end(),
                              [&](const Event& e) { return e.seq <= a.tree_size; }),
               s.rows.end());
  s.anchor = a;
}

TEST(Retention, PrunesWholePrefixEndingAtCheckpoint) {
  auto s = make_log_state(25, 10);  // checkpoints at 10, 20, 25
  FakeStore store(s);
  // Records 1..14 are older than the cutoff: the newest checkpoint inside is 10.
  auto plan = plan_prune(store, pub(), 1000 + 15, "7d", 5);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_TRUE(plan->anchor.has_value()) << plan->reason;
  EXPECT_EQ(plan->anchor->tree_size, 10u);
  EXPECT_EQ(plan->records, 10u);
  EXPECT_EQ(plan->first_seq, 1u);
  EXPECT_EQ(plan->checkpoint.tree_size, 10u);
  EXPECT_EQ(plan->anchor->last_hash, s->rows[9].hash);
  EXPECT_EQ(plan->anchor->last_time_ns, 1010);
  auto parsed = anchor_from_json(anchor_to_json(*plan->anchor));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, *plan->anchor);

  apply(*s, *plan->anchor);
  auto v = verify_log(store, pub());
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->records, 15u);
  EXPECT_EQ(v->pruned, 10u);
  EXPECT_EQ(v->checkpoints, 3u);
  EXPECT_EQ(v->pruned_checkpoints, 0u);

  // A second prune continues from the anchor; the newest record is never pruned.
  auto plan2 = plan_prune(store, pub(), 1'000'000, "7d", 6);
  ASSERT_TRUE(plan2.ok()) << plan2.error().message;
  ASSERT_TRUE(plan2->anchor.has_value()) << plan2->reason;
  EXPECT_EQ(plan2->anchor->tree_size, 20u);  // 25 is the last record
  EXPECT_EQ(plan2->first_seq, 11u);
  apply(*s, *plan2->anchor);
  v = verify_log(store, pub());
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->records, 5u);
  EXPECT_EQ(v->pruned_checkpoints, 1u);  // tree_size 10: signature only
}

TEST(Retention, LogContinuesFromAnchorAndLaterCheckpointsVerify) {
  auto s = make_log_state(25, 10);
  FakeStore store(s);
  auto plan = plan_prune(store, pub(), 1000 + 21, "1d", 5);
  ASSERT_TRUE(plan.ok() && plan->anchor);
  apply(*s, *plan->anchor);
  {
    Log log(std::make_unique<FakeStore>(s), "gw-1");
    log.set_checkpointing(test_checkpoint_key(), 10, std::chrono::milliseconds(0));
    ASSERT_TRUE(log.open().ok());
    EXPECT_EQ(log.last_seq(), 25u);
    Event e;
    e.type = "retention_prune";
    std::vector<Event> one{e};
    auto seq = log.append_now(one);
    ASSERT_TRUE(seq.ok());
    EXPECT_EQ(*seq, 26u);
    log.close();  // checkpoint at 26 over frontier(20) + 21..26
  }
  auto v = verify_log(store, pub());
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->records, 6u);
  EXPECT_EQ(s->checkpoints.back().tree_size, 26u);
}

TEST(Retention, NothingToPruneWithoutCheckpointInsideTheOldPrefix) {
  auto s = make_log_state(8, 0);  // only the close checkpoint, at 8 == last record
  FakeStore store(s);
  auto plan = plan_prune(store, pub(), 1'000'000, "1d", 5);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->anchor.has_value());
  EXPECT_FALSE(plan->reason.empty());
  plan = plan_prune(store, pub(), 0, "1d", 5);  // nothing is old enough
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->anchor.has_value());
}

TEST(Retention, TamperedPrefixIsRefused) {
  auto s = make_log_state(25, 10);
  s->rows[4].action = "DROP TABLE evidence";  // seq 5
  FakeStore store(s);
  auto plan = plan_prune(store, pub(), 1'000'000, "1d", 5);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, "tampered");
  EXPECT_NE(plan.error().message.find("seq 5"), std::string::npos);
}

TEST(Retention, TamperedAnchorIsDetected) {
  auto s = make_log_state(25, 10);
  FakeStore store(s);
  auto plan = plan_prune(store, pub(), 1000 + 15, "1d", 5);
  ASSERT_TRUE(plan.ok() && plan->anchor);
  apply(*s, *plan->anchor);
  ASSERT_TRUE(verify_log(store, pub()).ok());

  Anchor good = *s->anchor;
  s->anchor->last_hash[0] = s->anchor->last_hash[0] == '0' ? '1' : '0';
  auto v = verify_log(store, pub());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("retention anchor"), std::string::npos) << v.error().message;

  s->anchor = good;
  s->anchor->frontier[0][0] ^= 1;
  v = verify_log(store, pub());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("frontier"), std::string::npos) << v.error().message;

  s->anchor = good;
  s->anchor->tree_size = 11;  // no checkpoint there, and the frontier size no longer fits
  s->anchor->frontier.resize(3);
  v = verify_log(store, pub());
  ASSERT_FALSE(v.ok());

  s->anchor.reset();  // records now start at 11 with no anchor
  v = verify_log(store, pub());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("seq 1..10: missing"), std::string::npos) << v.error().message;
}

TEST(Retention, PruneEventDescribesTheAnchor) {
  auto s = make_log_state(25, 10);
  FakeStore store(s);
  auto plan = plan_prune(store, pub(), 1000 + 15, "6y", 77);
  ASSERT_TRUE(plan.ok() && plan->anchor);
  Event e = prune_event(*plan, 2, 4096, "tester");
  EXPECT_EQ(e.type, "retention_prune");
  EXPECT_EQ(e.ref_seq, 10u);
  EXPECT_EQ(e.rows, 10u);
  EXPECT_EQ(e.bytes, 4096u);
  EXPECT_EQ(e.sub, "tester");
  EXPECT_NE(e.message.find(plan->anchor->last_hash), std::string::npos);
  EXPECT_NE(e.message.find("6y"), std::string::npos);
}

TEST(AnchorJson, RejectsMalformed) {
  EXPECT_FALSE(anchor_from_json("{}").has_value());
  EXPECT_FALSE(anchor_from_json("not json").has_value());
  Anchor a;
  a.tree_size = 3;  // popcount 2, one frontier hash: wrong
  a.last_hash = std::string(64, 'a');
  a.frontier.resize(1);
  EXPECT_FALSE(anchor_from_json(anchor_to_json(a)).has_value());
  a.frontier.resize(2);
  EXPECT_TRUE(anchor_from_json(anchor_to_json(a)).has_value());
}

}  // namespace
}  // namespace phigate::audit
