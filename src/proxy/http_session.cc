// HTTP session: connection handling, request heads, routing, authentication and policy.
#include "proxy/http_session.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "codec/http/headers.h"
#include "codec/http/method_override.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "proxy/http_body_json.h"
#include "proxy/http_body_mask.h"
#include "proxy/http_hold.h"
#include "proxy/strict_audit.h"

namespace phigate::proxy {

namespace asio = net::asio;
using net::awaitable;
using net::error_code;

namespace {
constexpr size_t kReadChunk = 16 * 1024;
// Bodies held for policy (JSON body rules) or for an approval are capped; a longer body is
// `opaque` to body rules, and cannot be held for approval (413).
constexpr uint64_t kMaxHeldBody = 1024 * 1024;

std::string request_fingerprint(const std::string& method, const std::string& path,
                                const std::string& query, const std::string& body) {
  std::string material = method + "\n" + path + "\n" + query + "\n";
  Sha256 body_hash = sha256(body);
  material += to_hex(body_hash);
  Sha256 h = sha256(material);
  return to_hex(h);
}
}  // namespace

void HttpSession::start(net::tcp::socket sock, GatewayContext& ctx) {
  auto self = std::make_shared<HttpSession>(std::move(sock), ctx);
  asio::co_spawn(
      net::io_executor(self->client_->executor()), [self]() { return self->run(); },
      asio::detached);
}

HttpSession::HttpSession(net::tcp::socket sock, GatewayContext& ctx)
    : ctx_(ctx),
      client_(std::make_unique<net::Stream>(std::move(sock))),
      watchdog_(client_->executor()) {
  session_id_ = random_id();
  client_addr_ = client_->peer_address();
  error_code ec;
  auto ep = client_->socket().remote_endpoint(ec);
  if (!ec) client_ip_ = ep.address().to_string();
  client_loopback_ = client_->peer_is_loopback();
}

HttpSession::~HttpSession() = default;

void HttpSession::arm(std::chrono::milliseconds d) {
  auto next = std::chrono::steady_clock::now() + d;
  bool sooner = next < deadline_;
  deadline_ = next;
  if (sooner) watchdog_.cancel();  // the loop re-waits on the new, earlier deadline
}

void HttpSession::disarm() { deadline_ = std::chrono::steady_clock::time_point::max(); }

// One timer per connection. Timeouts close a socket, which fails whatever read or write is
// pending: the client's while phigate waits for the client (head, body, idle keep-alive), the
// upstream's while it waits for the upstream (the adapter then answers 504).
awaitable<void> HttpSession::watchdog_loop() {
  auto self = shared_from_this();
  while (!closed_) {
    watchdog_.expires_at(deadline_);
    error_code ec;
    co_await watchdog_.async_wait(asio::redirect_error(net::use_awaitable, ec));
    if (closed_) break;
    if (std::chrono::steady_clock::now() < deadline_) continue;  // re-armed meanwhile
    timed_out_ = true;
    if (phase_ == Phase::kUpstream && upstream_) {
      upstream_->close();
      deadline_ = std::chrono::steady_clock::time_point::max();
      continue;
    }
    spdlog::debug("http session {}: client timeout; closing", session_id_);
    client_->close();
    if (upstream_) upstream_->close();
    break;
  }
}

awaitable<void> HttpSession::run() {
  auto self = shared_from_this();
  deadline_ = std::chrono::steady_clock::now() + ctx_.startup_timeout;
  asio::co_spawn(
      net::io_executor(client_->executor()), [self]() { return self->watchdog_loop(); },
      asio::detached);
  if (ctx_.client_tls != nullptr) {
    error_code ec;
    co_await client_->tls_accept(*ctx_.client_tls, ec);
    if (ec) {
      spdlog::debug("http client TLS handshake failed from {}: {}", client_addr_, ec.message());
      closed_ = true;
      watchdog_.cancel();
      client_->close();
      co_return;
    }
  }
  while (co_await handle_one()) {
  }
  closed_ = true;
  watchdog_.cancel();
  client_->close();
  drop_upstream();
}

awaitable<bool> HttpSession::read_client() {
  if (watch_) co_return co_await take_watched(watch_, in_);  // a hold's read is still out
  auto space = in_.prepare(kReadChunk);
  error_code ec;
  size_t n = co_await client_->read_some(asio::buffer(space.data(), space.size()), ec);
  in_.commit(n);
  co_return !ec && n > 0;
}

awaitable<bool> HttpSession::write_client(const std::string& bytes) {
  if (bytes.empty()) co_return true;
  error_code ec;
  co_await client_->write_all(asio::buffer(bytes), ec);
  co_return !ec;
}

audit::Event HttpSession::make_event(const Exchange& x, const char* type) const {
  audit::Event e;
  e.time_ns = now_ns();
  e.session_id = session_id_;
  e.type = type;
  audit::set_identity(e, x.id());
  e.client_addr = client_addr_;
  e.resource = x.resource;
  e.protocol = "http";
  if (!x.audit_action.empty()) {
    e.action = x.audit_action;
    e.parameters = x.audit_params;
  } else {  // refused before routing: this is the exchange's only record
    e.action = x.head.method + " " + x.target.path;
    e.parameters = http::audit_query(x.target.query);
  }
  e.statement_kind = x.head.method;
  return e;
}

audit::Event HttpSession::request_event(const Exchange& x, const char* decision) const {
  audit::Event e = make_event(x, "http_request");
  e.decision = decision;
  e.rule = x.verdict.rule;
  e.approver = x.approver;
  e.message = x.verdict.message;
  return e;
}

void HttpSession::record_request(Exchange& x, const char* decision) {
  ctx_.audit->append(request_event(x, decision));
}

awaitable<bool> HttpSession::record_allow(Exchange& x) {
  if (!ctx_.strict_audit) {
    record_request(x, "allow");
    co_return true;
  }
  // Strict durability (DESIGN.md §4): the record is on disk before a byte goes upstream.
  auto seq = co_await append_strict(*ctx_.audit, request_event(x, "allow"));
  if (!seq) co_return false;
  x.seq = *seq;
  co_return true;
}

void HttpSession::record_result(Exchange& x, const char* status) {
  audit::Event e = make_event(x, "http_result");
  e.ref_seq = x.seq;
  e.status = status;
  e.error_code = std::to_string(x.status);
  e.bytes = x.resp_bytes;
  e.rows = x.req_bytes;
  e.duration_ns = mono_ns() - x.start_mono;
  e.masked = std::move(x.masked);  // the exchange ends with this record
  e.message = x.message;
  e.rule = x.verdict.rule;
  e.capture = x.capture.store(ctx_.blobs, session_id_);
  if (ctx_.strict_audit) {
    append_batched(*ctx_.audit, std::move(e), net::io_executor(client_->executor()));
  } else {
    ctx_.audit->append(std::move(e));
  }
}

awaitable<void> HttpSession::refuse_malformed(const http::ParseError& err) {
  Exchange x;
  if (parser_) x.head = parser_->head();
  x.start_mono = mono_ns();
  x.status = err.status;
  x.message = err.code + ": " + err.message;
  audit::Event e = make_event(x, "protocol_error");
  e.status = "error";
  e.error_code = std::to_string(err.status);
  e.message = x.message;
  e.decision = "deny";
  e.action = x.head.method.empty() ? std::string() : x.head.method + " " + x.head.target;
  e.parameters.clear();
  ctx_.audit->append(std::move(e));
  // The stream is out of sync after a framing error: answer once and close (RFC 9112 §11.2).
  const std::string reply = http::json_response(err.status, err.code, err.message, false);
  co_await write_client(reply);
}

awaitable<bool> HttpSession::refuse(Exchange& x, int status, std::string code, std::string message,
                                    const http::Fields& extra, std::string extra_json) {
  // The connection survives only when nothing of this request is left unread (a denied upload
  // is not drained: that would let a client make phigate read any amount for nothing).
  bool keep = x.head.framing.keep_alive && (x.body_consumed || !x.head.framing.has_body());
  x.status = status;
  x.error_code = code;
  x.message = message;
  x.capture.drop_response();  // what the client gets is phigate's answer, not the upstream's
  record_result(x, status == 403 || status == 401 || status == 413 ? "denied" : "error");
  const std::string reply = http::json_response(status, code, message, keep, extra, extra_json);
  bool ok = co_await write_client(reply);
  keep_ = ok && keep;
  co_return keep_;
}

bool HttpSession::route(Exchange& x, std::string& why) const {
  // Path prefix first: /<resource>/rest is explicit in the request line. Then the Host label:
  // <resource>.<anything> (RFC 9110 §7.2), port ignored.
  std::string_view p = x.target.path;
  std::string_view first = p.substr(
      1, p.find('/', 1) == std::string_view::npos ? std::string_view::npos : p.find('/', 1) - 1);
  if (!first.empty()) {
    if (const HttpResource* r = x.rt->find(first)) {
      x.res = r;
      x.resource = std::string(first);
      std::string_view rest = p.substr(1 + first.size());
      x.rel_path = rest.empty() ? "/" : std::string(rest);
    }
  }
  if (x.res == nullptr) {
    if (const std::string_view* host = x.head.fields.find("host")) {
      std::string_view h = http::trim_ows(*host);
      size_t dot = h.find('.');
      if (dot != std::string_view::npos && dot > 0) {
        std::string label = ascii_lower(h.substr(0, dot));
        if (const HttpResource* r = x.rt->find(label)) {
          x.res = r;
          x.resource = label;
          x.rel_path = x.target.path;
        }
      }
    }
  }
  if (x.res == nullptr) {
    why = "no http resource named by the path prefix or the Host";
    return false;
  }
  x.rel_decoded = http::decode_path(x.rel_path);  // what path rules see
  return true;
}

awaitable<bool> HttpSession::authenticate(Exchange& x) {
  auto fail = [&](std::string code, std::string reason) {
    audit::Event e = make_event(x, "auth_failure");
    e.status = "error";
    e.error_code = "401";
    e.message = code + ": " + reason;
    ctx_.audit->append(std::move(e));
  };
  http::Fields www;
  if (!client_->is_tls() && !client_loopback_ && !ctx_.allow_remote_cleartext) {
    fail("cleartext", "token over a non-TLS connection from a non-loopback address");
    www.add("WWW-Authenticate",
            "Bearer realm=\"phigate\", error=\"invalid_request\", error_description=\"use "
            "https: tokens are accepted in clear only from loopback\"");
    co_await refuse(x, 401, "cleartext_token",
                    "use https: tokens are accepted in clear only from loopback", www);
    co_return false;
  }
  // Keep-alive clients send the same token with every request: a connection remembers the
  // Authorization value it verified last (until the token expires), which saves parsing it and
  // a signature check per request. Equal bytes parse to the same token.
  const std::string_view* auth = x.head.fields.find("authorization");
  if (auth != nullptr && last_identity_ && *auth == last_auth_ &&
      x.head.fields.count("authorization") == 1 && last_identity_->expires_at > now_unix()) {
    x.idp = last_identity_;
    x.authenticated = true;
    co_return true;
  }
  std::string token;
  bool present = false;
  if (!http::bearer_token(x.head.fields, token, present)) {
    // RFC 6750 §3.1: no credentials at all -> no error code; malformed ones -> invalid_request
    // (sent as 401 here too, so a client always learns the scheme from one place).
    if (present) {
      fail("invalid_request", "Authorization is not a single Bearer token");
      www.add("WWW-Authenticate",
              "Bearer realm=\"phigate\", error=\"invalid_request\", error_description=\"expected "
              "Authorization: Bearer <token>\"");
    } else {
      fail("no_token", "no Authorization");
      www.add("WWW-Authenticate", "Bearer realm=\"phigate\"");
    }
    co_await refuse(x, 401, "unauthorized", "a bearer token is required", www);
    co_return false;
  }
  auto id = ctx_.verifier->verify(token, now_unix());
  if (!id) {
    fail("invalid_token", id.error().code + ": " + id.error().message);
    www.add("WWW-Authenticate",
            "Bearer realm=\"phigate\", error=\"invalid_token\", error_description=\"the token is "
            "invalid or expired\"");
    co_await refuse(x, 401, "invalid_token", "token rejected (" + id.error().code + ")", www);
    co_return false;
  }
  x.idp = std::make_shared<const Identity>(std::move(id.value()));
  x.authenticated = true;
  last_auth_ = *auth;
  last_identity_ = x.idp;
  co_return true;
}

awaitable<bool> HttpSession::buffer_body(Exchange& x, uint64_t cap, bool& over_cap) {
  over_cap = false;
  if (x.body_consumed) co_return true;
  if (!x.head.framing.has_body()) {
    x.body_consumed = true;
    x.body_buffered = true;
    co_return true;
  }
  if (x.expect_continue && !x.sent_continue) {
    x.sent_continue = true;
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!co_await write_client(kContinue)) co_return false;
  }
  // A declared length over the cap is known before reading anything.
  if (x.head.framing.content_length.value_or(0) > cap) {
    over_cap = true;
    co_return true;
  }
  for (;;) {
    size_t consumed = 0;
    auto st = parser_->feed(in_.view(), consumed, x.body);
    in_.consume(consumed);
    if (st == http::ParseStatus::kError) {
      co_await refuse_malformed(parser_->error());
      co_return false;
    }
    if (x.body.size() > cap) {
      over_cap = true;  // what was read stays in x.body and is forwarded first
      co_return true;
    }
    if (st == http::ParseStatus::kDone) {
      x.body_consumed = true;
      x.body_buffered = true;
      co_return true;
    }
    if (st == http::ParseStatus::kNeedMore) {
      arm(ctx_.startup_timeout);
      if (!co_await read_client()) co_return false;
    }
  }
}

