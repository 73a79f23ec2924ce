#pragma once
// Connections to `type: http` upstreams: plain TCP or TLS (chain and host name verified by
// default), and a keep-alive pool per io thread, so reusing a connection takes no lock.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/asio.h"
#include "net/stream.h"

namespace phigate::upstream {

struct HttpTarget {
  bool tls = false;
  std::string host;
  uint16_t port = 80;
  std::string base_path;  // "" or "/prefix" (no trailing slash): prepended to forwarded paths
  std::string authority;  // the Host field for the upstream (RFC 9110 §7.2)
  std::string pool_key;   // "https://host:port"
};

// http://host[:port][/base] or https://...; no userinfo, query or fragment.
Result<HttpTarget> parse_http_url(std::string_view url);

// A TLS client context: the system trust store, or `ca_file` instead when given.
Result<std::unique_ptr<net::ssl::context>> make_http_client_tls(const std::string& ca_file);

// Connects (and handshakes for https) within `timeout`. `tls` must be set for an https target;
// `verify` false skips certificate verification (upstream_tls: require).
net::awaitable<Result<std::unique_ptr<net::Stream>>> connect_http(
    net::asio::any_io_executor ex, const HttpTarget& target, net::ssl::context* tls, bool verify,
    std::chrono::milliseconds timeout);

// Idle upstream connections of the calling io thread.
class HttpPool {
 public:
  static HttpPool& local();
  // An idle connection to `key`, or null. `check_alive`: one that the upstream has not closed
  // (a non-blocking peek, one syscall). A caller that can replay its request on a fresh
  // connection when this one turns out dead (HttpSession: idempotent and bodiless) passes false.
  std::unique_ptr<net::Stream> take(const std::string& key, bool check_alive = true);
  void put(const std::string& key, std::unique_ptr<net::Stream> s);
  static constexpr size_t kMaxIdlePerKey = 64;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace phigate::upstream
