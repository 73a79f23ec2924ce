#pragma once
// PostgreSQL session adapter: codec ⇄ policy ⇄ upstream (DESIGN.md §1). It turns protocol messages
// into protocol-neutral Requests, applies verdicts, and reports to the audit sink.
//
// Denials keep the real server's transaction state truthful: instead of answering the client
// itself, the adapter sends the upstream a statement that fails to parse and carries a per-session
// marker; the server then does exactly what it does for any failed statement (aborts the
// transaction block, skips to Sync) and the adapter rewrites that one ErrorResponse into phigate's
// 42501 on the way back. Nothing of the denied statement ever reaches the server.
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "audit/event.h"
#include "codec/pg/messages.h"
#include "common/buffer.h"
#include "proxy/context.h"
#include "proxy/durable_barrier.h"
#include "upstream/pg_connector.h"

namespace phigate::proxy {

class PgSession : public std::enable_shared_from_this<PgSession> {
 public:
  static void start(net::tcp::socket sock, GatewayContext& ctx);
  PgSession(net::tcp::socket sock, GatewayContext& ctx);
  ~PgSession();

 private:
  // What phigate tracks per executed statement, for the result record.
  struct StmtRecord {
    uint64_t seq = 0;
    int64_t start_mono = 0;
    uint64_t rows = 0;
    uint64_t bytes = 0;
    std::string tag;
    std::string error_code;
    bool error = false;
  };
  // One entry per forwarded message that the server answers, in order (§55.2.3: responses come in
  // the order of the messages).
  struct Pending {
    explicit Pending(char k, std::shared_ptr<StmtRecord> r = nullptr)
        : kind(k), rec(std::move(r)) {}
    char kind;  // 'Q' query, 'F' function call, 'P','B','D','C','E' extended, 'S' sync
    std::shared_ptr<StmtRecord> rec;
    std::string deny_message;  // set when the forwarded message is a denial marker
    std::string deny_code;
    // Parse/Bind: the name phigate recorded and which version of it, so a server-side failure
    // (duplicate name, missing statement, ...) takes phigate's entry back out.
    std::string name;
    uint64_t version = 0;
  };
  struct PreparedInfo {
    uint64_t version = 0;
    std::string text;
    std::shared_ptr<const sql::Classification> sql;
    bool denied = false;
  };
  struct PortalInfo {
    uint64_t version = 0;
    std::shared_ptr<const PreparedInfo> stmt;
    std::vector<std::string> params;
    std::string bind_digest;  // SHA-256 of the Bind body: binds an approval to these parameters
  };
  // A statement held for approval (pg_session_hold.cc): the exact message, forwarded on approval.
  struct Held {
    std::string id;
    char kind = 'Q';  // 'Q' simple Query, 'E' Execute (its Parse/Bind already went ahead)
    Bytes frame;      // the whole held message (type, length, body)
    std::string text;
    std::shared_ptr<const sql::Classification> sql;
    std::vector<std::string> params;
    std::string fingerprint;
    Verdict verdict;
    bool notice_sent = false;
    bool resolved = false;
    ApprovalOutcome outcome;
  };

  // startup (pg_session_startup.cc)
  net::awaitable<void> run();
  net::awaitable<bool> startup();
  net::awaitable<bool> read_more(Bytes& buf);
  void queue_fatal(std::string_view sqlstate, std::string_view message);
  net::awaitable<void> flush_fatal();
  net::awaitable<bool> connect_upstream(const ResourceConfig& res,
                                        const pg::StartupPacket& startup);
  void handle_cancel(int32_t pid, int32_t key);

