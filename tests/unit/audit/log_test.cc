#include "audit/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "audit/canonical.h"
#include "fake_store.h"

namespace phigate::audit {
namespace {

using testing::FakeState;
using testing::FakeStore;

Event ev(const std::string& action = "SELECT 1") {
  Event e;
  e.time_ns = 1;
  e.session_id = "s1";
  e.type = "statement";
  e.sub = "alice";
  e.action = action;
  return e;
}

std::unique_ptr<Log> make_log(std::shared_ptr<FakeState> s, size_t max_queue = 65536) {
  auto log = std::make_unique<Log>(std::make_unique<FakeStore>(s), "gw-1", max_queue);
  EXPECT_TRUE(log->open().ok());
  return log;
}

// Appends and waits for the Done result.
Result<uint64_t> append_sync(Log& log, Event e) {
  std::promise<Result<uint64_t>> p;
  auto f = p.get_future();
  log.append(std::move(e), [&](Result<uint64_t> r) { p.set_value(std::move(r)); });
  return f.get();
}

TEST(Log, AssignsSeqNodeAndChain) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s);
  for (int i = 0; i < 3; ++i) {
    auto r = append_sync(*log, ev("q" + std::to_string(i)));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, uint64_t(i + 1));
  }
  EXPECT_EQ(log->last_seq(), 3u);
  ASSERT_EQ(s->rows.size(), 3u);
  EXPECT_EQ(s->rows[0].prev_hash, kGenesisHash);
  for (size_t i = 0; i < 3; ++i) {
    const Event& e = s->rows[i];
    EXPECT_EQ(e.seq, i + 1);
    EXPECT_EQ(e.node_id, "gw-1");
    EXPECT_EQ(e.hash, chain_hash(e.prev_hash, canonical_json(e)));
    if (i > 0) {
      EXPECT_EQ(e.prev_hash, s->rows[i - 1].hash);
    }
  }
  FakeStore view(s);
  auto v = verify_chain(view);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 3u);
}

TEST(Log, ConcurrentAppendsGroupCommitWithUniqueContiguousSeqs) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s);
  constexpr int kThreads = 8, kPer = 2000, kTotal = kThreads * kPer;
  std::vector<std::atomic<int>> done_count(kTotal + 1);
  std::atomic<int> errors{0}, out_of_range{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        log->append(ev("t" + std::to_string(t) + "-" + std::to_string(i)), [&](Result<uint64_t> r) {
          if (!r.ok()) {
            ++errors;
          } else if (*r < 1 || *r > uint64_t(kTotal)) {
            ++out_of_range;
          } else {
            ++done_count[*r];
          }
        });
      }
    });
  }
  for (auto& t : ts) t.join();
  log->flush();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(out_of_range.load(), 0);
  for (int i = 1; i <= kTotal; ++i) ASSERT_EQ(done_count[i].load(), 1) << "seq " << i;
  ASSERT_EQ(s->rows.size(), size_t(kTotal));
  for (int i = 0; i < kTotal; ++i) ASSERT_EQ(s->rows[i].seq, uint64_t(i + 1));
  EXPECT_LT(s->batch_sizes.size(), size_t(kTotal)) << "no batching happened";
  EXPECT_EQ(log->stats().records, uint64_t(kTotal));
  EXPECT_EQ(log->stats().batches, s->batch_sizes.size());
  FakeStore view(s);
  auto v = verify_chain(view);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, uint64_t(kTotal));
}

TEST(Log, BatchesEverythingQueuedWhileACommitIsInFlight) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s);
  set_gate(*s, true);
  log->append(ev());
  wait_in_append(*s);
  for (int i = 0; i < 50; ++i) log->append(ev());
  set_gate(*s, false);
  log->flush();
  ASSERT_EQ(s->batch_sizes.size(), 2u);
  EXPECT_EQ(s->batch_sizes[0], 1u);
  EXPECT_EQ(s->batch_sizes[1], 50u);
}

