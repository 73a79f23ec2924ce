#include "upstream/pg_connector.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "codec/pg/auth.h"
#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"

namespace phigate::upstream {

namespace asio = net::asio;
namespace ssl = net::ssl;
using net::awaitable;
using net::error_code;
using net::tcp;
using net::use_awaitable;

namespace {

// One TLS client context per thread and CA file: contexts are costly to build and not meant to be
// shared across threads without care.
ssl::context& client_tls_context(const std::string& ca_file, bool verify) {
  thread_local std::map<std::string, std::unique_ptr<ssl::context>> contexts;
  std::string key = (verify ? "v:" : "n:") + ca_file;
  auto& slot = contexts[key];
  if (!slot) {
    slot = std::make_unique<ssl::context>(ssl::context::tls_client);
    slot->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1);
    if (verify) {
      error_code ec;
      if (ca_file.empty())
        slot->set_default_verify_paths(ec);
      else
        slot->load_verify_file(ca_file, ec);
    }
  }
  return *slot;
}

// Reads one whole backend message into `buf` (which may already hold bytes), returning its frame.
awaitable<Result<pg::Frame>> read_frame(net::Stream& s, Bytes& buf, size_t& used) {
  for (;;) {
    if (used > 0) {
      buf.erase(buf.begin(), buf.begin() + static_cast<long>(used));
      used = 0;
    }
    auto d = pg::decode_frame(buf, pg::kDefaultMaxBackendLen);
    if (d.status == pg::DecodeStatus::kMessage) {
      used = d.message.total;
      co_return d.message;
    }
    if (d.status == pg::DecodeStatus::kError) co_return d.error;
    size_t old = buf.size();
    buf.resize(old + 16384);
    error_code ec;
    size_t n = co_await s.read_some(asio::buffer(buf.data() + old, 16384), ec);
    buf.resize(old + n);
    if (ec) co_return make_error("connect", "upstream closed the connection: " + ec.message());
  }
}

std::string server_error_text(ByteSpan body) {
  auto f = pg::parse_error_fields(body);
  if (!f) return "malformed error from upstream";
  return std::string(f->sqlstate()) + " " + std::string(f->message());
}

}  // namespace