awaitable<bool> HttpSession::hold(Exchange& x) {
  const std::string rule = x.verdict.rule, role = x.verdict.role;
  if (ctx_.approvals == nullptr) {
    x.verdict = Verdict::deny(rule, x.verdict.message + "; no approval service is configured");
    x.verdict.role = role;
    co_return true;
  }
  bool over = false;
  if (!x.body_buffered) {
    if (!co_await buffer_body(x, kMaxHeldBody, over)) co_return false;
  }
  if (over) {
    x.verdict = Verdict::deny(rule, "request body too large to hold for approval", "413");
    x.verdict.role = role;
    co_return true;
  }
  record_request(x, "hold");
  HoldRequest h;
  h.requester = x.id();
  h.session_id = session_id_;
  h.resource = x.resource;
  h.protocol = "http";
  h.rule = rule;
  h.role = role;
  h.summary = x.head.method + " " + x.rel_path + (x.target.has_query ? "?" + x.target.query : "");
  // What the upstream would execute when that is what asked for review (a method override).
  if (!x.reading.empty()) h.summary += " [read as " + x.reading + "]";
  h.fingerprint = request_fingerprint(x.head.method, x.rel_path, x.target.query, x.body);
  const std::string fingerprint = h.fingerprint;
  phase_ = Phase::kHold;
  disarm();
  auto timeout = x.rt->snapshot().config().approvals.timeout;
  bool client_gone = false;
  std::shared_ptr<void> self = shared_from_this();  // lvalue: no temporaries in co_await (GCC 12)
  ApprovalOutcome o =
      co_await await_approval_watching(client_->executor(), *ctx_.approvals, std::move(h), timeout,
                                       client_.get(), self, watch_, client_gone);
  phase_ = Phase::kClient;
  if (client_gone) co_return held_client_gone(x, o);
  // An approval counts only for exactly this request (method, path, query, body).
  if (o.decision == ApprovalDecision::kApproved && o.fingerprint == fingerprint) {
    x.verdict = Verdict::allow(rule, role);
    x.approver = o.reviewer;
  } else {
    const char* what = o.decision == ApprovalDecision::kTimedOut    ? "timed out"
                       : o.decision == ApprovalDecision::kCancelled ? "was cancelled"
                                                                    : "was denied";
    x.verdict = Verdict::deny(
        rule, "approval " + std::string(what) + (o.reason.empty() ? "" : ": " + o.reason));
    x.verdict.role = role;
    x.approver = o.reviewer;
  }
  co_return true;
}