TEST(Log, FailedCommitPoisonsTheLog) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s);
  ASSERT_TRUE(append_sync(*log, ev()).ok());
  std::string hash1 = s->rows[0].hash;

  // A batch in flight fails; records queued behind it must fail too, not be retried or dropped.
  set_gate(*s, true);
  s->fail = true;
  std::atomic<int> errs{0}, oks{0};
  auto count = [&](Result<uint64_t> r) {
    if (r.ok()) {
      ++oks;
    } else {
      EXPECT_EQ(r.error().code, "audit_failed");
      ++errs;
    }
  };
  log->append(ev(), count);
  wait_in_append(*s);
  for (int i = 0; i < 5; ++i) log->append(ev(), count);
  set_gate(*s, false);
  log->flush();
  EXPECT_EQ(errs.load(), 6);
  EXPECT_EQ(oks.load(), 0);
  EXPECT_TRUE(log->failed());
  EXPECT_EQ(log->last_seq(), 1u);

  // Even once the store recovers, the log stays closed: a gap in the audit trail is not allowed.
  s->fail = false;
  int calls_before = s->append_calls;
  auto r = append_sync(*log, ev());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "audit_failed");
  log->flush();
  EXPECT_EQ(s->append_calls, calls_before);
  EXPECT_EQ(s->rows.size(), 1u);
  EXPECT_EQ(s->rows[0].hash, hash1);
}

TEST(Log, BoundedQueueRefusesAfterWaiting) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s, /*max_queue=*/2);
  set_gate(*s, true);
  std::atomic<int> oks{0};
  auto ok = [&](Result<uint64_t> r) { oks += r.ok(); };
  log->append(ev(), ok);
  wait_in_append(*s);  // writer holds item 1; the queue is empty again
  log->append(ev(), ok);
  log->append(ev(), ok);  // queue now full (2)
  auto t0 = std::chrono::steady_clock::now();
  auto r = append_sync(*log, ev());
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "audit_overloaded");
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  set_gate(*s, false);
  log->flush();
  EXPECT_EQ(oks.load(), 3);
  EXPECT_EQ(s->rows.size(), 3u);
  EXPECT_FALSE(log->failed());  // overload is not a store failure
}

TEST(Log, BoundedQueueAppendProceedsWhenSpaceFrees) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s, /*max_queue=*/1);
  set_gate(*s, true);
  log->append(ev());
  wait_in_append(*s);
  log->append(ev());  // fills the queue
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    set_gate(*s, false);
  });
  auto r = append_sync(*log, ev());
  releaser.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 3u);
}

TEST(Log, RestartContinuesTheChain) {
  auto s = std::make_shared<FakeState>();
  {
    auto log = make_log(s);
    for (int i = 0; i < 5; ++i) log->append(ev());
  }  // destructor drains
  ASSERT_EQ(s->rows.size(), 5u);
  auto log = make_log(s);
  EXPECT_EQ(log->last_seq(), 5u);
  auto r = append_sync(*log, ev());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 6u);
  EXPECT_EQ(s->rows[5].prev_hash, s->rows[4].hash);
  FakeStore view(s);
  auto v = verify_chain(view);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, 6u);
}

TEST(Log, RefusesBeforeOpenAndAfterClose) {
  auto s = std::make_shared<FakeState>();
  Log log(std::make_unique<FakeStore>(s), "gw-1");
  auto r = append_sync(log, ev());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "audit_closed");
  log.flush();  // must not hang on an unopened log
  ASSERT_TRUE(log.open().ok());
  EXPECT_FALSE(log.open().ok());
  ASSERT_TRUE(append_sync(log, ev()).ok());
  log.close();
  r = append_sync(log, ev());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "audit_closed");
  log.flush();
  log.close();  // idempotent
}

TEST(Log, CloseDrainsAndCallsEveryDone) {
  auto s = std::make_shared<FakeState>();
  std::atomic<int> called{0};
  {
    auto log = make_log(s);
    for (int i = 0; i < 1000; ++i) {
      log->append(ev(), [&](Result<uint64_t> r) { called += r.ok(); });
    }
  }
  EXPECT_EQ(called.load(), 1000);
  EXPECT_EQ(s->rows.size(), 1000u);
}

TEST(Log, ThrowingDoneDoesNotKillTheWriter) {
  auto s = std::make_shared<FakeState>();
  auto log = make_log(s);
  log->append(ev(), [](Result<uint64_t>) { throw std::runtime_error("boom"); });
  auto r = append_sync(*log, ev());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2u);
}

