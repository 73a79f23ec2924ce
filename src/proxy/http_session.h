#pragma once
// HTTP/1.1 session adapter (DESIGN.md §1, §5): codec/http ⇄ policy ⇄ upstream/http_connector.
// One coroutine per client connection handles its requests one after another, so pipelined
// requests are answered in order (RFC 9112 §9.3.2) and a request's bytes are never read before
// the previous response is done; bytes already received wait in the buffer.
//
// Per request: parse and check the head (codec), pick the resource (path prefix, else Host
// label), authenticate the bearer token, ask policy (holding the request for approval when a rule
// says review), record the decision (durable first in strict mode), forward with the token and
// client-asserted identity fields removed and the resource's credentials injected, and stream the
// response back through the masker. Anything phigate refuses is answered with a JSON body and
// never forwarded.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "audit/event.h"
#include "common/buffer.h"
#include "codec/http/parser.h"
#include "codec/http/target.h"
#include "proxy/context.h"
#include "proxy/http_capture.h"
#include "proxy/http_hold.h"
#include "proxy/http_runtime.h"

namespace phigate::proxy {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  static void start(net::tcp::socket sock, GatewayContext& ctx);
  HttpSession(net::tcp::socket sock, GatewayContext& ctx);
  ~HttpSession();

 private:
  // One request/response exchange.
  struct Exchange {
    std::shared_ptr<const HttpRuntime> rt;
    const HttpResource* res = nullptr;
    std::string resource;
    http::RequestHead head;
    http::Target target;
    std::string rel_path;     // path below the resource, as forwarded
    std::string rel_decoded;  // the same, decoded: what path rules see
    // The other reading that decided (decide(): an override method or the path with its
    // ";params" cut), e.g. "DELETE /v1/x"; empty when the request line itself decided.
    std::string reading;
    std::vector<std::pair<std::string, std::string>> query;
    // What both audit records of the exchange name (action, query with secrets redacted):
    // rendered once when the request is routed; empty for a refusal before that.
    std::string audit_action;
    std::vector<std::string> audit_params;
    // Shared with the connection's cache of its last verified token: not copied per request.
    std::shared_ptr<const Identity> idp;
    const Identity& id() const {
      static const Identity kNone;
      return idp ? *idp : kNone;
    }
    bool authenticated = false;
    Verdict verdict;
    std::string approver;
    std::string body;            // the request body, when held (policy body rules, approvals)
    bool body_buffered = false;  // `body` is the whole body
    bool body_consumed = false;  // nothing of this request's body is left to read
    bool expect_continue = false;
    bool sent_continue = false;
    uint64_t max_body = 0;  // deciding role's max_body; 0 = none
    uint64_t req_bytes = 0;
    int64_t start_mono = 0;
    uint64_t seq = 0;  // audit seq of the request record (0 when async)
    int status = 0;
    uint64_t resp_bytes = 0;
    std::map<std::string, uint64_t> masked;
    std::string error_code;  // phigate's machine code when it answered itself
    std::string message;
    bool client_keep_alive = true;
    HttpBodyCapture capture;  // http.capture_bodies (http_capture.h)
  };

  enum class Phase { kClient, kUpstream, kHold };

  // http_session.cc: connection, request head, routing, authentication, policy
  net::awaitable<void> run();
  net::awaitable<bool> handle_one();
  net::awaitable<bool> read_client();
  net::awaitable<bool> write_client(const std::string& bytes);
  bool route(Exchange& x, std::string& why) const;
  net::awaitable<bool> authenticate(Exchange& x);
  net::awaitable<bool> buffer_body(Exchange& x, uint64_t cap, bool& over_cap);
  net::awaitable<bool> decide(Exchange& x);
  void judge_other_readings(Exchange& x, const PolicySnapshot& snap, Request& req) const;
  net::awaitable<bool> hold(Exchange& x);
  // http_session_hold.cc: the client hung up while `x` was held (the gate has cancelled it).
  bool held_client_gone(Exchange& x, const ApprovalOutcome& o);
  // Answers with phigate's own JSON response and records it. Returns whether the connection can
  // carry another request.
  net::awaitable<bool> refuse(Exchange& x, int status, std::string code, std::string message,
                              const http::Fields& extra = {}, std::string extra_json = {});
  net::awaitable<void> refuse_malformed(const http::ParseError& e);
  audit::Event make_event(const Exchange& x, const char* type) const;
  // The `http_request` record of `x` with its decision.
  audit::Event request_event(const Exchange& x, const char* decision) const;
  // Records the request and its decision (not waiting for the commit).
  void record_request(Exchange& x, const char* decision);
  // Records an allowed request; in strict mode durably before it returns (false: not recorded,
  // the request must not be forwarded).
  net::awaitable<bool> record_allow(Exchange& x);
  void record_result(Exchange& x, const char* status);
  void arm(std::chrono::milliseconds d);
  void disarm();
  net::awaitable<void> watchdog_loop();

  // http_forward.cc: upstream exchange and the response stream
  net::awaitable<bool> forward(Exchange& x);
  void append_upstream_head(const Exchange& x, bool chunked_body, std::string& out) const;
  net::awaitable<bool> send_request(Exchange& x, bool& body_started);
  // `stale` non-null: a reused connection that ends before any byte of the response is reported
  // there (and nothing is answered) instead of a 502, for the caller to retry.
  net::awaitable<bool> relay_response(Exchange& x, bool* stale = nullptr);
  net::awaitable<bool> read_upstream();
  net::awaitable<bool> write_upstream(const std::string& bytes);
  void drop_upstream();

  GatewayContext& ctx_;
  std::unique_ptr<net::Stream> client_;
  std::unique_ptr<net::Stream> upstream_;
  std::string upstream_key_;
  bool upstream_reused_ = false;
  // Parsers live as long as the connection and are reset per message, so a keep-alive
  // connection reuses their head buffers. Two request heads take turns: the parser fills one
  // while the previous exchange's (spare_head_) waits to be reused; its Target likewise.
  std::unique_ptr<http::RequestParser> parser_;
  std::unique_ptr<http::ResponseParser> resp_parser_;
  http::RequestHead spare_head_;
  http::Target spare_target_;
  Buffer in_;     // client bytes not yet parsed (may hold pipelined requests)
  Buffer up_in_;  // upstream bytes not yet parsed
  // Scratch of one exchange at a time (head and framed body out, parsed and masked body pieces),
  // kept with their capacity: per-request strings of a few KiB were a visible share of malloc.
  std::string out_buf_, body_buf_, masked_buf_;
  std::string session_id_, client_addr_, client_ip_;
  bool client_loopback_ = false;  // asked once: getpeername per request showed in profiles
  net::asio::steady_timer watchdog_;
  std::chrono::steady_clock::time_point deadline_;
  Phase phase_ = Phase::kClient;
  bool closed_ = false;
  bool timed_out_ = false;
  bool keep_ = false;  // after refuse(): whether the connection can carry another request
  uint64_t requests_ = 0;
  // A client read left running by a hold (http_hold.h); read_client takes it over.
  std::shared_ptr<ClientWatch> watch_;
  std::string
      last_auth_;  // the Authorization value this connection verified last, and its identity
  std::shared_ptr<const Identity> last_identity_;
};

}  // namespace phigate::proxy
