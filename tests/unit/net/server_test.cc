#include "net/server.h"

#include <gtest/gtest.h>

#include <atomic>

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