// Other readings of this request that an upstream may act on, each judged too; the strictest
// verdict stands (deny over review over allow): the path with every segment's ";params" cut, as
// servlet containers route it, and a method named by an override field or `_method`. Both are
// rare: the usual request builds nothing here.
void HttpSession::judge_other_readings(Exchange& x, const PolicySnapshot& snap,
                                       Request& req) const {
  const std::vector<std::string> overrides =
      http::override_methods(x.head.method, x.head.fields, x.query);
  std::string cut;
  if (x.rel_decoded.find(';') != std::string::npos) cut = http::strip_path_params(x.rel_decoded);
  if (cut == x.rel_decoded) cut.clear();
  if (overrides.empty() && cut.empty()) return;
  std::vector<std::string_view> methods{x.head.method}, paths{x.rel_decoded};
  methods.insert(methods.end(), overrides.begin(), overrides.end());
  if (!cut.empty()) paths.push_back(cut);
  auto rank = [](VerdictKind k) {
    return k == VerdictKind::kDeny ? 2 : k == VerdictKind::kHold ? 1 : 0;
  };
  std::string alt_text;
  for (size_t mi = 0; mi < methods.size(); ++mi) {
    for (size_t pi = mi == 0 ? 1 : 0; pi < paths.size(); ++pi) {
      if (x.verdict.kind == VerdictKind::kDeny) return;  // nothing is stricter
      alt_text.assign(methods[mi]).append(" ").append(paths[pi]);
      req.text = alt_text;
      req.method = methods[mi];
      req.path = paths[pi];
      Verdict v = snap.decide(req);
      if (rank(v.kind) <= rank(x.verdict.kind)) continue;
      x.verdict = std::move(v);
      x.reading = alt_text;  // said in the denial, the audit message and the approval summary
      x.verdict.message +=
          (x.verdict.message.empty() ? "(read as " : " (read as ") + alt_text + ")";
    }
  }
}

