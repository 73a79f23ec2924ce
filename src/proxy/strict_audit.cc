#include "proxy/strict_audit.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <vector>

namespace phigate::proxy {

namespace asio = net::asio;

namespace {

// A suspended session: its completion handler, type-erased (Boost 1.74 has no
// any_completion_handler), and where its result goes.
struct Waiter {
  virtual ~Waiter() = default;
  virtual void resume() = 0;
  Result<uint64_t>* out = nullptr;
  size_t index = 0;  // position of its record in the batch
};

template <class Handler>
struct WaiterFor final : Waiter {
  explicit WaiterFor(Handler&& h) : handler(std::move(h)) {}
  void resume() override {
    // Posted, not called: resuming inline would run the session inside the flush.
    auto ex = asio::get_associated_executor(handler);
    asio::post(ex, std::move(handler));
  }
  Handler handler;
};

// How often a turn's batch goes back through the event loop while another io thread holds the
// commit lock, before it waits for the lock like any other caller.
constexpr int kCommitRetries = 4;

struct Batch {
  audit::Log* log = nullptr;
  std::vector<audit::Event> events;
  std::vector<std::unique_ptr<Waiter>> waiters;
  bool scheduled = false;
  int retries = 0;

  // Joins `e` to this turn's batch and makes sure a flush is posted for the end of the turn;
  // returns its position in the batch.
  size_t add(audit::Log& l, audit::Event&& e, net::Executor ex) {
    if (log != nullptr && log != &l) flush(ex, true);  // one Log per batch (one per process)
    const size_t index = events.size();
    events.push_back(std::move(e));
    log = &l;
    if (!scheduled) {
      scheduled = true;
      asio::post(ex, [this, ex] { flush(ex); });
    }
    return index;
  }

  // `ex`: this io thread's executor, for a retry. `wait`: take the commit lock however long it
  // takes (a batch for another Log must be committed before this one starts).
  void flush(net::Executor ex, bool wait = false) {
    if (log == nullptr) return;  // a retry posted before a waiting flush committed the batch
    std::optional<Result<uint64_t>> done;
    if (!wait && retries < kCommitRetries) {
      // The other io thread is committing: rather than sleep on the lock (the core then often
      // idles while this thread's other connections wait too), run the handlers that are ready
      // and try again. The records stay in this batch, so those handlers' records join it.
      done = log->try_append_now(events);
      if (!done) {
        ++retries;
        asio::post(ex, [this, ex] { flush(ex); });
        return;
      }
    } else {
      done = log->append_now(events);
    }
    retries = 0;
    scheduled = false;
    std::vector<audit::Event> ev;
    std::vector<std::unique_ptr<Waiter>> ws;
    ev.swap(events);
    ws.swap(waiters);
    log = nullptr;
    Result<uint64_t> r = std::move(*done);
    for (auto& w : ws) {
      *w->out = r ? Result<uint64_t>(*r + w->index) : Result<uint64_t>(r.error());
      w->resume();
    }
    // Keep the capacity for the next turn, unless something was appended meanwhile.
    ev.clear();
    if (events.empty() && events.capacity() < ev.capacity()) events.swap(ev);
  }
};

Batch& local_batch() {
  thread_local Batch b;
  return b;
}

}  // namespace

net::awaitable<Result<uint64_t>> append_strict(audit::Log& log, audit::Event e) {
  Batch& b = local_batch();
  auto ex = co_await asio::this_coro::executor;
  Result<uint64_t> out = make_error("audit_closed", "strict audit batch was not committed");
  const size_t index = b.add(log, std::move(e), ex);
  co_await asio::async_initiate<decltype(net::use_awaitable), void()>(
      [&](auto handler) {
        auto w = std::make_unique<WaiterFor<decltype(handler)>>(std::move(handler));
        w->out = &out;
        w->index = index;
        b.waiters.push_back(std::move(w));
      },
      net::use_awaitable);
  co_return out;
}

void append_batched(audit::Log& log, audit::Event e, net::Executor ex) {
  local_batch().add(log, std::move(e), ex);
}

void flush_thread_batch() {
  Batch& b = local_batch();
  if (b.log == nullptr) return;
  if (!b.events.empty()) {
    if (auto r = b.log->append_now(b.events); !r) {
      spdlog::error("audit: records of a stopped io thread were not committed: {}",
                    r.error().message);
    }
  }
  b.events.clear();
  b.waiters.clear();
  b.log = nullptr;
  b.scheduled = false;
  b.retries = 0;
}

}  // namespace phigate::proxy
