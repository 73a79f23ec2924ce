#include "admin/webhook.h"

#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/crypto.h"

namespace phigate::admin {

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::awaitable;
using net::error_code;
using net::tcp;

Result<WebhookUrl> parse_webhook_url(const std::string& url) {
  WebhookUrl u;
  std::string_view rest(url);
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    u.tls = true;
    rest.remove_prefix(8);
  } else {
    return make_error("url", "webhook URL must start with http:// or https://");
  }
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target[0] == '?') u.target.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return make_error("url", "webhook URL needs a host (and no user info)");
  std::string_view host = authority, port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return make_error("url", "unterminated [v6] host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return make_error("url", "bad text after [v6] host");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return make_error("url", "webhook URL needs a host");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535)
      return make_error("url", "bad port in webhook URL");
  }
  u.host = std::string(host);
  u.port = port.empty() ? (u.tls ? "443" : "80") : std::string(port);
  for (char c : u.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return make_error("url", "webhook URL path holds a space or control character");
  return u;
}

Notifier::Notifier(asio::io_context& ctx, const std::vector<std::string>& urls, RetryPolicy p)
    : ctx_(ctx), policy_(p) {
  for (const auto& s : urls) {
    auto u = parse_webhook_url(s);
    if (!u) {
      spdlog::error("approvals.notify: skipping webhook {}: {}", s, u.error().message);
      continue;
    }
    if (u->tls && !tls_) {
      tls_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
      tls_->set_default_verify_paths();
      tls_->set_verify_mode(net::ssl::verify_peer);
    }
    urls_.push_back(std::move(*u));
  }
}

Notifier::~Notifier() = default;

void Notifier::send(nlohmann::json payload) {
  if (urls_.empty()) return;
  std::string event = payload.value("event", "");
  // Invalid UTF-8 in a statement must not make dump() throw: replace it.
  std::string body = payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (const auto& u : urls_) {
    if (in_flight_.fetch_add(1) >= policy_.max_in_flight) {
      in_flight_.fetch_sub(1);
      spdlog::error("approvals.notify: {} deliveries in flight; dropping {} to {}{}",
                    policy_.max_in_flight, event, u.host, u.target);
      continue;
    }
    // One delivery id across retries, so a receiver can drop duplicates.
    std::string delivery = random_id();
    asio::co_spawn(ctx_, deliver(u, event, std::move(delivery), body), asio::detached);
  }
}

awaitable<void> Notifier::deliver(WebhookUrl url, std::string event, std::string delivery,
                                  std::string body) {
  auto delay = policy_.first_delay;
  for (int i = 1; i <= policy_.attempts; ++i) {
    std::string error;
    int status = co_await attempt(url, event, delivery, body, error);
    if (status >= 200 && status < 300) break;
    if (error.empty()) error = "HTTP " + std::to_string(status);
    if (i == policy_.attempts) {
      spdlog::error("approvals.notify: giving up on {} to {}:{}{} after {} attempts: {}", event,
                    url.host, url.port, url.target, i, error);
      break;
    }
    spdlog::warn("approvals.notify: {} to {}:{}{} failed (attempt {}): {}; retrying in {} ms",
                 event, url.host, url.port, url.target, i, error, delay.count());
    asio::steady_timer t(ctx_);
    t.expires_after(delay);
    error_code ec;
    co_await t.async_wait(asio::redirect_error(net::use_awaitable, ec));
    delay = std::min(delay * 2, policy_.max_delay);
  }
  in_flight_.fetch_sub(1);
}

awaitable<int> Notifier::attempt(const WebhookUrl& url, const std::string& event,
                                 const std::string& delivery, const std::string& body,
                                 std::string& error) {
  error_code ec;
  tcp::resolver resolver(ctx_);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port,
                                                   asio::redirect_error(net::use_awaitable, ec));
  if (ec) {
    error = "resolve: " + ec.message();
    co_return 0;
  }
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "phigate");
  req.set(http::field::content_type, "application/json");
  req.set("X-Phigate-Event", event);
  req.set("X-Phigate-Delivery", delivery);
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);

  beast::tcp_stream tcp_stream(ctx_);
  tcp_stream.expires_after(policy_.attempt_timeout);
  co_await tcp_stream.async_connect(endpoints, asio::redirect_error(net::use_awaitable, ec));
  if (ec) {
    error = "connect: " + ec.message();
    co_return 0;
  }
  if (!url.tls) {
    co_await http::async_write(tcp_stream, req, asio::redirect_error(net::use_awaitable, ec));
    if (!ec)
      co_await http::async_read(tcp_stream, buf, parser,
                                asio::redirect_error(net::use_awaitable, ec));
    tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  } else {
    beast::ssl_stream<beast::tcp_stream> s(std::move(tcp_stream), *tls_);
    SSL_set_tlsext_host_name(s.native_handle(), url.host.c_str());
    s.set_verify_callback(net::ssl::host_name_verification(url.host));
    co_await s.async_handshake(net::ssl::stream_base::client,
                               asio::redirect_error(net::use_awaitable, ec));
    if (ec) {
      error = "TLS: " + ec.message();
      co_return 0;
    }
    beast::get_lowest_layer(s).expires_after(policy_.attempt_timeout);
    co_await http::async_write(s, req, asio::redirect_error(net::use_awaitable, ec));
    if (!ec)
      co_await http::async_read(s, buf, parser, asio::redirect_error(net::use_awaitable, ec));
    error_code ignored;
    beast::get_lowest_layer(s).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  if (ec) {
    error = ec.message();
    co_return 0;
  }
  co_return static_cast<int>(parser.get().result_int());
}

}  // namespace phigate::admin
