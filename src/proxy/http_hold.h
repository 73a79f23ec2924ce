#pragma once
// Holding a request for a human (DESIGN.md §1: only the approval stage suspends). The session
// coroutine waits here until the gate calls back or `timeout` passes; the gate's callback may come
// from any thread and is posted back to the session's executor.
#include <chrono>

#include "net/asio.h"
#include "policy/approval_gate.h"

namespace phigate::proxy {

// kApproved only when the gate approved within `timeout`. A gate that cannot hold the request
// gives kDenied with the gate's reason (fail closed); a timeout withdraws the request from the
// gate (cancel) and gives kTimedOut.
net::awaitable<ApprovalOutcome> await_approval(net::asio::any_io_executor ex, ApprovalGate& gate,
                                               HoldRequest request,
                                               std::chrono::milliseconds timeout);

}  // namespace phigate::proxy
