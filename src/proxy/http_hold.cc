#include "proxy/http_hold.h"

#include <memory>
#include <optional>

namespace phigate::proxy {

namespace asio = net::asio;

net::awaitable<ApprovalOutcome> await_approval(asio::any_io_executor ex, ApprovalGate& gate,
                                               HoldRequest request,
                                               std::chrono::milliseconds timeout) {
  struct State {
    explicit State(asio::any_io_executor e) : timer(e) {}
    asio::steady_timer timer;
    std::optional<ApprovalOutcome> outcome;
  };
  auto st = std::make_shared<State>(ex);
  st->timer.expires_after(timeout);
  auto id = gate.hold(std::move(request), [st, ex](ApprovalOutcome o) {
    // Any thread; `post` never runs the handler inline, so it lands after the co_await below.
    asio::post(ex, [st, o = std::move(o)]() mutable {
      if (st->outcome) return;  // exactly once, but be strict about it
      st->outcome = std::move(o);
      st->timer.cancel();
    });
  });
  if (!id) {
    ApprovalOutcome refused;
    refused.decision = ApprovalDecision::kDenied;
    refused.reason = "the request cannot be held for approval: " + id.error().message;
    co_return refused;
  }
  net::error_code ec;
  if (!st->outcome) {
    co_await st->timer.async_wait(asio::redirect_error(net::use_awaitable, ec));
  }
  if (st->outcome) {
    ApprovalOutcome o = *st->outcome;
    if (o.id.empty()) o.id = *id;
    co_return o;
  }
  // Timed out: mark it decided first so a late callback is ignored, then withdraw it.
  st->outcome = ApprovalOutcome{ApprovalDecision::kTimedOut, *id, {}, "approval timed out", {}};
  gate.cancel(*id);
  co_return *st->outcome;
}

}  // namespace phigate::proxy
