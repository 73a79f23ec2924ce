// A reference point for bench/http, not part of the gateway: the least an Asio-coroutine
// HTTP/1.1 keep-alive relay can do per request (find the end of the head, honour Content-Length,
// forward, read the response the same way, send it back), with one io thread per core and
// SO_REUSEPORT like phigate. It parses nothing else, checks nothing, masks and audits nothing, so
// its rps is the ceiling that the topology (wrk -> proxy -> nginx -> proxy -> wrk on the same
// cores) and Asio's reactor leave for any proxy built this way.
// Usage: http_relay_floor LISTEN_PORT UPSTREAM_PORT [THREADS [FEATURES_DB]]; with FEATURES_DB the
// relay also does the feature floor of floor_features.h (masking + hashed audit into that file).
#include <sys/socket.h>

#include <utility>

#include <boost/asio.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "floor_features.h"

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

size_t content_length(std::string_view head) {
  for (std::string_view name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
    auto p = head.find(name);
    if (p != std::string_view::npos)
      return std::strtoul(head.data() + p + name.size(), nullptr, 10);
  }
  return 0;
}

// Reads one message (head and Content-Length body) into buf[0..have); returns its length.
awaitable<size_t> read_message(tcp::socket& s, std::string& buf, size_t& have) {
  for (;;) {
    auto end = std::string_view(buf.data(), have).find("\r\n\r\n");
    if (end != std::string_view::npos) {
      size_t total = end + 4 + content_length(std::string_view(buf.data(), end));
      if (buf.size() < total) buf.resize(total);
      while (have < total) {
        have += co_await s.async_read_some(asio::buffer(buf.data() + have, buf.size() - have),
                                           use_awaitable);
      }
      co_return total;
    }
    if (have == buf.size()) buf.resize(buf.size() * 2);
    have += co_await s.async_read_some(asio::buffer(buf.data() + have, buf.size() - have),
                                       use_awaitable);
  }
}

awaitable<void> relay(tcp::socket client, tcp::endpoint upstream,
                      phigate::bench::FloorFeatures* features) {
  try {
    tcp::socket up(client.get_executor());
    co_await up.async_connect(upstream, use_awaitable);
    up.set_option(tcp::no_delay(true));
    client.set_option(tcp::no_delay(true));
    std::string in(16384, '\0'), out(16384, '\0'), sent;
    size_t in_have = 0, out_have = 0;
    for (;;) {
      size_t n = co_await read_message(client, in, in_have);
      co_await asio::async_write(up, asio::buffer(in.data(), n), use_awaitable);
      size_t m = co_await read_message(up, out, out_have);
      if (features) {
        sent.clear();
        if (!features->exchange(std::string_view(in.data(), n), std::string_view(out.data(), m),
                                sent))
          co_return;
        co_await asio::async_write(client, asio::buffer(sent), use_awaitable);
      } else {
        co_await asio::async_write(client, asio::buffer(out.data(), m), use_awaitable);
      }
      std::memmove(in.data(), in.data() + n, in_have - n);
      in_have -= n;
      std::memmove(out.data(), out.data() + m, out_have - m);
      out_have -= m;
    }
  } catch (const std::exception&) {
    // The client or the upstream went away: the connection ends.
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s LISTEN_PORT UPSTREAM_PORT [THREADS [FEATURES_DB]]\n", argv[0]);
    return 2;
  }
  auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  tcp::endpoint upstream(asio::ip::make_address("127.0.0.1"),
                         static_cast<unsigned short>(std::atoi(argv[2])));
  int threads = argc > 3 ? std::atoi(argv[3]) : int(std::thread::hardware_concurrency());
  if (threads <= 0) threads = int(std::thread::hardware_concurrency());
  std::unique_ptr<phigate::bench::FloorFeatures> features;
  if (argc > 4 && !(features = phigate::bench::FloorFeatures::open(argv[4]))) return 1;
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      asio::io_context io(1);
      tcp::acceptor acceptor(io);
      tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
      acceptor.open(ep.protocol());
      acceptor.set_option(asio::socket_base::reuse_address(true));
      int one = 1;
      ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      acceptor.bind(ep);
      acceptor.listen();
      asio::co_spawn(
          io,
          [&]() -> awaitable<void> {
            for (;;) {
              tcp::socket s = co_await acceptor.async_accept(use_awaitable);
              asio::co_spawn(io, relay(std::move(s), upstream, features.get()), asio::detached);
            }
          },
          asio::detached);
      io.run();
    });
  }
  for (auto& t : pool) t.join();
}
