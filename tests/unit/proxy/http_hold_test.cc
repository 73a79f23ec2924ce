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

}  // namespace
}  // namespace phigate::proxy
