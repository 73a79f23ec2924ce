#include "net/server.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <future>
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

// The CPUs the calling thread may run on.
std::vector<int> thread_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

// What each io thread may run on, asked from inside each context.
std::vector<std::vector<int>> io_thread_cpus(Server& server) {
  std::vector<std::vector<int>> out;
  for (auto& ctx : server.contexts()) {
    std::promise<std::vector<int>> p;
    asio::post(*ctx, [&p] { p.set_value(thread_cpus()); });
    out.push_back(p.get_future().get());
  }
  return out;
}

TEST(Server, ThreadsDefaultToTheAllowedCpusAndFloat) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  Server server(0);
  EXPECT_EQ(server.contexts().size(), allowed.size());
  server.start();
  for (const auto& cpus : io_thread_cpus(server)) EXPECT_EQ(cpus, allowed);
  server.stop();
  server.wait();
}

// gateway.cpu_affinity: thread i on the i-th allowed CPU, wrapping around when there are more
// threads than CPUs; the affinity applies to the io thread only, not to the process.
TEST(Server, PinnedThreadsEachRunOnOneAllowedCpu) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  const int threads = static_cast<int>(allowed.size()) + 1;
  Server server(threads, true);
  server.start();
  auto got = io_thread_cpus(server);
  ASSERT_EQ(got.size(), size_t(threads));
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], std::vector<int>{allowed[i % allowed.size()]}) << "io thread " << i;
  }
  EXPECT_EQ(thread_cpus(), allowed);
  server.stop();
  server.wait();
}

}  // namespace
}  // namespace phigate::net
