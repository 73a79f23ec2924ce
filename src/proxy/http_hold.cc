#include "proxy/http_hold.h"

#include <memory>
#include <optional>

namespace phigate::proxy {

namespace asio = net::asio;

namespace {

constexpr size_t kWatchChunk = 16 * 1024;

net::awaitable<void> watch_read(std::shared_ptr<void> keep, net::Stream& client,
                                std::shared_ptr<ClientWatch> w) {
  w->buf.resize(kWatchChunk);
  net::error_code ec;
  size_t n = co_await client.read_some(asio::buffer(w->buf.data(), w->buf.size()), ec);
  if (ec || n == 0) {
    w->gone = true;
  } else {
    w->data.append(w->buf.data(), n);
  }
  w->active = false;
  w->wake.cancel();
  (void)keep;
}

void start_read(net::Stream& client, const std::shared_ptr<void>& keep,
                const std::shared_ptr<ClientWatch>& w) {
  w->active = true;
  asio::co_spawn(
      net::io_executor(client.executor()),
      [keep, &client, w]() { return watch_read(keep, client, w); }, asio::detached);
}

}  // namespace

net::awaitable<ApprovalOutcome> await_approval(asio::any_io_executor ex, ApprovalGate& gate,
                                               HoldRequest request,
                                               std::chrono::milliseconds timeout) {
  std::shared_ptr<ClientWatch> unwatched;
  bool gone = false;
  co_return co_await await_approval_watching(ex, gate, std::move(request), timeout, nullptr, {},
                                             unwatched, gone);
}

net::awaitable<ApprovalOutcome> await_approval_watching(
    asio::any_io_executor ex, ApprovalGate& gate, HoldRequest request,
    std::chrono::milliseconds timeout, net::Stream* client, std::shared_ptr<void> keep,
    std::shared_ptr<ClientWatch>& watch, bool& client_gone) {
  client_gone = false;
  if (!watch) watch = std::make_shared<ClientWatch>(ex);
  auto w = watch;
  auto outcome = std::make_shared<std::optional<ApprovalOutcome>>();
  auto id = gate.hold(std::move(request), [outcome, w, ex](ApprovalOutcome o) {
    asio::post(ex, [outcome, w, o = std::move(o)]() mutable {
      if (*outcome) return;
      *outcome = std::move(o);
      w->wake.cancel();
    });
  });
  if (!id) {
    ApprovalOutcome refused;
    refused.decision = ApprovalDecision::kDenied;
    refused.reason = "the request cannot be held for approval: " + id.error().message;
    co_return refused;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (*outcome) {
      ApprovalOutcome o = **outcome;
      if (o.id.empty()) o.id = *id;
      co_return o;
    }
    if (w->gone) {
      // Decided here first, so the gate's callback for the cancel is ignored.
      *outcome = ApprovalOutcome{ApprovalDecision::kCancelled, *id, {}, "the client went away", {}};
      gate.cancel(*id);
      client_gone = true;
      co_return **outcome;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      *outcome = ApprovalOutcome{ApprovalDecision::kTimedOut, *id, {}, "approval timed out", {}};
      gate.cancel(*id);
      co_return **outcome;
    }
    if (client != nullptr && !w->active && w->data.size() < ClientWatch::kHeldBacklog)
      start_read(*client, keep, w);
    w->wake.expires_at(deadline);
    net::error_code ec;
    co_await w->wake.async_wait(asio::redirect_error(net::use_awaitable, ec));
  }
}

net::awaitable<bool> take_watched(std::shared_ptr<ClientWatch>& watch, Buffer& in) {
  auto w = watch;
  for (;;) {
    if (!w->data.empty()) {
      // What was read first; a read still outstanding is taken over by the next call.
      in.append(ByteSpan(reinterpret_cast<const uint8_t*>(w->data.data()), w->data.size()));
      w->data.clear();
      if (!w->active && !w->gone) watch.reset();
      co_return true;
    }
    if (!w->active) {
      const bool ok = !w->gone;
      watch.reset();
      co_return ok;
    }
    w->wake.expires_at(asio::steady_timer::time_point::max());
    net::error_code ec;
    co_await w->wake.async_wait(asio::redirect_error(net::use_awaitable, ec));
  }
}

}  // namespace phigate::proxy
