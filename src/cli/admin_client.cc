#include "cli/admin_client.h"

#include <openssl/x509_vfy.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/asio.h"
#include "net/server.h"

namespace phigate::cli {

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::awaitable;
using net::error_code;
using net::tcp;

namespace {

constexpr auto kTimeout = std::chrono::seconds(30);

struct Exchange {
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  std::string error;
};

template <class Stream>
awaitable<void> round_trip(Stream& s, Exchange& x) {
  error_code ec;
  beast::flat_buffer buf;
  co_await http::async_write(s, x.req, asio::redirect_error(net::use_awaitable, ec));
  if (!ec) co_await http::async_read(s, buf, x.res, asio::redirect_error(net::use_awaitable, ec));
  if (ec) x.error = ec.message();
}

awaitable<void> run_call(asio::io_context& io, std::string host, std::string port,
                         net::ssl::context* tls, Exchange& x) {
  error_code ec;
  tcp::resolver resolver(io);
  auto eps =
      co_await resolver.async_resolve(host, port, asio::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.error = "resolve " + host + ": " + ec.message();
    co_return;
  }
  beast::tcp_stream stream(io);
  stream.expires_after(kTimeout);
  co_await stream.async_connect(eps, asio::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.error = "connect " + host + ":" + port + ": " + ec.message();
    co_return;
  }
  if (!tls) {
    co_await round_trip(stream, x);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> s(std::move(stream), *tls);
  co_await s.async_handshake(net::ssl::stream_base::client,
                             asio::redirect_error(net::use_awaitable, ec));
  if (ec) {
    x.error = "TLS handshake: " + ec.message();
    co_return;
  }
  co_await round_trip(s, x);
}

}  // namespace

Result<AdminResponse> admin_call(const Config& config, const std::string& method,
                                 const std::string& target, const std::string& token,
                                 const nlohmann::json* body) {
  if (config.gateway.listen.admin.empty())
    return make_error(
        "config", "listen.admin is not set in " + config.path + ": the gateway has no admin API");
  auto hp = net::split_host_port(config.gateway.listen.admin);
  if (!hp) return hp.error();
  std::string host = hp->first;
  // A wildcard bind is reached on loopback.
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  std::string port = std::to_string(hp->second);

  std::unique_ptr<net::ssl::context> tls;
  if (!config.gateway.tls_cert.empty()) {
    // Trust exactly the gateway's configured certificate (partial chain: a leaf is an anchor).
    tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    error_code ec;
    tls->load_verify_file(config.gateway.tls_cert, ec);
    if (ec)
      return make_error("tls", "cannot load " + config.gateway.tls_cert + ": " + ec.message());
    X509_STORE_set_flags(SSL_CTX_get_cert_store(tls->native_handle()), X509_V_FLAG_PARTIAL_CHAIN);
    tls->set_verify_mode(net::ssl::verify_peer);
  }

  Exchange x;
  x.req = http::request<http::string_body>(http::string_to_verb(method), target, 11);
  x.req.set(http::field::host, host);
  x.req.set(http::field::user_agent, "phigate-cli");
  x.req.set(http::field::authorization, "Bearer " + token);
  if (body) {
    x.req.set(http::field::content_type, "application/json");
    x.req.body() = body->dump();
  }
  x.req.keep_alive(false);
  x.req.prepare_payload();

  asio::io_context io(1);
  asio::co_spawn(io, run_call(io, host, port, tls.get(), x), asio::detached);
  io.run();
  if (!x.error.empty()) return make_error("transport", x.error);
  AdminResponse r;
  r.status = static_cast<int>(x.res.result_int());
  r.body = nlohmann::json::parse(x.res.body(), nullptr, false);
  if (r.body.is_discarded())
    return make_error("protocol", "the admin API answered HTTP " + std::to_string(r.status) +
                                      " without a JSON body");
  return r;
}

}  // namespace phigate::cli
