#include "upstream/http_connector.h"

#include <sys/socket.h>

#include <charconv>
#include <unordered_map>
#include <vector>

namespace phigate::upstream {

namespace asio = net::asio;
using net::error_code;
using net::tcp;

Result<HttpTarget> parse_http_url(std::string_view url) {
  HttpTarget t;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    t.port = 443;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return make_error("url", "upstream must be an http:// or https:// URL");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return make_error("url", "upstream URL needs a host and no userinfo");
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return make_error("url", "upstream URL must not have a query or fragment");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  t.base_path = std::string(path);
  std::string_view host = authority;
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    std::string_view port = authority.substr(colon + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || v == 0 ||
        v > 65535) {
      return make_error("url", "bad port in upstream URL");
    }
    t.port = static_cast<uint16_t>(v);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return make_error("url", "upstream URL needs a host");
  t.host = std::string(host);
  t.authority = std::string(authority);
  t.pool_key = std::string(t.tls ? "https://" : "http://") + std::string(authority);
  return t;
}

Result<std::unique_ptr<net::ssl::context>> make_http_client_tls(const std::string& ca_file) {
  auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1);
  error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(ca_file, ec);
  }
  if (ec) return make_error("tls", "cannot load CA certificates: " + ec.message());
  return ctx;
}

net::awaitable<Result<std::unique_ptr<net::Stream>>> connect_http(
    asio::any_io_executor ex, const HttpTarget& target, net::ssl::context* tls, bool verify,
    std::chrono::milliseconds timeout) {
  auto stream = std::make_unique<net::Stream>(tcp::socket(ex));
  // Watchdog: closing the socket fails the pending resolve/connect/handshake.
  auto alive = std::make_shared<bool>(true);
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(ex);
  timer.expires_after(timeout);
  net::Stream* raw = stream.get();
  auto resolver = std::make_shared<tcp::resolver>(ex);
  timer.async_wait([alive, timed_out, raw, resolver](const error_code& ec) {
    if (ec || !*alive) return;
    *timed_out = true;
    resolver->cancel();
    raw->close();
  });
  auto finish = [&](Result<std::unique_ptr<net::Stream>> r) {
    *alive = false;
    timer.cancel();
    return r;
  };
  error_code ec;
  std::vector<tcp::endpoint> endpoints;
  auto addr = asio::ip::make_address(target.host, ec);
  if (!ec) {
    endpoints.emplace_back(addr, target.port);
  } else {
    const std::string port = std::to_string(target.port);
    auto results = co_await resolver->async_resolve(target.host, port,
                                                    asio::redirect_error(net::use_awaitable, ec));
    if (ec) {
      co_return finish(make_error(
          "connect", *timed_out ? "timed out resolving " + target.host
                                : "cannot resolve " + target.host + ": " + ec.message()));
    }
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  ec = asio::error::host_not_found;
  for (const tcp::endpoint& ep : endpoints) {
    if (*timed_out) break;
    error_code cec;
    stream->socket().close(cec);
    co_await stream->socket().async_connect(ep, asio::redirect_error(net::use_awaitable, ec));
    if (!ec) break;
  }
  if (ec || *timed_out) {
    co_return finish(make_error(
        "connect", *timed_out ? "timed out connecting to " + target.authority
                              : "cannot connect to " + target.authority + ": " + ec.message()));
  }
  error_code nd;
  stream->socket().set_option(tcp::no_delay(true), nd);
  if (target.tls) {
    if (tls == nullptr) co_return finish(make_error("tls", "no TLS context for an https upstream"));
    const std::string verify_host = verify ? target.host : std::string();
    co_await stream->tls_connect(*tls, verify_host, ec);
    if (ec || *timed_out) {
      co_return finish(make_error("tls", *timed_out ? "timed out in the TLS handshake"
                                                    : "TLS handshake with " + target.authority +
                                                          " failed: " + ec.message()));
    }
  }
  co_return finish(std::move(stream));
}

struct HttpPool::Impl {
  std::unordered_map<std::string, std::vector<std::unique_ptr<net::Stream>>> idle;
};

HttpPool& HttpPool::local() {
  thread_local HttpPool pool;
  if (!pool.impl_) pool.impl_ = std::make_shared<Impl>();
  return pool;
}

std::unique_ptr<net::Stream> HttpPool::take(const std::string& key, bool check_alive) {
  auto it = impl_->idle.find(key);
  if (it == impl_->idle.end()) return nullptr;
  auto& v = it->second;
  while (!v.empty()) {
    std::unique_ptr<net::Stream> s = std::move(v.back());
    v.pop_back();
    if (!check_alive) return s;
    // An idle connection must have nothing to read: EOF means the upstream closed it, and bytes
    // (an unsolicited response, a TLS close_notify) mean it cannot be trusted for a new request.
    char b;
    ssize_t n = ::recv(s->socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return s;
    s->close();
  }
  return nullptr;
}

void HttpPool::put(const std::string& key, std::unique_ptr<net::Stream> s) {
  auto& v = impl_->idle[key];
  if (v.size() >= kMaxIdlePerKey) {
    s->close();
    return;
  }
  v.push_back(std::move(s));
}

}  // namespace phigate::upstream