awaitable<bool> HttpSession::decide(Exchange& x) {
  const PolicySnapshot& snap = x.rt->snapshot();
  // Body rules need the body before the decision; only then is it read ahead.
  bool body_rules = false;
  for (const std::string& rname : x.id().roles) {
    const RoleConfig* role = snap.config().find_role(rname);
    if (role == nullptr) continue;
    for (const RuleConfig& r : role->rules) body_rules = body_rules || !r.match.body.empty();
  }
  HttpBodyView bv;
  nlohmann::json parsed;
  bool over = false;
  if (x.head.framing.has_body()) {
    bv.state = HttpBodyView::State::kOpaque;
    bv.size_known = x.head.framing.content_length.has_value();
    bv.size = x.head.framing.content_length.value_or(0);
    if (body_rules) {
      if (!co_await buffer_body(x, kMaxHeldBody, over)) co_return false;
      if (x.body_buffered) {
        bv.size_known = true;
        bv.size = x.body.size();
        const std::string_view* ct = x.head.fields.find("content-type");
        if (ct && BodyMasker::kind_for_media_type(*ct) == BodyMasker::Kind::kJson) {
          parsed = parse_rule_body(x.body);
          if (!parsed.is_discarded()) {
            bv.state = HttpBodyView::State::kJson;
            bv.json = &parsed;
          }
        }
      }
    }
  }
  Request req;
  req.identity = &x.id();
  req.resource = x.resource;
  req.protocol = "http";
  req.action = ActionKind::kHttpRequest;
  const std::string text = x.head.method + " " + x.rel_decoded;
  req.text = text;
  req.method = x.head.method;
  req.path = x.rel_decoded;
  req.query = &x.query;
  req.body = &bv;
  x.verdict = snap.decide(req);
  judge_other_readings(x, snap, req);
  if (x.verdict.kind == VerdictKind::kHold) {
    if (!co_await hold(x)) co_return false;
  }
  if (x.verdict.kind == VerdictKind::kAllow) {
    if (const RoleConfig* role = snap.config().find_role(x.verdict.role)) {
      x.max_body = role->max_body;
    }
  }
  co_return true;
}

