#include "net/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

namespace phigate::net {
namespace {

TEST(ParseEndpoint, AcceptsHostPortAndRejectsGarbage) {
  auto ok = parse_endpoint("127.0.0.1:15432");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->port(), 15432);
  EXPECT_TRUE(parse_endpoint("[::1]:80").ok());
  EXPECT_TRUE(parse_endpoint("localhost:1").ok());
  EXPECT_FALSE(parse_endpoint("127.0.0.1").ok());
  EXPECT_FALSE(parse_endpoint("127.0.0.1:99999").ok());
  EXPECT_FALSE(parse_endpoint("not-an-ip:80").ok());
  EXPECT_FALSE(parse_endpoint("1.2.3.4:x").ok());
}

TEST(SplitHostPort, NamesAndBracketsAndStrictPorts) {
  auto a = split_host_port("db.internal:6432");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "db.internal");
  EXPECT_EQ(a->second, 6432);
  auto b = split_host_port("[::1]:5432");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  EXPECT_FALSE(split_host_port("host:54x").ok());
  EXPECT_FALSE(split_host_port("host:").ok());
  EXPECT_FALSE(split_host_port(":5432").ok());
}

// Every thread's acceptor shares one port (SO_REUSEPORT) and connections reach a handler.
TEST(Server, PortZeroSharedAcrossThreadsAndAccepts) {
  Server server(2);
  std::atomic<int> accepted{0};
  auto port = server.listen("127.0.0.1:0", [&](tcp::socket s, asio::io_context&) {
    ++accepted;
    error_code ec;
    s.close(ec);
  });
  ASSERT_TRUE(port.ok()) << port.error().message;
  ASSERT_NE(*port, 0);
  server.start();
  asio::io_context client;
  for (int i = 0; i < 8; ++i) {
    tcp::socket s(client);
    error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), *port), ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  for (int i = 0; i < 200 && accepted < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(accepted.load(), 8);
  server.stop();
  server.wait();
}

// Whichever acceptor the kernel picks, connections are dealt round-robin: 8 over 3 threads are
// 3/3/2, each handler runs on the thread of the context it is given, and a moved connection
// still carries its bytes.
TEST(Server, DealsConnectionsEvenlyAcrossThreads) {
  constexpr int kThreads = 3, kConns = 8;
  Server server(kThreads);
  std::mutex mu;
  std::map<asio::io_context*, int> per_context;
  std::atomic<int> wrong_thread{0}, echoed{0};
  auto port = server.listen("127.0.0.1:0", [&](tcp::socket s, asio::io_context& ctx) {
    // The handler must run on the thread of the context it is given (sessions keep per-thread
    // state such as the upstream pool).
    if (!ctx.get_executor().running_in_this_thread()) ++wrong_thread;
    {
      std::lock_guard lk(mu);
      ++per_context[&ctx];
    }
    char c = 0;
    error_code ec;
    asio::read(s, asio::buffer(&c, 1), ec);
    if (ec || c != 'x') return;
    ++echoed;  // before the reply: the client checks the count once it has read it
    asio::write(s, asio::buffer("y", 1), ec);
  });
  ASSERT_TRUE(port.ok()) << port.error().message;
  server.start();
  asio::io_context client;
  std::vector<tcp::socket> socks;
  for (int i = 0; i < kConns; ++i) {
    socks.emplace_back(client);
    error_code ec;
    socks.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), *port), ec);
    ASSERT_FALSE(ec) << ec.message();
    asio::write(socks.back(), asio::buffer("x", 1), ec);
    char c = 0;
    asio::read(socks.back(), asio::buffer(&c, 1), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(c, 'y');
  }
  EXPECT_EQ(echoed.load(), kConns);
  EXPECT_EQ(wrong_thread.load(), 0);
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(per_context.size(), size_t(kThreads));
    for (auto& [ctx, n] : per_context) EXPECT_TRUE(n == 2 || n == 3) << n;
  }
  server.stop();
  server.wait();
}

TEST(Server, ListenFailsOnBusyPortWithoutReuse) {
  asio::io_context io;
  tcp::acceptor other(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = other.local_endpoint().port();
  Server server(1);
  auto r =
      server.listen("127.0.0.1:" + std::to_string(port), [](tcp::socket, asio::io_context&) {});
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace phigate::net
