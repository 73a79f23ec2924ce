#pragma once
// Holding a request for a human (DESIGN.md §1: only the approval stage suspends). The session
// coroutine waits here until the gate calls back or `timeout` passes; the gate's callback may come
// from any thread and is posted back to the session's executor.
#include <chrono>
#include <memory>
#include <string>

#include "common/buffer.h"
#include "net/asio.h"
#include "net/stream.h"
#include "policy/approval_gate.h"

namespace phigate::proxy {

// kApproved only when the gate approved within `timeout`. A gate that cannot hold the request
// gives kDenied with the gate's reason (fail closed); a timeout withdraws the request from the
// gate (cancel) and gives kTimedOut.
net::awaitable<ApprovalOutcome> await_approval(net::asio::any_io_executor ex, ApprovalGate& gate,
                                               HoldRequest request,
                                               std::chrono::milliseconds timeout);

// The client read a hold leaves running. While a request waits for a human the client is read
// (so a hang-up is noticed at once, like the PostgreSQL hold reader): the bytes that arrive (a
// pipelined next request) are kept in `data`, up to kHeldBacklog, after which reading stops (TCP
// backpressure) until the hold ends. A read may still be outstanding when the hold ends: the
// session's next read of the client takes it over (take_watched) instead of starting another.
struct ClientWatch {
  static constexpr size_t kHeldBacklog = 1 << 20;
  explicit ClientWatch(net::asio::any_io_executor ex) : wake(ex) {}
  std::string data;  // read while held, not yet handed to the session
  std::string buf;   // the outstanding read's buffer
  bool active = false;
  bool gone = false;             // EOF or a read error: the client went away
  net::asio::steady_timer wake;  // cancelled when a read completes or the gate answers
};

// await_approval that also watches `client` (null: not watched): when it hangs up, the request
// is withdrawn from the gate (cancel: the gate records the decision `cancelled`) and the outcome is
// kCancelled with `client_gone` set. `keep` keeps the owner of `client` alive while a read is
// outstanding; `watch` is created here and left to the caller (take_watched) when it holds bytes
// or a pending read.
net::awaitable<ApprovalOutcome> await_approval_watching(
    net::asio::any_io_executor ex, ApprovalGate& gate, HoldRequest request,
    std::chrono::milliseconds timeout, net::Stream* client, std::shared_ptr<void> keep,
    std::shared_ptr<ClientWatch>& watch, bool& client_gone);

// A session's client read after a hold: hands over what the watch read (to the end of `in`), or
// else waits for its outstanding read; drops the watch once nothing is left. False when the client
// went away and nothing is left.
net::awaitable<bool> take_watched(std::shared_ptr<ClientWatch>& watch, Buffer& in);

}  // namespace phigate::proxy