awaitable<bool> HttpSession::handle_one() {
  if (parser_) {
    parser_->reset();
  } else {
    parser_ = std::make_unique<http::RequestParser>();
  }
  phase_ = Phase::kClient;
  arm(ctx_.startup_timeout);  // head timeout; also the keep-alive idle timeout
  std::string unused;
  for (;;) {
    size_t consumed = 0;
    auto st = parser_->feed(in_.view(), consumed, unused);
    if (st == http::ParseStatus::kNeedMore) {
      if (!co_await read_client()) {
        if (!in_.empty() && !timed_out_) {
          http::ParseError e{400, "partial_message", "connection closed inside a request head"};
          co_await refuse_malformed(e);
        }
        co_return false;
      }
      continue;
    }
    if (st == http::ParseStatus::kError) {
      co_await refuse_malformed(parser_->error());
      co_return false;
    }
    in_.consume(consumed);
    break;
  }
  ++requests_;
  Exchange x;
  x.start_mono = mono_ns();
  // The head moves into the exchange (its fields are not copied) and the spare takes its place
  // in the parser, keeping the request line for a later framing error's audit record. However
  // the exchange ends, its head and target become the spares of the next request, so a
  // keep-alive connection allocates no head or target buffers. (The session outlives this
  // frame: run() holds it.)
  x.head = std::move(parser_->head());
  parser_->head() = std::move(spare_head_);
  parser_->head().clear();  // nothing of the request before last
  parser_->head().method = x.head.method;
  parser_->head().target = x.head.target;
  // Cleared at once: refusals before normalize_target record x.target, which must not show the
  // previous request's path.
  x.target = std::move(spare_target_);
  x.target.clear();
  struct Recycle {
    Exchange& x;
    HttpSession& s;
    ~Recycle() {
      s.spare_head_ = std::move(x.head);
      s.spare_target_ = std::move(x.target);
    }
  } recycle{x, *this};
  x.rt = ctx_.http->get();
  x.body_consumed = !x.head.framing.has_body();
  if (const std::string_view* expect = x.head.fields.find("expect")) {
    // RFC 9110 §10.1.1: phigate answers 100-continue itself once it wants the body; any other
    // expectation cannot be met (417).
    if (!iequals(http::trim_ows(*expect), "100-continue")) {
      co_return co_await refuse(x, 417, "expectation_failed", "only 100-continue is supported");
    }
    x.expect_continue = x.head.version == 11;
  }
  std::string why;
  if (!http::normalize_target(x.head.target, x.target, why)) {
    co_return co_await refuse(x, 400, "bad_target", why);
  }
  if (iequals(x.head.method, "CONNECT") || iequals(x.head.method, "TRACE")) {
    co_return co_await refuse(x, 405, "method_not_allowed",
                              x.head.method + " is not supported through phigate");
  }
  if (!route(x, why)) co_return co_await refuse(x, 404, "unknown_resource", why);
  x.query = http::parse_query(x.target.query);
  x.audit_action = x.head.method + " " + x.rel_path;
  x.audit_params = http::audit_query(x.target.query);
  keep_ = false;
  if (!co_await authenticate(x)) co_return keep_;
  if (!x.rt->snapshot().can_access(x.id(), x.resource)) {
    http::Fields www;
    www.add("WWW-Authenticate",
            "Bearer realm=\"phigate\", error=\"insufficient_scope\", error_description=\"no role "
            "grants this resource\"");
    x.verdict =
        Verdict::deny("resource_access",
                      "identity " + x.id().sub + " has no role granting resource " + x.resource);
    record_request(x, "deny");
    co_return co_await refuse(x, 403, "forbidden", x.verdict.message, www,
                              "\"rule\":\"resource_access\"");
  }
  if (!co_await decide(x)) co_return false;
  if (x.verdict.kind != VerdictKind::kAllow) {
    record_request(x, "deny");
    int status = x.verdict.code == "413" ? 413 : 403;
    std::string extra =
        "\"rule\":" + json_string(x.verdict.rule) + ",\"role\":" + json_string(x.verdict.role);
    co_return co_await refuse(x, status, status == 413 ? "body_too_large" : "forbidden",
                              x.verdict.message, {}, extra);
  }
  if (!co_await record_allow(x)) {
    co_return co_await refuse(x, 503, "audit_unavailable",
                              "the audit log cannot take the record; request refused");
  }
  co_return co_await forward(x);
}

}  // namespace phigate::proxy
