// Log::open() resuming the Merkle tree from the frontier stored with the newest checkpoint instead
// of re-reading every record: same roots as a full rebuild, fallback for stores without frontiers,
// fail-closed on a frontier that does not match its signed root, and the retention anchor.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <utility>

#include "audit/canonical.h"
#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "audit/retention.h"
#include "fake_store.h"

namespace phigate::audit {
namespace {

using testing::FakeState;
using testing::FakeStore;
using testing::numbered_event;
using testing::test_checkpoint_key;

std::unique_ptr<Log> open_log(std::shared_ptr<FakeState> s, uint64_t every_events) {
  auto log = std::make_unique<Log>(std::make_unique<FakeStore>(s), "gw-1");
  log->set_checkpointing(test_checkpoint_key(), every_events, std::chrono::milliseconds(0));
  return log;
}

// Opens a Log, appends records [from, from + n) one commit each and closes it (final checkpoint).
void run(std::shared_ptr<FakeState> s, int from, int n, uint64_t every_events) {
  auto log = open_log(s, every_events);
  auto st = log->open();
  ASSERT_TRUE(st.ok()) << st.error().message;
  for (int i = from; i < from + n; ++i) {
    std::vector<Event> one{numbered_event(i)};
    ASSERT_TRUE(log->append_now(one).ok());
  }
  log->close();
}

// What open() read: the `from` of each scan since the last call.
std::vector<uint64_t> take_scans(FakeState& s) {
  std::lock_guard lk(s.mu);
  return std::exchange(s.scan_from, {});
}

// Every checkpoint's root recomputed from the stored rows, independent of any frontier.
void expect_all_verify(std::shared_ptr<FakeState> s) {
  FakeStore store(s);
  auto r = verify_log(store, test_checkpoint_key()->public_key());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->checkpoints, s->checkpoints.size());
  MerkleAccumulator fresh;
  for (const auto& e : s->rows) fresh.append_leaf(to_json_line(e));
  if (!s->checkpoints.empty() && s->checkpoints.back().tree_size == fresh.size()) {
    EXPECT_EQ(s->checkpoints.back().root_hex, to_hex(fresh.root()));
  }
}

Status open_status(std::shared_ptr<FakeState> s) {
  auto log = open_log(s, 5);
  Status st = log->open();
  log->close();
  return st;
}

TEST(LogFrontier, EveryCheckpointCarriesItsFrontier) {
  auto s = std::make_shared<FakeState>();
  run(s, 0, 12, 5);  // 5, 10, 12
  ASSERT_EQ(s->checkpoints.size(), 3u);
  ASSERT_EQ(s->frontiers.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& c = s->checkpoints[i];
    auto t = MerkleAccumulator::from_frontier(c.tree_size, s->frontiers[i]);
    ASSERT_TRUE(t.has_value()) << c.tree_size;
    EXPECT_EQ(to_hex(t->root()), c.root_hex);
  }
}

TEST(LogFrontier, RestartReadsOnlyRecordsAfterTheCheckpoint) {
  auto s = std::make_shared<FakeState>();
  run(s, 0, 12, 5);
  take_scans(*s);
  run(s, 12, 3, 5);  // resumes at 12, checkpoint at 15 on close
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{13}));
  EXPECT_EQ(s->checkpoints.back().tree_size, 15u);
  expect_all_verify(s);
}

TEST(LogFrontier, RecordsAfterTheLastCheckpointAreIncluded) {
  auto s = std::make_shared<FakeState>();
  run(s, 0, 12, 5);
  // As after a crash: records 11 and 12 were stored, their checkpoint never was.
  s->checkpoints.pop_back();
  s->frontiers.pop_back();
  take_scans(*s);
  run(s, 12, 2, 5);
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{11}));
  EXPECT_EQ(s->checkpoints.back().tree_size, 14u);
  expect_all_verify(s);
}

