// Which URLs identity/ may fetch keys from (https anywhere; http only on loopback), and the client
// against a loopback server that misbehaves.
#include "identity/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "identity/jwks_fetcher.h"

namespace phigate {
namespace {

namespace asio = net::asio;

TEST(FetchUrl, SchemesHostsAndPorts) {
  auto u = parse_fetch_url("https://idp.example/realms/x/protocol/openid-connect/certs");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "idp.example");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/realms/x/protocol/openid-connect/certs");
  u = parse_fetch_url("http://127.0.0.1:3000");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, 3000);
  EXPECT_EQ(u->target, "/");
  u = parse_fetch_url("http://[::1]:8080/jwks?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/jwks?x=1");
  EXPECT_TRUE(parse_fetch_url("http://localhost/jwks").ok());
  EXPECT_TRUE(parse_fetch_url("http://127.8.9.10/jwks").ok());

  // Plain http to anything but loopback could have its key set swapped on the way.
  for (const char* bad :
       {"http://idp.example/jwks", "http://10.0.0.1/jwks", "http://[::2]/", "ftp://idp/x",
        "file:///etc/passwd", "https://user:pw@idp.example/", "https://idp.example/#frag",
        "https://idp.example:0/", "https://idp.example:99999/", "https://idp.example:/",
        "https://idp.example:8x/", "https:///jwks", "https://idp .example/", "https://idp\n/",
        "https://[::1/", "https://::1/", "", "idp.example"}) {
    EXPECT_FALSE(parse_fetch_url(bad).ok()) << bad;
  }
}

// A loopback server that answers every connection with `reply`, then closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), reply_(std::move(reply)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~OneShotServer() {
    io_.stop();
    thread_.join();
  }
  int connections() const { return connections_.load(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }

 private:
  void accept() {
    acceptor_.async_accept([this](net::error_code ec, net::tcp::socket s) {
      if (ec) return;
      ++connections_;
      auto sock = std::make_shared<net::tcp::socket>(std::move(s));
      auto buf = std::make_shared<std::array<char, 4096>>();
      sock->async_read_some(asio::buffer(*buf), [this, sock, buf](net::error_code, size_t) {
        asio::async_write(*sock, asio::buffer(reply_),
                          [sock](net::error_code, size_t) { sock->close(); });
      });
      accept();
    });
  }
  asio::io_context io_;
  net::tcp::acceptor acceptor_;
  std::string reply_;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

std::string http_reply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

Result<std::shared_ptr<const JwkSet>> fetch_keys(OidcIssuerOptions o) {
  asio::io_context io;
  std::optional<Result<std::shared_ptr<const JwkSet>>> out;
  asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        auto r = co_await fetch_issuer_keys(o);
        out.emplace(std::move(r));
      },
      asio::detached);
  io.run();
  if (!out) return make_error("test", "did not complete");
  return std::move(*out);
}

TEST(FetchIssuerKeys, DiscoveryMustNameTheConfiguredIssuer) {
  OneShotServer server(
      http_reply(200, R"({"issuer":"https://evil.example","jwks_uri":"http://127.0.0.1:1/jwks"})"));
  OidcIssuerOptions o;
  o.issuer = server.url("");
  auto r = fetch_keys(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("different issuer"), std::string::npos) << r.error().message;
}

TEST(FetchIssuerKeys, BadResponsesAreErrors) {
  OidcIssuerOptions o;
  o.issuer = "http://127.0.0.1:1";
  {
    OneShotServer server(http_reply(404, "{}"));
    o.jwks_uri = server.url("/jwks");
    EXPECT_FALSE(fetch_keys(o).ok());
  }
  {
    OneShotServer server(http_reply(200, R"({"keys":[],"keys":[]})"));
    o.jwks_uri = server.url("/jwks");
    auto r = fetch_keys(o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("JWKS"), std::string::npos);
  }
  {
    OneShotServer server(http_reply(200, std::string(kMaxJwksBytes + 10, ' ')));
    o.jwks_uri = server.url("/jwks");
    EXPECT_FALSE(fetch_keys(o).ok());
  }
  {
    // A redirect is not followed (it would be an unverified hop).
    OneShotServer server(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n");
    o.jwks_uri = server.url("/jwks");
    EXPECT_FALSE(fetch_keys(o).ok());
  }
  {
    OneShotServer server(http_reply(200, R"({"keys":[]})"));
    o.jwks_uri = server.url("/jwks");
    auto r = fetch_keys(o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE((*r)->keys.empty());
  }
  // Nothing listening.
  o.jwks_uri = "http://127.0.0.1:1/jwks";
  auto r = fetch_keys(o);
  ASSERT_FALSE(r.ok());
}

// The real fetcher: the start-up fetch loads keys; unknown-kid refreshes are rate limited per
// issuer, and a refresh's waiters are told when it is done.
TEST(JwksFetcher, StartupFetchAndRateLimitedRefresh) {
  OneShotServer server(http_reply(200, R"({"keys":[]})"));
  OidcIssuerOptions o;
  o.name = "t";
  o.issuer = "http://127.0.0.1:1";
  o.jwks_uri = server.url("/jwks");
  o.min_refresh_interval = std::chrono::hours(1);
  auto limited = std::make_shared<OidcIssuer>(o);
  o.name = "t0";
  o.min_refresh_interval = std::chrono::milliseconds(0);
  auto eager = std::make_shared<OidcIssuer>(o);
  JwksFetcher fetcher({limited, eager});
  EXPECT_FALSE(fetcher.request_refresh(limited.get(), nullptr));  // not started: nothing to join
  fetcher.start();

  // Waits for a condition the fetcher thread makes true; the deadline only bounds a broken run.
  auto wait_for = [](auto cond) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!cond() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return cond();
  };
  ASSERT_TRUE(wait_for([&] { return fetcher.fetch_count(limited.get()) == 1; }));
  ASSERT_TRUE(wait_for([&] { return fetcher.fetch_count(eager.get()) == 1; }));
  EXPECT_NE(limited->keys(), nullptr);

  // The start-up fetch counts as the last refresh: within the hour, no new fetch for "t".
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(fetcher.request_refresh(limited.get(), nullptr));
  // "t0" may refresh every time; the callback runs once the refresh has finished.
  std::atomic<int> done{0};
  EXPECT_TRUE(fetcher.request_refresh(eager.get(), [&] { ++done; }));
  ASSERT_TRUE(wait_for([&] { return done.load() == 1; }));
  EXPECT_EQ(fetcher.fetch_count(eager.get()), 2u);
  EXPECT_EQ(fetcher.fetch_count(limited.get()), 1u);
  EXPECT_EQ(server.connections(), 3);
  fetcher.stop();
}

}  // namespace
}  // namespace phigate
