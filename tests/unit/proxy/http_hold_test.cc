// The approval hold of the HTTP adapter against a fake ApprovalGate.
#include "proxy/http_hold.h"

#include <gtest/gtest.h>

#include <thread>

namespace phigate::proxy {
namespace {

namespace asio = net::asio;

class FakeGate : public ApprovalGate {
 public:
  enum class Mode { kApproveInline, kDenyFromThread, kNever, kRefuse };
  explicit FakeGate(Mode m) : mode_(m) {}
  ~FakeGate() override {
    if (t_.joinable()) t_.join();
  }
  Result<std::string> hold(HoldRequest r, std::function<void(ApprovalOutcome)> done) override {
    held_ = r;
    done_ = std::move(done);
    switch (mode_) {
      case Mode::kRefuse:
        return make_error("store", "approvals store down");
      case Mode::kApproveInline:
        done_({ApprovalDecision::kApproved, "req-1", "rev", "ok", {}});
        break;
      case Mode::kDenyFromThread:
        t_ = std::thread([this] { done_({ApprovalDecision::kDenied, "req-1", "rev", "no", {}}); });
        break;
      case Mode::kNever:
        break;
    }
    return std::string("req-1");
  }
  void cancel(std::string_view id) override {
    cancelled_ = std::string(id);
    if (done_) done_({ApprovalDecision::kCancelled, std::string(id), {}, "cancelled", {}});
  }
  std::string how_to_approve(std::string_view id) const override {
    return "phigate approvals approve " + std::string(id);
  }
  // The callback holds the waiter's timer: drop it while its io_context still exists.
  void drop() {
    if (t_.joinable()) t_.join();
    done_ = nullptr;
  }
  HoldRequest held_;
  std::string cancelled_;

 private:
  Mode mode_;
  std::function<void(ApprovalOutcome)> done_;
  std::thread t_;
};

ApprovalOutcome run(FakeGate& gate, std::chrono::milliseconds timeout) {
  asio::io_context io;
  ApprovalOutcome out;
  HoldRequest r;
  r.summary = "POST /orders";
  r.fingerprint = "abc";
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        out = co_await await_approval(io.get_executor(), gate, r, timeout);
      },
      asio::detached);
  io.run();
  gate.drop();
  return out;
}

TEST(HttpHold, ApprovedInline) {
  FakeGate g(FakeGate::Mode::kApproveInline);
  auto o = run(g, std::chrono::hours(1));
  EXPECT_EQ(o.decision, ApprovalDecision::kApproved);
  EXPECT_EQ(o.reviewer, "rev");
  EXPECT_EQ(g.held_.summary, "POST /orders");
  EXPECT_TRUE(g.cancelled_.empty());
}

TEST(HttpHold, DeniedFromAnotherThread) {
  FakeGate g(FakeGate::Mode::kDenyFromThread);
  auto o = run(g, std::chrono::hours(1));
  EXPECT_EQ(o.decision, ApprovalDecision::kDenied);
  EXPECT_EQ(o.reason, "no");
}

TEST(HttpHold, TimeoutCancelsTheHold) {
  FakeGate g(FakeGate::Mode::kNever);
  auto o = run(g, std::chrono::milliseconds(1));
  EXPECT_EQ(o.decision, ApprovalDecision::kTimedOut);
  EXPECT_EQ(g.cancelled_, "req-1");
}

TEST(HttpHold, GateThatCannotHoldDenies) {
  FakeGate g(FakeGate::Mode::kRefuse);
  auto o = run(g, std::chrono::hours(1));
  EXPECT_EQ(o.decision, ApprovalDecision::kDenied);
  EXPECT_NE(o.reason.find("approvals store down"), std::string::npos);
}

// A connected loopback pair: `server` is what a session holds, `peer` the client.
struct Pair {
  explicit Pair(asio::io_context& io) : peer(io) {
    net::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    peer.connect(acc.local_endpoint());
    server = std::make_unique<net::Stream>(acc.accept());
  }
  net::tcp::socket peer;
  std::unique_ptr<net::Stream> server;
};

struct Watched {
  ApprovalOutcome out;
  bool gone = false;
  std::shared_ptr<ClientWatch> watch;
  Buffer in;
  bool took = false;
};

TEST(HttpHoldWatch, ClientHangupCancelsTheHold) {
  asio::io_context io;
  Pair p(io);
  FakeGate g(FakeGate::Mode::kNever);
  Watched w;
  HoldRequest req;
  std::shared_ptr<void> keep;
  std::chrono::milliseconds timeout = std::chrono::hours(1);
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        w.out = co_await await_approval_watching(io.get_executor(), g, req, timeout, p.server.get(),
                                                 keep, w.watch, w.gone);
      },
      asio::detached);
  asio::post(io, [&] { p.peer.close(); });
  io.run();
  EXPECT_EQ(w.out.decision, ApprovalDecision::kCancelled);
  EXPECT_TRUE(w.gone);
  EXPECT_EQ(w.out.id, "req-1");
  EXPECT_EQ(g.cancelled_, "req-1");
}

TEST(HttpHoldWatch, BytesArrivingWhileHeldAreKept) {
  asio::io_context io;
  Pair p(io);
  FakeGate g(FakeGate::Mode::kNever);
  Watched w;
  HoldRequest req;
  std::shared_ptr<void> keep;
  std::chrono::milliseconds timeout(300);
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        w.out = co_await await_approval_watching(io.get_executor(), g, req, timeout, p.server.get(),
                                                 keep, w.watch, w.gone);
        // The held request ended (timed out here); the session reads on: first what the watch
        // read, then (its read still outstanding) what comes next.
        const std::string prefix = "prefix|";
        w.in.append(ByteSpan(reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()));
        w.took = co_await take_watched(w.watch, w.in);
        bool more = co_await take_watched(w.watch, w.in);
        EXPECT_TRUE(more);
        EXPECT_EQ(w.watch, nullptr);
      },
      asio::detached);
  asio::write(p.peer, asio::buffer(std::string("GET /next HTTP/1.1\r\n")));
  asio::steady_timer later(io, std::chrono::milliseconds(500));
  later.async_wait([&](net::error_code) { asio::write(p.peer, asio::buffer(std::string("X"))); });
  io.run();
  EXPECT_EQ(w.out.decision, ApprovalDecision::kTimedOut);
  EXPECT_FALSE(w.gone);
  EXPECT_TRUE(w.took);
  EXPECT_EQ(w.in.view(), "prefix|GET /next HTTP/1.1\r\nX");
}

}  // namespace
}  // namespace phigate::proxy
