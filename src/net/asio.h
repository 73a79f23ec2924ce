#pragma once
// Single include point for Boost.Asio: <utility> must precede it with Boost 1.74 + GCC 12, or
// co_await code fails to compile (DESIGN.md §9).
#include <stdexcept>
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace phigate::net {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
// Coroutines run on an io_context's own executor type rather than the type-erased
// any_io_executor: every resumption and every handler otherwise went through any_executor's
// virtual-like dispatch (prefer/execute/move/destroy of the erased executor), a few % of the data
// path's CPU.
using Executor = asio::io_context::executor_type;
template <class T = void>
using awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable;
// The io_context executor inside an I/O object's type-erased one, to co_spawn on: every socket
// here is made on an io_context, so anything else is a programming error.
inline Executor io_executor(const asio::any_io_executor& ex) {
  const Executor* e = ex.target<Executor>();
  if (e == nullptr) throw std::logic_error("I/O object not bound to an io_context executor");
  return *e;
}
}  // namespace phigate::net
