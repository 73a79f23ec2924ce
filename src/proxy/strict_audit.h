#pragma once
// Strict-durability audit appends (DESIGN.md §4 `durability: strict`) from the sessions of one io
// thread, committed together. A session's record must be in the journal before its request goes
// upstream; committing each record alone cost one journal write() and one commit per request.
// Here a session's record joins this thread's open batch and the session suspends; the batch is
// committed once the event loop has run every handler that was already ready, so requests that
// arrived in the same epoll wake-up share one commit. Nobody waits longer than that turn: the
// commit still happens on the io thread, before any of those sessions forwards a byte. When
// another io thread holds the commit lock, the batch goes round the event loop a few times (the
// thread's other ready connections run, and their records join it) before it waits for the lock.
#include "audit/event.h"
#include "audit/log.h"
#include "common/result.h"
#include "net/asio.h"

namespace phigate::proxy {

// Appends `e` durably (Log::append_now semantics) together with the other records appended on
// this io thread in the same turn; returns its seq or the commit's error. Must be called from a
// coroutine running on an io thread's executor.
net::awaitable<Result<uint64_t>> append_strict(audit::Log& log, audit::Event e);

}  // namespace phigate::proxy
