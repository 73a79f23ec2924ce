// Signed checkpoints emitted by the Log (DESIGN.md §7): triggers, what they cover, restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "audit/canonical.h"
#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/merkle.h"
#include "common/crypto.h"
#include "fake_store.h"

namespace phigate::audit {
namespace {

using testing::FakeState;
using testing::FakeStore;
using testing::numbered_event;
using testing::test_checkpoint_key;

std::unique_ptr<Log> make_log(std::shared_ptr<FakeState> s, uint64_t every_events,
                              std::chrono::milliseconds every = std::chrono::milliseconds(0)) {
  auto log = std::make_unique<Log>(std::make_unique<FakeStore>(s), "gw-1");
  log->set_checkpointing(test_checkpoint_key(), every_events, every);
  EXPECT_TRUE(log->open().ok());
  return log;
}

// One record per commit, so the every_events trigger is exercised record by record.
void append_n(Log& log, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    std::vector<Event> one{numbered_event(i)};
    ASSERT_TRUE(log.append_now(one).ok());
  }
}

std::vector<uint64_t> sizes(FakeState& s) {
  std::lock_guard lk(s.mu);
  std::vector<uint64_t> out;
  for (const auto& c : s.checkpoints) out.push_back(c.tree_size);
  return out;
}

// The root recomputed from scratch over the stored lines, independent of the Log's accumulator.
Status check_against_rows(const Checkpoint& c, const std::vector<Event>& rows) {
  return verify_checkpoint_against(
      c, rows.size(), [&](uint64_t i) { return merkle_leaf_hash(to_json_line(rows[i])); });
}

TEST(LogCheckpoint, EveryNEventsAndAtClose) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s, 5);
  append_n(*log, 0, 12);
  log->flush();  // checkpoints are signed and stored by the writer thread
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{5, 10}));
  log->close();
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{5, 10, 12}));
  EXPECT_EQ(log->stats().checkpoints, 3u);
  for (const auto& c : s->checkpoints) {
    EXPECT_EQ(c.node_id, "gw-1");
    EXPECT_EQ(c.key_id, test_checkpoint_key()->key_id());
    EXPECT_TRUE(verify_checkpoint_signature(c, test_checkpoint_key()->public_key()).ok());
    auto st = check_against_rows(c, s->rows);
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
}

TEST(LogCheckpoint, BatchCrossingTheThresholdSignsTheWholeBatch) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s, 4);
  std::vector<Event> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(numbered_event(i));
  ASSERT_TRUE(log->append_now(batch).ok());
  log->flush();
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{7}));
  log->close();
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{7}));  // nothing new since: no second checkpoint
}

TEST(LogCheckpoint, TimeTriggerOnIdleLog) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s, 0, std::chrono::milliseconds(20));
  append_n(*log, 0, 3);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (sizes(*s).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{3}));
  // Idle with nothing new: the timer does not sign the same tree again.
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{3}));
}

TEST(LogCheckpoint, RestartContinuesTheTree) {
  auto s = std::make_shared<FakeState>();
  {
    auto log = make_log(s, 5);
    append_n(*log, 0, 7);
  }  // destructor closes: final checkpoint at 7
  {
    auto log = make_log(s, 5);
    log->close();  // no new records: must not try to sign tree_size 7 again
  }
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{5, 7}));
  {
    auto log = make_log(s, 5);
    append_n(*log, 7, 4);
  }
  EXPECT_EQ(sizes(*s), (std::vector<uint64_t>{5, 7, 11}));
  MerkleAccumulator fresh;
  for (const auto& e : s->rows) fresh.append_leaf(to_json_line(e));
  ASSERT_EQ(fresh.size(), 11u);
  EXPECT_EQ(s->checkpoints.back().root_hex, to_hex(fresh.root()));
  for (const auto& c : s->checkpoints) EXPECT_TRUE(check_against_rows(c, s->rows).ok());
}

TEST(LogCheckpoint, VerifyLogChecksSignaturesAndRoots) {
  auto s = std::make_shared<FakeState>();
  {
    auto log = make_log(s, 3);
    append_n(*log, 0, 8);
  }
  FakeStore store(s);
  auto r = verify_log(store, test_checkpoint_key()->public_key());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->records, 8u);
  EXPECT_EQ(r->checkpoints, 3u);  // 3, 6, 8

  // No key: stored checkpoints cannot be vouched for.
  EXPECT_EQ(verify_log(store, ByteSpan()).error().code, "no_key");
  // Another key: every signature fails.
  auto other = *CheckpointKey::generate();
  auto wrong = verify_log(store, other->public_key());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("checkpoint tree_size 3"), std::string::npos);

  // A root replaced (even with a valid-looking one) is named by its tree_size.
  auto saved = s->checkpoints;
  s->checkpoints[1].root_hex = s->checkpoints[0].root_hex;
  auto edited = verify_log(store, test_checkpoint_key()->public_key());
  ASSERT_FALSE(edited.ok());
  EXPECT_EQ(edited.error().code, "tampered");
  EXPECT_NE(edited.error().message.find("checkpoint tree_size 6"), std::string::npos);

  // A checkpoint re-signed by the real key over a wrong root still fails on the root itself.
  s->checkpoints = saved;
  auto forged = sign_checkpoint(*test_checkpoint_key(), "gw-1", 6, merkle_empty_root(), 1);
  ASSERT_TRUE(forged.ok());
  s->checkpoints[1] = *forged;
  auto bad_root = verify_log(store, test_checkpoint_key()->public_key());
  ASSERT_FALSE(bad_root.ok());
  EXPECT_NE(bad_root.error().message.find("checkpoint tree_size 6: Merkle root"),
            std::string::npos);

  // Records removed from the tail: the last checkpoint now covers more than the log holds.
  s->checkpoints = saved;
  s->rows.resize(7);
  auto truncated = verify_log(store, test_checkpoint_key()->public_key());
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message.find("checkpoint tree_size 8"), std::string::npos);
}

}  // namespace
}  // namespace phigate::audit
