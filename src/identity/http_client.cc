#include "identity/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace phigate {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = net::asio;
namespace ssl = net::ssl;
using net::awaitable;
using net::error_code;
using net::tcp;

namespace {

bool host_is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

Error network(std::string what) { return make_error("network", std::move(what)); }

// One client TLS context per CA file, shared by the fetches of this process. Contexts are only
// read after creation; creation happens on the fetching thread(s), guarded by a static mutex.
std::shared_ptr<ssl::context> tls_context(const std::string& ca_file, error_code& ec) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<ssl::context>> contexts;
  std::lock_guard lock(mu);
  auto& slot = contexts[ca_file];
  if (slot) return slot;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(ca_file, ec);
  }
  if (ec) return nullptr;
  slot = ctx;
  return slot;
}

template <class Stream>
awaitable<Result<HttpReply>> exchange(Stream& stream, beast::tcp_stream& tcp_layer,
                                      const HttpRequest& req, const FetchUrl& url,
                                      const HttpOptions& opts) {
  http::request<http::string_body> msg;
  msg.method_string(req.method);
  msg.target(url.target);
  msg.version(11);
  std::string host_header =
      url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if ((url.tls && url.port != 443) || (!url.tls && url.port != 80)) {
    host_header += ":" + std::to_string(url.port);
  }
  msg.set(http::field::host, host_header);
  msg.set(http::field::user_agent, "phigate");
  msg.set(http::field::accept, "application/json");
  msg.set(http::field::connection, "close");
  for (const auto& [k, v] : req.headers) msg.set(k, v);
  if (!req.body.empty() || req.method == "POST") {
    msg.body() = req.body;
    msg.prepare_payload();
  }
  error_code ec;
  tcp_layer.expires_after(opts.timeout);
  co_await http::async_write(stream, msg, asio::redirect_error(net::use_awaitable, ec));
  if (ec) co_return network("sending the request failed: " + ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(opts.max_body);
  parser.header_limit(64 * 1024);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(net::use_awaitable, ec));
  if (ec == http::error::body_limit) co_return make_error("bad_response", "response too large");
  if (ec) co_return network("reading the response failed: " + ec.message());
  HttpReply reply;
  auto& res = parser.get();
  reply.status = static_cast<int>(res.result_int());
  reply.content_type = std::string(res[http::field::content_type]);
  reply.body = std::move(res.body());
  co_return reply;
}

}  // namespace

Result<FetchUrl> parse_fetch_url(std::string_view url) {
  auto bad = [](const char* why) { return make_error("bad_url", why); };
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad("URL contains spaces or control characters");
  }
  FetchUrl out;
  std::string_view rest;
  if (url.substr(0, 8) == "https://") {
    out.tls = true;
    out.port = 443;
    rest = url.substr(8);
  } else if (url.substr(0, 7) == "http://") {
    out.port = 80;
    rest = url.substr(7);
  } else {
    return bad("URL must start with https:// (or http:// for a loopback host)");
  }
  if (rest.find('#') != std::string_view::npos) return bad("URL must not have a fragment");
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target[0] == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return bad("URL must not carry userinfo");
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("garbage after IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return bad("URL has no host");
  if (out.host.find(':') != std::string::npos && authority[0] != '[') {
    return bad("IPv6 addresses in URLs need brackets");
  }
  if (!port_text.empty() || authority.back() == ':') {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        v == 0 || v > 65535) {
      return bad("URL port is invalid");
    }
    out.port = static_cast<uint16_t>(v);
  }
  if (!out.tls && !host_is_loopback(out.host)) {
    return bad("plain http is allowed only for loopback hosts; use https");
  }
  return out;
}

awaitable<Result<HttpReply>> http_request(HttpRequest req, HttpOptions opts) {
  auto url = parse_fetch_url(req.url);
  if (!url.ok()) co_return url.error();
  auto ex = co_await asio::this_coro::executor;
  error_code ec;
  tcp::resolver resolver(ex);
  const std::string port = std::to_string(url->port);
  auto endpoints = co_await resolver.async_resolve(url->host, port,
                                                   asio::redirect_error(net::use_awaitable, ec));
  if (ec) co_return network("cannot resolve " + url->host + ": " + ec.message());
  if (!url->tls) {
    // "localhost" must really resolve to loopback before a key set travels in the clear.
    for (const auto& e : endpoints) {
      if (!e.endpoint().address().is_loopback()) {
        co_return make_error("bad_url", "plain http host does not resolve to loopback");
      }
    }
  }

  if (!url->tls) {
    beast::tcp_stream stream(ex);
    stream.expires_after(opts.timeout);
    co_await stream.async_connect(endpoints, asio::redirect_error(net::use_awaitable, ec));
    if (ec) co_return network("cannot connect to " + url->host + ": " + ec.message());
    auto reply = co_await exchange(stream, stream, req, *url, opts);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return reply;
  }

  auto ctx = tls_context(opts.ca_file, ec);
  if (!ctx) co_return network("cannot load CA certificates: " + ec.message());
  beast::ssl_stream<beast::tcp_stream> stream(ex, *ctx);
  auto& lower = beast::get_lowest_layer(stream);
  lower.expires_after(opts.timeout);
  co_await lower.async_connect(endpoints, asio::redirect_error(net::use_awaitable, ec));
  if (ec) co_return network("cannot connect to " + url->host + ": " + ec.message());
  SSL* ssl_handle = stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
  error_code addr_ec;
  asio::ip::make_address(url->host, addr_ec);
  if (!addr_ec) {
    // An IP literal is checked against the certificate's IP SANs (no SNI for addresses).
    if (X509_VERIFY_PARAM_set1_ip_asc(param, url->host.c_str()) != 1) {
      co_return network("cannot set the expected certificate address");
    }
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, url->host.c_str(), 0) != 1 ||
        SSL_set_tlsext_host_name(ssl_handle, url->host.c_str()) != 1) {
      co_return network("cannot set the expected certificate name");
    }
  }
  SSL_set_verify(ssl_handle, SSL_VERIFY_PEER, nullptr);
  co_await stream.async_handshake(ssl::stream_base::client,
                                  asio::redirect_error(net::use_awaitable, ec));
  if (ec) co_return network("TLS handshake with " + url->host + " failed: " + ec.message());
  auto reply = co_await exchange(stream, lower, req, *url, opts);
  lower.socket().shutdown(tcp::socket::shutdown_both, ec);
  co_return reply;
}

Result<HttpReply> http_request_blocking(HttpRequest req, HttpOptions opts) {
  asio::io_context io;
  std::optional<Result<HttpReply>> out;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto r = co_await http_request(std::move(req), opts);
        out.emplace(std::move(r));
      },
      asio::detached);
  io.run();
  if (!out) return network("request did not complete");
  return std::move(*out);
}

}  // namespace phigate
