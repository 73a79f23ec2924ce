#pragma once
// Single include point for Boost.Asio: <utility> must precede it with Boost 1.74 + GCC 12, or
// co_await code fails to compile (DESIGN.md §9).
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace phigate::net {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
template <class T = void>
using awaitable = asio::awaitable<T>;
inline constexpr auto use_awaitable = asio::use_awaitable;
}  // namespace phigate::net
