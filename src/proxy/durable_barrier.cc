#include "proxy/durable_barrier.h"

namespace phigate::proxy {

namespace asio = net::asio;

DurableBarrier::DurableBarrier(asio::any_io_executor ex)
    : ex_(ex), timer_(ex, asio::steady_timer::time_point::max()) {}

void DurableBarrier::append(audit::Log& log, audit::Event e, std::function<void(uint64_t)> on_seq) {
  ++outstanding_;
  log.append(std::move(e),
             [self = shared_from_this(), on_seq = std::move(on_seq)](Result<uint64_t> r) mutable {
               // Runs on the audit writer thread: hop back to the session's thread before touching
               // state.
               asio::post(self->ex_, [self, r = std::move(r), on_seq = std::move(on_seq)]() {
                 if (!r.ok()) self->failed_ = true;
                 if (r.ok() && on_seq) on_seq(r.value());
                 if (--self->outstanding_ == 0) self->timer_.cancel();
               });
             });
}

net::awaitable<bool> DurableBarrier::wait() {
  while (outstanding_ > 0) {
    net::error_code ec;
    timer_.expires_at(asio::steady_timer::time_point::max());
    if (outstanding_ == 0) break;
    co_await timer_.async_wait(asio::redirect_error(net::use_awaitable, ec));
  }
  co_return !failed_;
}

}  // namespace phigate::proxy
