#include "proxy/strict_audit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "../audit/fake_store.h"

namespace phigate::proxy {
namespace {

namespace asio = net::asio;
using audit::testing::FakeState;
using audit::testing::FakeStore;

audit::Event ev(const std::string& action) {
  audit::Event e;
  e.time_ns = 1;
  e.session_id = "s1";
  e.type = "http_request";
  e.action = action;
  return e;
}

// Sessions that reach their strict record in the same turn of the event loop share one commit,
// each learns its own seq, and every record is in the store before any of them resumes.
TEST(StrictAudit, OneTurnIsOneCommitWithEachSeq) {
  auto state = std::make_shared<FakeState>();
  audit::Log log(std::make_unique<FakeStore>(state), "gw-1");
  ASSERT_TRUE(log.open().ok());
  asio::io_context io(1);
  constexpr int kSessions = 5;
  std::vector<uint64_t> seqs(kSessions, 0);
  std::vector<size_t> stored_when_resumed(kSessions, 0);
  for (int i = 0; i < kSessions; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> net::awaitable<void> {
          auto r = co_await append_strict(log, ev("GET /" + std::to_string(i)));
          EXPECT_TRUE(r.ok());
          if (r) seqs[i] = *r;
          std::lock_guard lk(state->mu);
          stored_when_resumed[i] = state->rows.size();
        },
        asio::detached);
  }
  io.run();
  ASSERT_EQ(state->batch_sizes.size(), 1u);
  EXPECT_EQ(state->batch_sizes[0], static_cast<size_t>(kSessions));
  for (int i = 0; i < kSessions; ++i) {
    EXPECT_EQ(seqs[i], seqs[0] + i);
    EXPECT_EQ(state->rows[i].seq, seqs[i]);
    EXPECT_EQ(state->rows[i].action, "GET /" + std::to_string(i));
    EXPECT_EQ(stored_when_resumed[i], static_cast<size_t>(kSessions));
  }
  log.close();
}

// Records of different turns are separate commits; a failed commit fails every record of its
// turn (the proxy then refuses those requests) and is not retried silently.
TEST(StrictAudit, TurnsCommitSeparatelyAndFailuresReachEverySession) {
  auto state = std::make_shared<FakeState>();
  audit::Log log(std::make_unique<FakeStore>(state), "gw-1");
  ASSERT_TRUE(log.open().ok());
  asio::io_context io(1);
  std::vector<bool> ok;
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        ok.push_back((co_await append_strict(log, ev("a"))).ok());
        ok.push_back((co_await append_strict(log, ev("b"))).ok());
        {
          std::lock_guard lk(state->mu);
          state->fail = true;
        }
        ok.push_back((co_await append_strict(log, ev("c"))).ok());
      },
      asio::detached);
  io.run();
  ASSERT_EQ(ok.size(), 3u);
  EXPECT_TRUE(ok[0]);
  EXPECT_TRUE(ok[1]);
  EXPECT_FALSE(ok[2]);
  EXPECT_EQ(state->batch_sizes, (std::vector<size_t>{1, 1}));
  log.close();
}

// While another thread holds the commit (here: a store append gated shut), a turn's batch does not
// put its io thread to sleep on the lock at once: the handlers already ready on that thread (its
// other connections) run first, then the batch commits after the other one, in chain order.
TEST(StrictAudit, ABusyCommitLetsTheIoThreadRunReadyHandlers) {
  auto state = std::make_shared<FakeState>();
  audit::Log log(std::make_unique<FakeStore>(state), "gw-1");
  ASSERT_TRUE(log.open().ok());
  {
    std::lock_guard lk(state->mu);
    state->gate_closed = true;
  }
  std::thread other([&] {
    std::vector<audit::Event> one{ev("other")};
    EXPECT_TRUE(log.append_now(one).ok());
  });
  {
    std::unique_lock lk(state->mu);
    ASSERT_TRUE(state->cv.wait_for(lk, std::chrono::seconds(5), [&] { return state->in_append; }));
  }
  asio::io_context io(1);
  std::atomic<int> steps{0};
  uint64_t seq = 0;
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        for (int i = 0; i < 3; ++i) {
          co_await asio::post(io.get_executor(), net::use_awaitable);
          ++steps;
        }
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto r = co_await append_strict(log, ev("mine"));
        EXPECT_TRUE(r.ok());
        if (r) seq = *r;
      },
      asio::detached);
  std::thread runner([&] { io.run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (steps < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(steps.load(), 3) << "the io thread slept on the commit lock";
  {
    std::lock_guard lk(state->mu);
    EXPECT_EQ(state->rows.size(), 0u);  // the other commit is still held
    state->gate_closed = false;
  }
  state->cv.notify_all();
  other.join();
  runner.join();
  ASSERT_EQ(state->rows.size(), 2u);
  EXPECT_EQ(state->rows[0].action, "other");
  EXPECT_EQ(state->rows[1].action, "mine");
  EXPECT_EQ(seq, state->rows[1].seq);
  log.close();
}

}  // namespace
}  // namespace phigate::proxy

namespace phigate::proxy {
namespace {

// A record nobody waits for (a result) rides in the turn's batch: committed by this thread with
// the strict records of the same turn, in append order.
TEST(StrictAudit, BatchedRecordsJoinTheTurnsCommit) {
  auto state = std::make_shared<FakeState>();
  audit::Log log(std::make_unique<FakeStore>(state), "gw-1");
  ASSERT_TRUE(log.open().ok());
  asio::io_context io(1);
  const net::Executor ex = io.get_executor();
  // Two sessions ready in the same turn: one ends its exchange, the other starts one.
  asio::post(io, [&] { append_batched(log, ev("result of GET /0"), ex); });
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto r = co_await append_strict(log, ev("GET /1"));
        EXPECT_TRUE(r.ok());
      },
      asio::detached);
  io.run();
  ASSERT_EQ(state->batch_sizes.size(), 1u);
  EXPECT_EQ(state->batch_sizes[0], 2u);
  ASSERT_EQ(state->rows.size(), 2u);
  EXPECT_EQ(state->rows[0].action, "result of GET /0");
  EXPECT_EQ(state->rows[1].action, "GET /1");
  log.close();
}

// Shutdown stops an io thread's loop before its posted flush runs: flush_thread_batch (the
// Server's thread-exit hook in serve) commits what the batch holds instead of losing it.
TEST(StrictAudit, AStoppedLoopsBatchIsCommittedAtThreadExit) {
  auto state = std::make_shared<FakeState>();
  audit::Log log(std::make_unique<FakeStore>(state), "gw-1");
  ASSERT_TRUE(log.open().ok());
  {
    asio::io_context io(1);
    append_batched(log, ev("result of GET /9"), io.get_executor());
    io.stop();
    io.run();  // returns at once: the flush never runs
    EXPECT_TRUE(state->rows.empty());
    flush_thread_batch();
  }
  ASSERT_EQ(state->rows.size(), 1u);
  EXPECT_EQ(state->rows[0].action, "result of GET /9");
  flush_thread_batch();  // nothing left: a no-op
  EXPECT_EQ(state->rows.size(), 1u);
  log.close();
}

}  // namespace
}  // namespace phigate::proxy
