// HTTP session: the upstream exchange. The request goes out with phigate's fields (RFC 9110 §7.6);
// the response comes back through the masker, re-framed for the client.
#include <spdlog/spdlog.h>

#include "codec/http/forwarded.h"
#include "codec/http/headers.h"
#include "common/clock.h"
#include "proxy/http_body_mask.h"
#include "proxy/http_session.h"
#include "upstream/http_connector.h"

namespace phigate::proxy {

namespace asio = net::asio;
using net::awaitable;
using net::error_code;

namespace {
constexpr size_t kReadChunk = 16 * 1024;
}

void HttpSession::drop_upstream() {
  if (upstream_) upstream_->close();
  upstream_.reset();
  up_in_.clear();
}

awaitable<bool> HttpSession::read_upstream() {
  auto space = up_in_.prepare(kReadChunk);
  error_code ec;
  size_t n = co_await upstream_->read_some(asio::buffer(space.data(), space.size()), ec);
  up_in_.commit(n);
  co_return !ec && n > 0;
}

awaitable<bool> HttpSession::write_upstream(const std::string& bytes) {
  if (bytes.empty()) co_return true;
  error_code ec;
  co_await upstream_->write_all(asio::buffer(bytes), ec);
  co_return !ec;
}

// Written straight from the client's head (no copy of its fields): what phigate forwards is the
// client's fields minus hop-by-hop, identity-asserting, credential and framing ones, then
// phigate's own.
void HttpSession::append_upstream_head(const Exchange& x, bool chunked_body,
                                       std::string& out) const {
  const HttpResource& r = *x.res;
  out += x.head.method;
  out += ' ';
  out += r.target.base_path;
  out += x.rel_path;
  if (x.target.has_query) {
    out += '?';
    out += x.target.query;
  }
  out += " HTTP/1.1\r\n";
  auto injected = [&](std::string_view n) {
    for (const auto& kv : r.inject)
      if (iequals(kv.first, n)) return true;
    return false;
  };
  const http::HopFilter hop(x.head.fields);
  for (const http::Field& f : x.head.fields.list) {
    std::string_view n = f.name;
    // The token is phigate's business only (DESIGN.md §5); the upstream gets the resource's own
    // credentials instead (inject_headers, below). Expect was answered by phigate itself.
    if (iequals(n, "authorization") || iequals(n, "host") || iequals(n, "expect") ||
        iequals(n, "content-length") || hop.drops(n) || http::is_identity_field(n) ||
        http::is_path_override_field(n) || injected(n))
      continue;
    // Only identity-coded, whole representations can be masked: no compression, no ranges.
    if (r.mask && (iequals(n, "accept-encoding") || iequals(n, "range") || iequals(n, "if-range")))
      continue;
    http::append_field(n, f.value, out);
  }
  if (r.mask && !injected("accept-encoding"))
    http::append_field("Accept-Encoding", r.accept_compressed ? "gzip, deflate" : "identity", out);
  if (!injected("host")) http::append_field("Host", r.target.authority, out);
  for (const auto& [name, value] : r.inject) http::append_field(name, value, out);
  // RFC 7239 and the de-facto X-Forwarded-*: set by phigate alone (client copies were stripped).
  const char* proto = client_->is_tls() ? "https" : "http";
  const std::string_view* host = x.head.fields.find("host");
  http::append_field("X-Forwarded-For", client_ip_, out);
  http::append_field("X-Forwarded-Proto", proto, out);
  if (host) http::append_field("X-Forwarded-Host", *host, out);
  out += "Forwarded: ";
  http::append_forwarded_element(client_ip_, proto, host, out);
  out += "\r\n";
  http::append_field("Via", "1.1 phigate", out);  // RFC 9110 §7.6.3
  if (chunked_body) {
    http::append_field("Transfer-Encoding", "chunked", out);
  } else if (x.body_buffered) {
    if (!x.body.empty() || x.head.framing.content_length.has_value())
      http::append_field("Content-Length", std::to_string(x.body.size()), out);
  } else if (x.head.framing.content_length) {
    http::append_field("Content-Length", std::to_string(*x.head.framing.content_length), out);
  }
  out += "\r\n";
}

// Writes the head and the body. The body is either held whole (x.body) or streamed from the
// client as it arrives: a held body and a prefix read for policy go out first.
awaitable<bool> HttpSession::send_request(Exchange& x, bool& body_started) {
  body_started = false;
  const bool stream = !x.body_buffered && x.head.framing.has_body();
  const bool chunked = stream && x.head.framing.chunked;
  std::string& out = out_buf_;
  out.clear();
  append_upstream_head(x, chunked, out);
  if (x.body_buffered) {
    out += x.body;
    x.capture.request_whole(x.body);
    x.req_bytes = x.body.size();
    co_return co_await write_upstream(out);
  }
  if (!stream) co_return co_await write_upstream(out);
  if (x.expect_continue && !x.sent_continue) {
    x.sent_continue = true;
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    if (!co_await write_client(kContinue)) co_return false;
  }
  body_started = true;
  std::string piece = std::move(x.body);  // a prefix read while deciding, if any
  x.body.clear();
  for (;;) {
    size_t consumed = 0;
    http::ParseStatus st = http::ParseStatus::kBody;
    st = parser_->feed(in_.view(), consumed, piece);
    in_.consume(consumed);
    if (st == http::ParseStatus::kError) {
      x.status = parser_->error().status;
      co_await refuse_malformed(parser_->error());
      co_return false;
    }
    x.req_bytes += piece.size();
    if (x.max_body != 0 && x.req_bytes > x.max_body) {
      // The upstream sees a truncated request (the connection is dropped, never reused).
      drop_upstream();
      x.body_consumed = false;
      co_await refuse(x, 413, "body_too_large",
                      "request body exceeds max_body " + std::to_string(x.max_body) + " of role " +
                          x.verdict.role,
                      {}, "\"rule\":\"max_body\"");
      co_return false;
    }
    if (!piece.empty()) {
      x.capture.request(piece);
      // `out` still holds the head until the first write.
      if (chunked) {
        http::append_chunk(piece, out);
      } else {
        out += piece;
      }
      piece.clear();
      phase_ = Phase::kUpstream;
      if (!co_await write_upstream(out)) co_return false;
      out.clear();
    }
    if (st == http::ParseStatus::kDone) {
      x.body_consumed = true;
      if (chunked) http::append_last_chunk(out);
      co_return co_await write_upstream(out);
    }
    if (st == http::ParseStatus::kNeedMore) {
      phase_ = Phase::kClient;
      arm(ctx_.startup_timeout);
      if (!co_await read_client()) co_return false;
    }
  }
}

awaitable<bool> HttpSession::forward(Exchange& x) {
  const HttpResource& r = *x.res;
  const auto up_timeout = r.config->http.upstream_timeout;
  const std::string_view* req_ct = x.head.fields.find("content-type");
  x.capture.start(r.config->http.capture_bodies, req_ct ? *req_ct : std::string_view());
  if (!x.body_buffered && x.head.framing.has_body() && !in_.empty()) {
    // Body bytes that already arrived are parsed before anything goes upstream, so a framing
    // error sent along with the head (a bad chunk size) is refused with nothing forwarded.
    size_t consumed = 0;
    auto st = parser_->feed(in_.view(), consumed, x.body);
    in_.consume(consumed);
    if (st == http::ParseStatus::kError) {
      co_await refuse_malformed(parser_->error());
      co_return false;
    }
  }
  // A request that may be sent twice (RFC 9110 §9.2.2: idempotent; and no body, so nothing was
  // consumed from the client) takes a pooled connection without the liveness peek: if the
  // upstream had closed it, the response never starts and the request is replayed once on a
  // fresh connection, as it is when the write fails. Others keep the peek (one syscall).
  const bool replayable = !x.head.framing.has_body() && http::is_idempotent(x.head.method);
  for (int attempt = 0; attempt < 2; ++attempt) {
    phase_ = Phase::kUpstream;
    arm(up_timeout);
    timed_out_ = false;
    upstream_ = upstream::HttpPool::local().take(r.target.pool_key, !replayable || attempt > 0);
    upstream_reused_ = upstream_ != nullptr;
    up_in_.clear();
    if (!upstream_) {
      auto conn = co_await upstream::connect_http(client_->executor(), r.target, r.tls.get(),
                                                  r.verify_tls, up_timeout);
      if (!conn) {
        spdlog::warn("http session {}: upstream {} unavailable: {}", session_id_, x.resource,
                     conn.error().message);
        co_return co_await refuse(x, 502, "upstream_unavailable",
                                  "phigate could not connect to resource " + x.resource);
      }
      upstream_ = std::move(*conn);
    }
    bool body_started = false;
    bool sent = co_await send_request(x, body_started);
    if (!sent && body_started) {
      // A streamed body cannot be sent twice. Unless phigate already answered (400 or 413 while
      // streaming), the client learns that the upstream failed.
      drop_upstream();
      phase_ = Phase::kClient;
      if (x.status == 0)
        co_await refuse(x, 502, "upstream_failed", "the upstream failed mid-request");
      co_return false;
    }
    if (sent) {
      phase_ = Phase::kUpstream;
      arm(up_timeout);
      bool stale = false;
      bool ok = co_await relay_response(
          x, replayable && upstream_reused_ && attempt == 0 ? &stale : nullptr);
      if (!stale) co_return ok;
      spdlog::debug("http session {}: pooled connection to {} was closed; replaying on a new one",
                    session_id_, x.resource);
      continue;
    }
    // Writing to a pooled connection failed before any response: the upstream had closed it.
    // Safe to retry once on a fresh connection because nothing was consumed from the client.
    bool retry = upstream_reused_ && attempt == 0;
    drop_upstream();
    if (!retry) {
      co_return co_await refuse(x, 502, "upstream_failed", "sending the request upstream failed");
    }
  }
  co_return false;
}

awaitable<bool> HttpSession::relay_response(Exchange& x, bool* stale) {
  const HttpResource& r = *x.res;
  const auto up_timeout = r.config->http.upstream_timeout;
  const bool head_req = iequals(x.head.method, "HEAD");
  std::string& body = body_buf_;
  body.clear();
  // One response parser per connection, reset per response: its head buffers are reused.
  if (!resp_parser_) resp_parser_ = std::make_unique<http::ResponseParser>(head_req);
  http::ResponseParser* rp = resp_parser_.get();
  bool heard = !up_in_.empty();  // any byte of a response from this connection
  // Head; 1xx interim responses are consumed (phigate handled Expect itself; RFC 9110 §15.2).
  for (;;) {
    rp->reset(head_req);
    http::ParseStatus st;
    for (;;) {
      size_t consumed = 0;
      st = rp->feed(up_in_.view(), consumed, body);
      up_in_.consume(consumed);
      if (st != http::ParseStatus::kNeedMore) break;
      if (co_await read_upstream()) {
        heard = true;
      } else {
        bool timed_out = timed_out_;
        drop_upstream();
        if (stale && !heard && !timed_out) {
          *stale = true;
          co_return false;
        }
        phase_ = Phase::kClient;
        if (timed_out) {
          co_return co_await refuse(x, 504, "upstream_timeout",
                                    "resource " + x.resource + " did not answer in time");
        }
        co_return co_await refuse(x, 502, "upstream_closed",
                                  "resource " + x.resource + " closed the connection");
      }
    }
    if (st == http::ParseStatus::kError) {
      drop_upstream();
      phase_ = Phase::kClient;
      co_return co_await refuse(x, 502, "bad_upstream_response", rp->error().message);
    }
    int s = rp->head().status;
    if (s == 101) {
      drop_upstream();
      phase_ = Phase::kClient;
      co_return co_await refuse(x, 502, "upgrade_refused", "protocol upgrades are not proxied");
    }
    if (s >= 200) break;
    body.clear();
  }
  const http::ResponseHead& uh = rp->head();
  x.status = uh.status;
  const bool has_body = !head_req && uh.framing.has_body();
  BodyMasker::Plan plan;
  std::string why;
  if (!BodyMasker::choose(r, uh.fields, has_body, plan, why)) {
    drop_upstream();
    phase_ = Phase::kClient;
    co_return co_await refuse(x, 502, "unmaskable_response", why);
  }
  const bool masking = plan.kind != BodyMasker::Kind::kNone;
  BodyMasker masker(r, plan);
  const std::string_view* resp_ct = uh.fields.find("content-type");
  x.capture.response_head(uh.status, resp_ct ? *resp_ct : std::string_view());

  // The client's head, written straight from the upstream's (no copy of its fields).
  // The masked representation differs from the upstream's: its digests and validators do not
  // describe it; a decoded one is sent without its Content-Encoding (http_inflate.h).
  const bool new_repr = masking || (r.mask && head_req);
  const bool decoded = masker.decodes() || (head_req && BodyMasker::would_decode(r, uh.fields));
  std::string& out = out_buf_;
  out.clear();
  http::append_status_line(uh.status, out);
  const http::HopFilter hop(uh.fields);
  for (const http::Field& f : uh.fields.list) {
    std::string_view n = f.name;
    if (iequals(n, "content-length") || hop.drops(n)) continue;
    if (new_repr &&
        (iequals(n, "content-md5") || iequals(n, "digest") || iequals(n, "content-digest") ||
         iequals(n, "repr-digest") || iequals(n, "etag") || iequals(n, "accept-ranges") ||
         iequals(n, "content-range")))
      continue;
    if (decoded && iequals(n, "content-encoding")) continue;
    http::append_field(n, f.value, out);
  }
  http::append_field("Via", "1.1 phigate", out);
  bool client_keep = x.head.framing.keep_alive && x.body_consumed;
  bool chunk_out = false;
  if (head_req) {
    if (!r.mask && uh.framing.content_length) {
      http::append_field("Content-Length", std::to_string(*uh.framing.content_length), out);
    }
  } else if (!has_body) {
    if (uh.status != 204 && uh.status != 304) http::append_field("Content-Length", "0", out);
  } else if (!masking && uh.framing.content_length) {
    http::append_field("Content-Length", std::to_string(*uh.framing.content_length), out);
  } else if (x.head.version == 11) {
    chunk_out = true;
    http::append_field("Transfer-Encoding", "chunked", out);
  } else {
    client_keep = false;  // HTTP/1.0: the body ends when the connection does
  }
  if (!client_keep) http::append_field("Connection", "close", out);
  out += "\r\n";

  // Body: parse -> mask -> frame -> write, one read at a time.
  std::string& masked_piece = masked_buf_;
  masked_piece.clear();
  // A masked piece as the client gets it: captured, counted, framed.
  auto emit = [&](std::string_view piece) {
    x.capture.response(piece);
    x.resp_bytes += piece.size();
    if (chunk_out) {
      http::append_chunk(piece, out);
    } else {
      out += piece;
    }
  };
  bool done = !has_body;
  bool head_sent = false;
  bool failed = false;
  std::string fail_why;
  if (!done) {
    size_t consumed = 0;
    auto st = rp->feed(up_in_.view(), consumed, body);
    up_in_.consume(consumed);
    if (st == http::ParseStatus::kError) {
      failed = true;
      fail_why = "bad upstream body: " + rp->error().message;
    }
    done = st == http::ParseStatus::kDone;
  }
  while (!failed) {
    if (!body.empty() && !masking) {
      emit(body);  // passed through: not copied once more through the masker
      body.clear();
    } else if (!body.empty()) {
      masked_piece.clear();
      if (!masker.feed(body, masked_piece)) {
        failed = true;
        fail_why = "masking failed: " + masker.error();
        break;
      }
      body.clear();
      emit(masked_piece);
    }
    if (done) break;
    if (!out.empty()) {
      phase_ = Phase::kClient;
      arm(up_timeout);
      head_sent = true;
      if (!co_await write_client(out)) {
        failed = true;
        fail_why = "client went away";
        break;
      }
      out.clear();
    }
    phase_ = Phase::kUpstream;
    arm(up_timeout);
    if (!co_await read_upstream()) {
      if (rp->head().framing.until_close && !timed_out_ &&
          rp->feed_eof() == http::ParseStatus::kDone) {
        done = true;
        continue;
      }
      failed = true;
      fail_why = timed_out_ ? "upstream timed out mid-body" : "upstream closed mid-body";
      break;
    }
    size_t consumed = 0;
    auto st = rp->feed(up_in_.view(), consumed, body);
    up_in_.consume(consumed);
    if (st == http::ParseStatus::kError) {
      failed = true;
      fail_why = "bad upstream body: " + rp->error().message;
      break;
    }
    if (st == http::ParseStatus::kDone) done = true;
  }
  if (!failed && has_body) {
    masked_piece.clear();
    if (!masker.finish(masked_piece)) {
      failed = true;
      fail_why = "masking failed: " + masker.error();
    } else {
      emit(masked_piece);
    }
  }
  x.masked = masker.counts();
  if (failed) {
    drop_upstream();
    phase_ = Phase::kClient;
    if (!head_sent) {
      // Nothing reached the client yet: it gets a clear refusal instead of the response.
      co_await refuse(x, 502, "response_refused", fail_why);
      co_return false;
    }
    // The head is out: the only honest signal left is an incomplete message (no last chunk or a
    // short body), so the client cannot take a truncated body for a whole one. What is in `out`
    // was masked, but it is dropped as well.
    x.message = fail_why;
    record_result(x, "error");
    keep_ = false;
    co_return false;
  }
  if (chunk_out) http::append_last_chunk(out);
  phase_ = Phase::kClient;
  arm(up_timeout);
  bool wrote = co_await write_client(out);
  // The upstream connection goes back to this thread's pool only after a clean, complete response
  // it did not ask to close, with nothing unexpected after it.
  if (rp->head().framing.keep_alive && up_in_.empty() && upstream_) {
    upstream::HttpPool::local().put(r.target.pool_key, std::move(upstream_));
  } else {
    drop_upstream();
  }
  upstream_.reset();
  record_result(x, "ok");
  co_return wrote&& client_keep;
}

}  // namespace phigate::proxy