TEST(LogFrontier, StoreWithoutFrontiersRebuildsThenStartsKeepingThem) {
  auto s = std::make_shared<FakeState>();
  s->keep_frontiers = false;  // written by a phigate before frontiers
  run(s, 0, 7, 5);
  auto none = FakeStore(s).newest_checkpoint_frontier();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  s->keep_frontiers = true;
  take_scans(*s);
  run(s, 7, 1, 5);
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{1}));  // full rebuild
  auto cf = FakeStore(s).newest_checkpoint_frontier();
  ASSERT_TRUE(cf.ok() && cf->has_value());
  EXPECT_EQ((*cf)->checkpoint.tree_size, 8u);
  run(s, 8, 1, 5);
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{9}));
  expect_all_verify(s);
}

TEST(LogFrontier, FrontierThatDoesNotMatchItsRootFailsClosed) {
  auto s = std::make_shared<FakeState>();
  run(s, 0, 12, 5);
  const auto saved = s->frontiers;
  const size_t n_ckpt = s->checkpoints.size();
  auto expect_tampered = [&](std::string_view what, std::string_view msg) {
    Status st = open_status(s);
    ASSERT_FALSE(st.ok()) << what;
    EXPECT_EQ(st.error().code, "tampered") << what;
    EXPECT_NE(st.error().message.find(msg), std::string::npos)
        << what << ": " << st.error().message;
    // Nothing was signed on top of it.
    EXPECT_EQ(s->checkpoints.size(), n_ckpt) << what;
  };
  s->frontiers.back()[0][7] ^= 1;
  expect_tampered("flipped bit", "checkpoint tree_size 12: stored Merkle frontier does not match");
  s->frontiers = saved;
  s->frontiers.back().push_back(s->frontiers.back()[0]);
  expect_tampered("extra hash", "checkpoint tree_size 12: stored Merkle frontier is malformed");
  s->frontiers = saved;
  s->frontiers.back().pop_back();
  expect_tampered("missing hash", "checkpoint tree_size 12: stored Merkle frontier is malformed");
  // A well-formed frontier of another tree of the same shape (10 and 12 both have two subtrees).
  s->frontiers = saved;
  s->frontiers.back() = saved[1];
  expect_tampered("other tree", "checkpoint tree_size 12: stored Merkle frontier does not match");
  // The frontier is fine but the records it covers are partly gone.
  s->frontiers = saved;
  s->rows.resize(11);
  expect_tampered("deleted tail", "audit store holds 12 records but its last seq is 11");
}

TEST(LogFrontier, StartsAtTheLaterOfAnchorAndCheckpoint) {
  auto s = std::make_shared<FakeState>();
  run(s, 0, 25, 10);  // 10, 20, 25
  FakeStore store(s);
  auto plan = plan_prune(store, ByteSpan(test_checkpoint_key()->public_key()), 1000 + 21, "1d", 5);
  ASSERT_TRUE(plan.ok() && plan->anchor) << (plan.ok() ? plan->reason : plan.error().message);
  ASSERT_EQ(plan->anchor->tree_size, 20u);
  std::erase_if(s->rows, [&](const Event& e) { return e.seq <= 20; });
  s->anchor = plan->anchor;
  take_scans(*s);

  // The checkpoint at 25 is newer than the anchor: only 26.. would be read.
  EXPECT_TRUE(open_status(s).ok());
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{26}));
  // Without it, the checkpoint at 20 is the anchor's own: the anchor's frontier is used.
  auto saved = s->frontiers;
  s->frontiers[2].clear();
  EXPECT_TRUE(open_status(s).ok());
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{21}));
  // Only a frontier older than the anchor: the anchor wins (the records before it are gone).
  s->frontiers[1].clear();
  EXPECT_TRUE(open_status(s).ok());
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{21}));
  // A tampered frontier older than the anchor is never read.
  s->frontiers[0][0][0] ^= 1;
  EXPECT_TRUE(open_status(s).ok());
  s->frontiers = saved;
  take_scans(*s);

  run(s, 25, 3, 10);  // 28 at close, over frontier(25) + 26..28
  EXPECT_EQ(take_scans(*s), (std::vector<uint64_t>{26}));
  EXPECT_EQ(s->checkpoints.back().tree_size, 28u);
  auto v = verify_log(store, ByteSpan(test_checkpoint_key()->public_key()));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->records, 8u);
  EXPECT_EQ(v->pruned, 20u);
}

}  // namespace
}  // namespace phigate::audit
