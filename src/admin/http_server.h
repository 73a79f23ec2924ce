#pragma once
// The admin API's HTTP/1.1 server (Boost.Beast) on listen.admin: TLS with gateway.tls, plain
// HTTP only on loopback otherwise (a bearer token must not cross a network in clear). Bounded:
// header and body size limits, a read timeout per request, a cap on connections. It runs on its own
// io_context (the admin thread), apart from the session threads.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "admin/router.h"
#include "common/result.h"
#include "net/asio.h"

namespace phigate::admin {

struct AdminLimits {
  size_t max_header = 16 * 1024;
  size_t max_body = 64 * 1024;
  std::chrono::milliseconds read_timeout{30000};  // a request (or the TLS handshake) must arrive
  size_t max_connections = 128;
  int max_requests_per_connection = 1000;
};

class AdminServer {
 public:
  // tls null: plain HTTP, refused on a non-loopback address unless allow_remote_plain.
  AdminServer(net::asio::io_context& ctx, const AdminApi& api, net::ssl::context* tls,
              bool allow_remote_plain, AdminLimits limits = {});
  ~AdminServer();
  // Binds and starts accepting; returns the bound port.
  Result<uint16_t> listen(const std::string& host_port);
  void stop();

 private:
  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(net::tcp::socket sock);
  template <class Stream>
  net::awaitable<void> session(Stream& s, const std::string& client);

  net::asio::io_context& ctx_;
  const AdminApi& api_;
  net::ssl::context* tls_;
  bool allow_remote_plain_;
  AdminLimits limits_;
  std::unique_ptr<net::tcp::acceptor> acceptor_;
  std::atomic<size_t> connections_{0};
};

}  // namespace phigate::admin