// verify_chain against hand-edited in-memory records (the SQLite tests cover the real store).
class VerifyFake : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = std::make_shared<FakeState>();
    auto log = make_log(s_);
    for (int i = 0; i < 6; ++i) log->append(ev("q" + std::to_string(i)));
  }
  std::string verify_error() {
    FakeStore view(s_);
    auto v = verify_chain(view);
    if (v.ok()) return "ok " + std::to_string(*v);
    EXPECT_EQ(v.error().code, "tampered");
    return v.error().message;
  }
  std::shared_ptr<FakeState> s_;
};

TEST_F(VerifyFake, Intact) { EXPECT_EQ(verify_error(), "ok 6"); }

TEST_F(VerifyFake, EditedField) {
  s_->rows[2].rows = 99;
  EXPECT_EQ(verify_error(), "seq 3: hash mismatch \xE2\x80\x94 record edited");
}

TEST_F(VerifyFake, EditedAndRehashed) {
  Event& e = s_->rows[2];
  e.action = "SELECT harmless";
  e.hash = chain_hash(e.prev_hash, canonical_json(e));
  EXPECT_EQ(verify_error(), "seq 4: prev_hash does not match seq 3");
}

TEST_F(VerifyFake, Gap) {
  s_->rows.erase(s_->rows.begin() + 3);
  EXPECT_EQ(verify_error(), "seq 5: gap (expected 4)");
}

TEST_F(VerifyFake, FirstRecordMustStartAtGenesis) {
  s_->rows.erase(s_->rows.begin());
  EXPECT_EQ(verify_error(), "seq 2: gap (expected 1)");
}

TEST(VerifyEmpty, EmptyStoreIsZero) {
  auto s = std::make_shared<FakeState>();
  FakeStore view(s);
  auto v = verify_chain(view);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 0u);
}

}  // namespace
}  // namespace phigate::audit

namespace phigate::audit {
namespace {

// The inline strict path commits on the caller's thread, keeps queued fire-and-forget records
// ahead of its own in the chain, and hands back seq/hash.
TEST(LogAppendNow, CommitsInlineAfterQueuedRecords) {
  auto state = std::make_shared<testing::FakeState>();
  Log log(std::make_unique<testing::FakeStore>(state), "n1");
  ASSERT_TRUE(log.open().ok());
  Event queued;
  queued.type = "result";
  log.append(queued);
  std::vector<Event> mine(2);
  mine[0].type = "statement";
  mine[1].type = "statement";
  auto first = log.append_now(mine);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 2u);
  EXPECT_EQ(mine[0].seq, 2u);
  EXPECT_EQ(mine[1].seq, 3u);
  EXPECT_FALSE(mine[1].hash.empty());
  log.flush();
  std::lock_guard lk(state->mu);
  ASSERT_EQ(state->rows.size(), 3u);
  EXPECT_EQ(state->rows[0].type, "result");
  EXPECT_EQ(state->rows[1].prev_hash, state->rows[0].hash);
  EXPECT_EQ(state->batch_sizes.size(), 1u);  // one commit carried all three
}

TEST(LogAppendNow, FailsClosedWhenTheStoreFails) {
  auto state = std::make_shared<testing::FakeState>();
  Log log(std::make_unique<testing::FakeStore>(state), "n1");
  ASSERT_TRUE(log.open().ok());
  state->fail = true;
  std::vector<Event> mine(1);
  EXPECT_FALSE(log.append_now(mine).ok());
  state->fail = false;
  std::vector<Event> again(1);
  auto r = log.append_now(again);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "audit_failed");
  EXPECT_TRUE(log.failed());
}

// Fire-and-forget records are committed lazily but never lost: flush() forces them out.
TEST(LogLazy, FireAndForgetIsCommittedByFlush) {
  auto state = std::make_shared<testing::FakeState>();
  Log log(std::make_unique<testing::FakeStore>(state), "n1");
  ASSERT_TRUE(log.open().ok());
  for (int i = 0; i < 10; ++i) log.append(Event{});
  log.flush();
  std::lock_guard lk(state->mu);
  EXPECT_EQ(state->rows.size(), 10u);
}

}  // namespace
}  // namespace phigate::audit