  // client → upstream (pg_session_client.cc)
  net::awaitable<void> client_loop();
  bool handle_client_frame(const pg::Frame& f);
  bool on_query(const pg::Frame& f);
  bool on_parse(const pg::Frame& f);
  bool on_bind(const pg::Frame& f);
  bool on_execute(const pg::Frame& f);
  bool on_function_call(const pg::Frame& f);
  void forward(const pg::Frame& f);
  // The policy decision for statement text (or a FunctionCall) on this session's identity.
  Verdict decide(std::string_view text, std::shared_ptr<const sql::Classification> cls,
                 ActionKind action = ActionKind::kStatement) const;
  void inject_denial(char kind, std::string_view stmt_name, const Verdict& v);
  std::shared_ptr<StmtRecord> audit_statement(std::string_view text, const sql::Classification* c,
                                              const std::vector<std::string>* params,
                                              const Verdict& v,
                                              const ApprovalOutcome* approval = nullptr);
  void protocol_violation(std::string message);

  // approval holds (pg_session_hold.cc)
  // Holds the statement (true) or, when it cannot be held, turns `v` into the denial to send.
  bool start_hold(char kind, const pg::Frame& f, std::string_view text,
                  std::shared_ptr<const sql::Classification> cls,
                  const std::vector<std::string>* params, std::string fingerprint, Verdict& v);
  void on_outcome(ApprovalOutcome out);
  void resume_hold();  // forwards the held message or denies it, into this batch
  net::awaitable<bool> send_hold_notice();
  // Waits while a hold is pending (reading pipelined bytes meanwhile, bounded); false when the
  // client went away.
  net::awaitable<bool> wait_held();
  net::awaitable<void> hold_reader();
  void wake();
  // Every write to the client after start-up goes through here: the client loop's notices and the
  // server loop's traffic must not interleave inside a message.
  net::awaitable<void> write_client(net::asio::const_buffer buf, net::error_code& ec);

  // upstream → client (pg_session_server.cc)
  net::awaitable<void> server_loop();
  void handle_server_frame(const pg::Frame& f, Bytes& replacement, bool& replace);
  void finish(const std::shared_ptr<StmtRecord>& rec, const char* status);
  void pop_until_sync();
  void forget_failed(const Pending& p);

  audit::Event make_event(const char* type) const;

  GatewayContext& ctx_;
  std::unique_ptr<net::Stream> client_;
  std::unique_ptr<net::Stream> server_;
  std::shared_ptr<DurableBarrier> barrier_;
  std::string session_id_;
  std::string deny_marker_;
  std::string client_addr_, client_user_, resource_;
  std::string upstream_host_;
  uint16_t upstream_port_ = 0;
  Identity identity_;
  bool authenticated_ = false;
  int32_t cancel_pid_ = 0, cancel_key_ = 0;
  int64_t started_mono_ = 0;

  Buffer cin_;         // client bytes not yet processed
  Bytes to_server_;    // frames accepted for the upstream, written once per read batch
  Bytes server_seed_;  // bytes the upstream sent right after login
  Bytes fatal_bytes_;  // a FATAL ErrorResponse waiting to be written during start-up
  Bytes hello_;        // AuthenticationOk .. ReadyForQuery, sent once the session is on record
  std::deque<Pending> pending_;
  // Strict mode: this read batch's statement records, committed together before forwarding.
  std::vector<audit::Event> batch_events_;
  std::vector<std::shared_ptr<StmtRecord>> batch_recs_;
  std::unordered_map<std::string, std::shared_ptr<const PreparedInfo>> prepared_;
  std::unordered_map<std::string, PortalInfo> portals_;
  std::string fatal_message_;  // sent to the client by the server loop before closing
  std::string fatal_sqlstate_;
  bool closing_ = false;
  uint64_t statements_ = 0, denials_ = 0;
  uint64_t versions_ = 0;  // stamps PreparedInfo/PortalInfo entries

  // approval holds
  std::unique_ptr<Held> held_;
  std::unique_ptr<net::asio::steady_timer> wake_;  // the client loop waits on it while held
  bool reader_active_ = false, client_gone_ = false;
  bool client_busy_ = false;  // a write to the client is in progress
  std::unique_ptr<net::asio::steady_timer> client_idle_;
  Bytes reader_buf_;
};

}  // namespace phigate::proxy
