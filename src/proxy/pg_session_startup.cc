// Session start-up: TLS negotiation, token authentication and the upstream login (§55.2.1).
#include <spdlog/spdlog.h>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "net/server.h"
#include "proxy/pg_session.h"
#include "sql/settings.h"

namespace phigate::proxy {

namespace asio = net::asio;
using net::awaitable;
using net::error_code;

namespace {
// Start-up parameters passed on to the upstream. Everything else is dropped: `options` could carry
// `-c role=...` or `-c session_authorization=...`, and `replication` asks for a different protocol.
constexpr std::string_view kForwardedParams[] = {
    "application_name",   "client_encoding", "DateStyle", "TimeZone", "IntervalStyle",
    "extra_float_digits", "search_path",     "datestyle", "timezone", "intervalstyle"};

// The password message is small; anything larger than this is not a token we would accept.
constexpr uint32_t kMaxPasswordMessage = 64 * 1024;
}  // namespace

void PgSession::start(net::tcp::socket sock, GatewayContext& ctx) {
  auto self = std::make_shared<PgSession>(std::move(sock), ctx);
  asio::co_spawn(
      net::io_executor(self->client_->executor()), [self]() { return self->run(); },
      asio::detached);
}

PgSession::PgSession(net::tcp::socket sock, GatewayContext& ctx)
    : ctx_(ctx),
      client_(std::make_unique<net::Stream>(std::move(sock))),
      capture_(ctx.blobs ? ctx.capture_rows : 0, ctx.capture_bytes) {
  session_id_ = random_id();
  deny_marker_ = "phigate_denied_" + session_id_.substr(0, 16);
  client_addr_ = client_->peer_address();
  started_mono_ = mono_ns();
}

PgSession::~PgSession() {
  if (cancel_pid_) ctx_.cancels->remove(cancel_pid_, cancel_key_);
  if (authenticated_) {
    audit::Event e = make_event("session_end");
    e.rows = statements_;
    e.message =
        std::to_string(statements_) + " statements, " + std::to_string(denials_) + " denied";
    e.duration_ns = mono_ns() - started_mono_;
    ctx_.audit->append(std::move(e));
  }
}

audit::Event PgSession::make_event(const char* type) const {
  audit::Event e;
  e.time_ns = now_ns();
  e.session_id = session_id_;
  e.type = type;
  audit::set_identity(e, identity_);
  e.client_user = client_user_;
  e.client_addr = client_addr_;
  e.resource = resource_;
  e.protocol = "postgres";
  return e;
}

awaitable<bool> PgSession::read_more(Bytes& buf) {
  size_t old = buf.size();
  buf.resize(old + 16384);
  error_code ec;
  size_t n = co_await client_->read_some(asio::buffer(buf.data() + old, 16384), ec);
  buf.resize(old + n);
  co_return !ec && n > 0;
}

// Building the message outside the co_await expression matters: GCC 12 mis-destroys some
// temporaries that live across a suspension point (seen as free() of an invalid pointer).
void PgSession::queue_fatal(std::string_view sqlstate, std::string_view message) {
  pg::encode_error(fatal_bytes_, "FATAL", sqlstate, message);
}

awaitable<void> PgSession::flush_fatal() {
  error_code ec;
  co_await client_->write_all(asio::buffer(fatal_bytes_), ec);
  fatal_bytes_.clear();
}

void PgSession::handle_cancel(int32_t pid, int32_t key) {
  auto target = ctx_.cancels->find(pid, key);
  audit::Event e = make_event("cancel");
  if (target) {
    e.session_id = target->session_id;
    e.status = "forwarded";
    // A statement waiting for approval is not upstream yet: the cancel withdraws the hold.
    if (ctx_.approvals) ctx_.approvals->cancel_session(target->session_id);
    asio::co_spawn(net::io_executor(client_->executor()),
                   upstream::send_cancel(client_->executor(), target->host, target->port,
                                         target->pid, target->key),
                   asio::detached);
  } else {
    e.status = "unknown_key";
  }
  ctx_.audit->append(std::move(e));
}

awaitable<void> PgSession::run() {
  // Watchdog: a client that connects and then stalls (or trickles bytes) must not hold a socket
  // and a coroutine forever. Closing the socket fails whatever read or write is pending.
  auto watchdog = std::make_shared<asio::steady_timer>(client_->executor());
  watchdog->expires_after(ctx_.startup_timeout);
  std::weak_ptr<PgSession> weak = weak_from_this();
  watchdog->async_wait([weak](const error_code& ec) {
    if (ec) return;  // cancelled: start-up finished in time
    if (auto self = weak.lock()) {
      spdlog::info("session {}: start-up not finished in time; closing", self->session_id_);
      self->client_->close();
      if (self->server_) self->server_->close();
    }
  });
  bool ok = co_await startup();
  watchdog->cancel();
  if (!ok) {
    client_->close();
    co_return;
  }
  auto self = shared_from_this();
  asio::co_spawn(
      net::io_executor(client_->executor()), [self]() { return self->server_loop(); },
      asio::detached);
  co_await client_loop();
}

awaitable<bool> PgSession::startup() {
  Bytes buf;
  pg::StartupPacket startup;
  for (;;) {
    size_t consumed = 0;
    // Newer minor versions (3.2, "grease" 3.x) are accepted and negotiated down to 3.0 below.
    auto d = pg::decode_startup(buf, consumed, pg::StartupOptions{true});
    if (d.status == pg::DecodeStatus::kNeedMore) {
      if (!co_await read_more(buf)) co_return false;
      continue;
    }
    if (d.status == pg::DecodeStatus::kError) {
      queue_fatal("08P01", d.error.message);
      co_await flush_fatal();
      co_return false;
    }
    const pg::StartupPacket& p = d.message;
    if (p.kind == pg::StartupKind::kSsl) {
      if (client_->is_tls()) {
        queue_fatal("08P01", "SSLRequest received on an encrypted connection");
        co_await flush_fatal();
        co_return false;
      }
      if (!ctx_.client_tls) {
        uint8_t no = 'N';
        error_code ec;
        co_await client_->write_all(asio::buffer(&no, 1), ec);
        if (ec) co_return false;
        buf.erase(buf.begin(), buf.begin() + static_cast<long>(consumed));
        continue;
      }
      // Bytes sent after SSLRequest but before the handshake would be read as if they had come
      // through TLS (CVE-2021-23214): refuse the connection.
      if (buf.size() > consumed) {
        queue_fatal("08P01", "received unencrypted data after SSL request");
        co_await flush_fatal();
        co_return false;
      }
      uint8_t yes = 'S';
      error_code ec;
      co_await client_->write_all(asio::buffer(&yes, 1), ec);
      if (ec) co_return false;
      co_await client_->tls_accept(*ctx_.client_tls, ec);
      if (ec) {
        spdlog::debug("client TLS handshake failed from {}: {}", client_addr_, ec.message());
        co_return false;
      }
      buf.clear();
      continue;
    }
    if (p.kind == pg::StartupKind::kGssEnc) {
      // §55.2.11: 'N' = GSSAPI encryption not supported; the client may go on with SSL or plain.
      uint8_t no = 'N';
      error_code ec;
      co_await client_->write_all(asio::buffer(&no, 1), ec);
      if (ec) co_return false;
      buf.erase(buf.begin(), buf.begin() + static_cast<long>(consumed));
      continue;
    }
    if (p.kind == pg::StartupKind::kCancel) {
      handle_cancel(p.cancel_pid, p.cancel_key);
      co_return false;
    }
    if (buf.size() > consumed) {
      // A client must wait for the authentication request before sending more.
      queue_fatal("08P01", "unexpected data after startup packet");
      co_await flush_fatal();
      co_return false;
    }
    startup = p;
    // The views point into `buf`, which must outlive `startup`: copy what we keep.
    client_user_ = std::string(p.param("user"));
    resource_ = std::string(p.param("database"));
    if (resource_.empty()) resource_ = client_user_;
    if (!sql::client_encoding_is_safe(p.param("client_encoding"))) {
      // In these encodings a backslash or quote byte can be the second byte of a character, so
      // phigate's parser and the server's would split the same bytes into different statements.
      queue_fatal("0A000", "client_encoding \"" + std::string(p.param("client_encoding")) +
                               "\" is not supported through phigate; use UTF8");
      co_await flush_fatal();
      co_return false;
    }
    if (!sql::search_path_is_safe({std::string(p.param("search_path"))})) {
      // pg_catalog after another schema lets that schema shadow built-in functions (settings.h).
      queue_fatal("0A000",
                  "a search_path that lists pg_catalog after another schema is not "
                  "supported through phigate");
      co_await flush_fatal();
      co_return false;
    }
    std::string_view repl = p.param("replication");
    if (!repl.empty() && repl != "false" && repl != "0" && repl != "off" && repl != "no") {
      queue_fatal("08P01", "replication connections are not supported through phigate");
      co_await flush_fatal();
      co_return false;
    }
    break;
  }

  if (!client_->is_tls() && !client_->peer_is_loopback() && !ctx_.allow_remote_cleartext) {
    audit::Event e = make_event("auth_failure");
    e.status = "error";
    e.error_code = "28000";
    e.message = "token over a non-TLS connection from a non-loopback address";
    ctx_.audit->append(std::move(e));
    queue_fatal("28000",
                "phigate accepts tokens over unencrypted connections only from loopback; "
                "connect with sslmode=require");
    co_await flush_fatal();
    co_return false;
  }

  // §55.2.1: a client asking for protocol 3.x (x > 0) or sending _pq_.* options learns that this
  // server speaks 3.0 and none of those options, then carries on in 3.0.
  Bytes out;
  std::vector<std::string_view> unknown_options;
  for (auto& [k, v] : startup.params)
    if (k.substr(0, 4) == "_pq_") unknown_options.push_back(k);
  if (startup.version != pg::kProtocolV3 || !unknown_options.empty())
    pg::encode_negotiate_protocol_version(out, 0, unknown_options);
  // §55.2.2: AuthenticationCleartextPassword; the "password" is the token.
  pg::encode_auth_cleartext_request(out);
  error_code ec;
  co_await client_->write_all(asio::buffer(out), ec);
  if (ec) co_return false;
  buf.clear();
  std::string token;
  for (;;) {
    auto d = pg::decode_frame(buf, kMaxPasswordMessage);
    if (d.status == pg::DecodeStatus::kNeedMore) {
      if (!co_await read_more(buf)) co_return false;  // psql closes to prompt for a password
      continue;
    }
    if (d.status == pg::DecodeStatus::kError || d.message.type != 'p') {
      queue_fatal("08P01", "expected a password message");
      co_await flush_fatal();
      co_return false;
    }
    auto pw = pg::parse_password(d.message.body);
    if (!pw) {
      queue_fatal("08P01", pw.error().message);
      co_await flush_fatal();
      co_return false;
    }
    token = std::string(pw->password);
    break;
  }

  auto snap = ctx_.policy->get();
  auto auth_fail = [&](std::string code, std::string reason) {
    audit::Event e = make_event("auth_failure");
    e.status = "error";
    e.error_code = code;
    e.message = reason;
    ctx_.audit->append(std::move(e));
  };

  // An OIDC token signed by a key not yet cached waits here (without blocking the thread) for
  // at most one bounded key refresh.
  auto id = co_await ctx_.verifier->verify_async(token, &now_unix);
  if (!id) {
    // The reason class leads the message; neither the audit nor the client ever sees the token.
    auth_fail("28P01", id.error().code + ": " + id.error().message);
    queue_fatal("28P01", "token rejected (" + id.error().code + "): " + id.error().message);
    co_await flush_fatal();
    co_return false;
  }
  identity_ = std::move(id.value());
  const ResourceConfig* res = snap->config().find_resource(resource_);
  if (!res || res->type != "postgres") {
    auth_fail("3D000", "unknown resource");
    queue_fatal("3D000", "resource \"" + resource_ +
                             "\" does not exist or is not a postgres "
                             "resource");
    co_await flush_fatal();
    co_return false;
  }
  Identity with_grants;  // an active JIT access window grants the resource too
  if (!snap->can_access(
          effective_identity(ctx_.grants, identity_, resource_, now_ns(), with_grants),
          resource_)) {
    std::string roles;
    for (auto& r : identity_.roles) roles += (roles.empty() ? "" : ",") + r;
    ctx_.verifier->failures().count("no_access");
    auth_fail("28000", "no_access: no role grants the resource");
    queue_fatal("28000", "identity \"" + identity_.sub +
                             "\" (roles: " + (roles.empty() ? "none" : roles) +
                             ") has no role granting access to resource \"" + resource_ + "\"");
    co_await flush_fatal();
    co_return false;
  }
  if (!co_await connect_upstream(*res, startup)) co_return false;
  authenticated_ = true;
  barrier_ = std::make_shared<DurableBarrier>(client_->executor());
  audit::Event start = make_event("session_start");
  start.client_tls = client_->is_tls() ? "tls" : "plain";
  start.upstream_tls = res->upstream_tls + (server_->is_tls() ? ":tls" : ":plain");
  barrier_->append(*ctx_.audit, std::move(start));
  if (ctx_.strict_audit && !co_await barrier_->wait()) {
    queue_fatal("58030", "audit log unavailable; refusing the session");
    co_await flush_fatal();
    co_return false;
  }
  error_code wec;
  co_await client_->write_all(asio::buffer(hello_), wec);
  hello_.clear();
  co_return !wec;
}

awaitable<bool> PgSession::connect_upstream(const ResourceConfig& res,
                                            const pg::StartupPacket& startup) {
  upstream::PgTarget t;
  // The config loader already checked the form; a bare host means PostgreSQL's default port.
  auto hp = net::split_host_port(res.upstream);
  t.host = hp ? hp->first : res.upstream;
  t.port = hp ? hp->second : 5432;
  t.database = res.database;
  t.user = res.credentials.username;
  t.tls_mode = res.upstream_tls;
  t.ca_file = res.upstream_ca;
  for (auto& [k, v] : startup.params) {
    for (auto allowed : kForwardedParams)
      if (k == allowed) t.options.emplace_back(std::string(k), std::string(v));
  }
  auto secret = upstream::read_secret(res.credentials.password_env, res.credentials.password_file);
  auto fail = [&](const std::string& why) {
    audit::Event e = make_event("upstream_failure");
    e.status = "error";
    e.error_code = "08001";
    e.message = why;
    ctx_.audit->append(std::move(e));
    spdlog::warn("session {}: upstream {} unavailable: {}", session_id_, res.name, why);
    queue_fatal("08001", "phigate could not connect to resource \"" + res.name + "\"");
  };
  if (!secret) {
    fail(secret.error().message);
    co_await flush_fatal();
    co_return false;
  }
  t.password = std::move(secret.value());
  upstream_host_ = t.host;
  upstream_port_ = t.port;
  auto conn = co_await upstream::connect_pg(client_->executor(), std::move(t));
  if (!conn) {
    fail(conn.error().message);
    co_await flush_fatal();
    co_return false;
  }
  server_ = std::move(conn->stream);
  server_seed_ = std::move(conn->leftover);

  CancelTarget ct{upstream_host_, upstream_port_, conn->backend_pid, conn->backend_key,
                  session_id_};
  std::tie(cancel_pid_, cancel_key_) = ctx_.cancels->add(ct);

  // Sent once the session_start record is durable, so no session exists off the record.
  pg::encode_auth_ok(hello_);
  for (auto& [k, v] : conn->parameters) pg::encode_parameter_status(hello_, k, v);
  pg::encode_backend_key_data(hello_, cancel_pid_, cancel_key_);
  pg::encode_ready_for_query(hello_, conn->tx_status);
  co_return true;
}

}  // namespace phigate::proxy
