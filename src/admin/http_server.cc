#include "admin/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/server.h"

namespace phigate::admin {

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::awaitable;
using net::error_code;
using net::tcp;

namespace {

http::response<http::string_body> make_response(const Reply& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "phigate");
  res.set(http::field::content_type, r.content_type.empty() ? "application/json" : r.content_type);
  res.set(http::field::cache_control, "no-store");
  if (r.status == 401) res.set(http::field::www_authenticate, "Bearer");
  for (const auto& [name, value] : r.headers) res.set(name, value);
  if (!r.content_type.empty()) {
    res.body() = r.raw;
  } else {
    // Statement text can hold any bytes: replace invalid UTF-8 instead of throwing.
    res.body() = r.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    res.body() += '\n';
  }
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// A read that failed before a whole request arrived: the answer (if any) before closing.
std::optional<Reply> read_error_reply(const error_code& ec) {
  if (ec == http::error::body_limit)
    return Reply::error(413, "too_large", "request body is too large");
  if (ec == http::error::header_limit)
    return Reply::error(431, "too_large", "request header is too large");
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category())
    return Reply::error(400, "bad_request", "malformed HTTP request: " + ec.message());
  return std::nullopt;  // EOF, timeout, reset: nobody to answer
}

}  // namespace

AdminServer::AdminServer(asio::io_context& ctx, const AdminApi& api, net::ssl::context* tls,
                         bool allow_remote_plain, AdminLimits limits)
    : ctx_(ctx), api_(api), tls_(tls), allow_remote_plain_(allow_remote_plain), limits_(limits) {}

AdminServer::~AdminServer() { stop(); }

Result<uint16_t> AdminServer::listen(const std::string& host_port) {
  auto ep = net::parse_endpoint(host_port);
  if (!ep) return ep.error();
  if (!tls_ && !allow_remote_plain_ && !ep->address().is_loopback())
    return make_error("config", "listen.admin " + host_port +
                                    " is not a loopback address: the admin API needs gateway.tls "
                                    "there (tokens must not cross a network in clear)");
  auto acc = std::make_unique<tcp::acceptor>(ctx_);
  error_code ec;
  acc->open(ep->protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(*ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("listen", "admin listener " + host_port + ": " + ec.message());
  uint16_t port = acc->local_endpoint().port();
  acceptor_ = std::move(acc);
  asio::co_spawn(ctx_, accept_loop(), asio::detached);
  return port;
}

void AdminServer::stop() {
  if (!acceptor_) return;
  error_code ec;
  acceptor_->close(ec);
}

awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    error_code ec;
    tcp::socket s = co_await acceptor_->async_accept(asio::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      continue;  // e.g. EMFILE: keep serving
    }
    if (connections_.load() >= limits_.max_connections) {
      s.close(ec);
      continue;
    }
    asio::co_spawn(ctx_, serve(std::move(s)), asio::detached);
  }
}

awaitable<void> AdminServer::serve(tcp::socket sock) {
  ++connections_;
  error_code ec;
  auto peer = sock.remote_endpoint(ec);
  std::string client =
      ec ? std::string() : peer.address().to_string() + ":" + std::to_string(peer.port());
  beast::tcp_stream stream(std::move(sock));
  if (!tls_) {
    // Bound to loopback (or explicitly allowed): still refuse a non-loopback peer in clear.
    if (allow_remote_plain_ || (!ec && peer.address().is_loopback())) {
      co_await session(stream, client);
    } else {
      auto res = make_response(
          Reply::error(403, "forbidden", "the admin API over plain HTTP is loopback-only"), 11,
          false);
      co_await http::async_write(stream, res, asio::redirect_error(net::use_awaitable, ec));
    }
  } else {
    beast::ssl_stream<beast::tcp_stream> s(std::move(stream), *tls_);
    beast::get_lowest_layer(s).expires_after(limits_.read_timeout);
    co_await s.async_handshake(net::ssl::stream_base::server,
                               asio::redirect_error(net::use_awaitable, ec));
    if (!ec) {
      co_await session(s, client);
      beast::get_lowest_layer(s).expires_after(std::chrono::seconds(2));
      co_await s.async_shutdown(asio::redirect_error(net::use_awaitable, ec));
    }
  }
  --connections_;
}

template <class Stream>
awaitable<void> AdminServer::session(Stream& s, const std::string& client) {
  beast::flat_buffer buf;
  for (int n = 0; n < limits_.max_requests_per_connection; ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(limits_.max_header));
    parser.body_limit(limits_.max_body);
    beast::get_lowest_layer(s).expires_after(limits_.read_timeout);
    error_code ec;
    co_await http::async_read(s, buf, parser, asio::redirect_error(net::use_awaitable, ec));
    if (ec) {
      auto reply = read_error_reply(ec);
      if (reply) {
        auto res = make_response(*reply, 11, false);
        co_await http::async_write(s, res, asio::redirect_error(net::use_awaitable, ec));
      }
      break;
    }
    auto& req = parser.get();
    HttpRequest hr;
    hr.method = std::string(req.method_string());
    hr.target = std::string(req.target());
    hr.authorization = std::string(req[http::field::authorization]);
    hr.content_type = std::string(req[http::field::content_type]);
    hr.body = std::move(req.body());
    hr.client_addr = client;
    Reply reply = api_.handle(hr);
    bool keep = req.keep_alive();
    auto res = make_response(reply, req.version(), keep);
    beast::get_lowest_layer(s).expires_after(limits_.read_timeout);
    co_await http::async_write(s, res, asio::redirect_error(net::use_awaitable, ec));
    if (ec || !keep) break;
  }
  error_code ignored;
  beast::get_lowest_layer(s).socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace phigate::admin
