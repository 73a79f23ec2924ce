#pragma once
// Lets a session coroutine wait until the audit records it appended are durable, without blocking
// its io_context thread: completions arrive on the audit writer thread and are posted back here.
#include <cstdint>
#include <functional>
#include <memory>

#include "audit/log.h"
#include "net/asio.h"

namespace phigate::proxy {

class DurableBarrier : public std::enable_shared_from_this<DurableBarrier> {
 public:
  explicit DurableBarrier(net::asio::any_io_executor ex);
  // Appends; `on_seq` runs on the session's executor with the record's seq once durable.
  void append(audit::Log& log, audit::Event e, std::function<void(uint64_t)> on_seq = nullptr);
  // Resumes when every record appended so far has committed; false if any failed.
  net::awaitable<bool> wait();
  bool failed() const { return failed_; }

 private:
  net::asio::any_io_executor ex_;
  net::asio::steady_timer timer_;
  uint64_t outstanding_ = 0;
  bool failed_ = false;
};

}  // namespace phigate::proxy
