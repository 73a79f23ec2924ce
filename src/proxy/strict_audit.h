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

// Appends `e` to this io thread's batch without waiting for it: a record nothing waits for (a
// result) is committed with the turn's batch by this thread, rather than by waking the Log's
// writer thread, whose commits the io threads' strict batches would otherwise queue behind. A
// failed commit poisons the Log like a failed fire-and-forget append. `ex` must be the calling io
// thread's executor.
void append_batched(audit::Log& log, audit::Event e, net::Executor ex);

// For an io thread whose event loop has stopped (shutdown): commits what its batch still holds,
// so that no record a session appended is lost with the flush that will never run. Sessions
// waiting on that batch are not resumed (their loop is gone).
void flush_thread_batch();

}  // namespace phigate::proxy