Result<std::string> read_secret(const std::string& env_name, const std::string& file) {
  if (!env_name.empty()) {
    const char* v = std::getenv(env_name.c_str());
    if (!v) return make_error("secret", "environment variable " + env_name + " is not set");
    return std::string(v);
  }
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return make_error("secret", "cannot read password file " + file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  return make_error("secret", "no password_env or password_file configured");
}

awaitable<Result<PgConnection>> connect_pg(asio::any_io_executor ex, PgTarget t) {
  tcp::socket sock(ex);
  error_code ec;
  tcp::resolver resolver(ex);
  auto results = co_await resolver.async_resolve(t.host, std::to_string(t.port),
                                                 asio::redirect_error(use_awaitable, ec));
  if (ec) co_return make_error("connect", "cannot resolve " + t.host + ": " + ec.message());
  co_await asio::async_connect(sock, results, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    co_return make_error("connect", "cannot connect to " + t.host + ":" + std::to_string(t.port) +
                                        ": " + ec.message());
  }
  sock.set_option(tcp::no_delay(true), ec);
  PgConnection conn;
  conn.stream = std::make_unique<net::Stream>(std::move(sock));
  net::Stream& s = *conn.stream;

  // §55.2.10 SSL Session Encryption: SSLRequest, one byte answer, then the TLS handshake.
  if (t.tls_mode != "disable") {
    Bytes req;
    pg::encode_ssl_request(req);
    co_await s.write_all(asio::buffer(req), ec);
    uint8_t answer = 0;
    if (!ec)
      co_await asio::async_read(s.socket(), asio::buffer(&answer, 1),
                                asio::redirect_error(use_awaitable, ec));
    if (ec) co_return make_error("connect", "upstream closed during SSLRequest: " + ec.message());
    if (answer == 'S') {
      bool verify = t.tls_mode == "verify-full";
      // Named, not a ternary temporary: GCC 12 mis-destroys conditional temporaries that live
      // across a co_await (free() of an invalid pointer).
      std::string verify_host;
      if (verify) verify_host = t.host;
      ssl::context& tls_ctx = client_tls_context(t.ca_file, verify);
      co_await s.tls_connect(tls_ctx, verify_host, ec);
      if (ec) co_return make_error("tls", "TLS handshake with upstream failed: " + ec.message());
    } else if (answer == 'N') {
      if (t.tls_mode != "prefer")
        co_return make_error("tls",
                             "upstream does not support TLS (upstream_tls: " + t.tls_mode + ")");
    } else {
      co_return make_error("protocol", "unexpected answer to SSLRequest");
    }
  }

  Bytes out;
  std::vector<std::pair<std::string_view, std::string_view>> params;
  params.emplace_back("user", t.user);
  params.emplace_back("database", t.database);
  for (auto& [k, v] : t.options) params.emplace_back(k, v);
  pg::encode_startup(out, params);
  co_await s.write_all(asio::buffer(out), ec);
  if (ec) co_return make_error("connect", "write to upstream failed: " + ec.message());

  Bytes buf;
  size_t used = 0;
  std::unique_ptr<pg::ScramClient> scram;
  for (;;) {
    auto fr = co_await read_frame(s, buf, used);
    if (!fr) co_return fr.error();
    const pg::Frame& f = *fr;
    out.clear();
    switch (f.type) {
      case 'R': {
        auto a = pg::parse_authentication(f.body);
        if (!a) co_return a.error();
        switch (a->code) {
          case 0:
            break;
          case 3:  // AuthenticationCleartextPassword
            pg::encode_password(out, t.password);
            break;
          case 5: {  // AuthenticationMD5Password
            std::string hashed = pg::md5_password(t.user, t.password, a->data);
            if (hashed.empty()) co_return make_error("auth", "MD5 is unavailable (FIPS mode?)");
            pg::encode_password(out, hashed);
            break;
          }
          case 10: {  // AuthenticationSASL: NUL-separated mechanism list
            auto mechs = pg::sasl_mechanisms(*a);
            if (!mechs) co_return mechs.error();
            bool has_scram = false;
            for (auto m : *mechs) has_scram |= m == "SCRAM-SHA-256";
            if (!has_scram)
              co_return make_error("auth", "upstream offers no SASL mechanism phigate supports");
            scram = std::make_unique<pg::ScramClient>(t.password);
            pg::encode_sasl_initial_response(out, "SCRAM-SHA-256", scram->client_first());
            break;
          }
          case 11: {  // AuthenticationSASLContinue
            if (!scram) co_return make_error("protocol", "SASLContinue without SASL");
            auto fin = scram->client_final(as_sv(a->data));
            if (!fin) co_return fin.error();
            pg::encode_sasl_response(out, *fin);
            break;
          }
          case 12: {  // AuthenticationSASLFinal: proves the server knew the password too
            if (!scram) co_return make_error("protocol", "SASLFinal without SASL");
            auto v = scram->verify_server_final(as_sv(a->data));
            if (!v) co_return make_error("auth", "upstream SCRAM server signature is invalid");
            break;
          }
          default:
            co_return make_error(
                "auth", "unsupported upstream authentication method " + std::to_string(a->code));
        }
        break;
      }
      case 'E':
        co_return make_error("auth", "upstream refused login: " + server_error_text(f.body));
      case 'S': {
        auto p = pg::parse_parameter_status(f.body);
        if (!p) co_return p.error();
        conn.parameters.emplace_back(std::string(p->name), std::string(p->value));
        break;
      }
      case 'K': {
        auto k = pg::parse_backend_key_data(f.body);
        if (!k) co_return k.error();
        conn.backend_pid = k->pid;
        conn.backend_key = k->key;
        break;
      }
      case 'N':
        break;
      case 'Z': {
        auto z = pg::parse_ready_for_query(f.body);
        if (!z) co_return z.error();
        conn.tx_status = z->status;
        buf.erase(buf.begin(), buf.begin() + static_cast<long>(used));
        conn.leftover = std::move(buf);
        co_return conn;
      }
      default:
        co_return make_error(
            "protocol", std::string("unexpected upstream message '") + f.type + "' during startup");
    }
    if (!out.empty()) {
      co_await s.write_all(asio::buffer(out), ec);
      if (ec) co_return make_error("connect", "write to upstream failed: " + ec.message());
    }
  }
}

awaitable<void> send_cancel(asio::any_io_executor ex, std::string host, uint16_t port, int32_t pid,
                            int32_t key) {
  error_code ec;
  tcp::resolver resolver(ex);
  auto results = co_await resolver.async_resolve(host, std::to_string(port),
                                                 asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  tcp::socket sock(ex);
  co_await asio::async_connect(sock, results, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  Bytes out;
  pg::encode_cancel_request(out, pid, key);
  co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
  // The server closes the connection once it has read the request; wait for that so the cancel is
  // delivered before we report it done.
  uint8_t b;
  co_await sock.async_read_some(asio::buffer(&b, 1), asio::redirect_error(use_awaitable, ec));
}

}  // namespace phigate::upstream
