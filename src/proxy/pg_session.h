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
#include <utility>
#include <vector>

#include "audit/event.h"
#include "codec/pg/messages.h"
#include "common/buffer.h"
#include "proxy/context.h"
#include "proxy/durable_barrier.h"
#include "proxy/pg_masking.h"
#include "proxy/result_capture.h"
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
    // Masking (pg_session_mask.cc): the profile decided with the statement (null = none), its
    // classification (COPY options), whether it is DDL (drops catalog caches), COPYs seen so far.
    std::shared_ptr<const mask::MaskProfile> mask;
    std::shared_ptr<const sql::Classification> sql;
    bool ddl = false;
    size_t copies = 0;
    size_t results = 0;  // RowDescriptions seen so far (which statement's lineage plans them)
    // max_rows (pg_session_limits.cc): the deciding role's limit, the rows of the current result,
    // a portal's running count shared by its Executes, and whether rows were withheld.
    uint64_t max_rows = 0;
    uint64_t result_rows = 0;
    uint64_t withheld = 0;  // rows of the current result not forwarded
    std::shared_ptr<uint64_t> portal_rows;
    std::string limit_role;
    bool truncated = false;
    // DECLAREs of this statement string, in order; each CommandComplete "DECLARE CURSOR" starts
    // that cursor's row count afresh (only once the server has really made it).
    std::vector<std::string> declared_cursors;
    size_t declares_done = 0;
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
    // 'd': a Describe phigate added before a masked Execute; its answer plans the rows.
    std::shared_ptr<const mask::MaskProfile> mask;
    std::shared_ptr<const sql::Classification> sql;  // its statement, for lineage
    // SQL-level PREPAREs this message made (name, version), forgotten again if it fails.
    std::vector<std::pair<std::string, uint64_t>> sql_prepared;
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
    std::shared_ptr<uint64_t> rows_sent = std::make_shared<uint64_t>(0);  // for max_rows
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
  // The one way a decided statement (Query, Execute, or a held one on approval) gets its record:
  // masking is decided first (it may turn an allow into a refusal), then the audit record, and for
  // an allowed statement its masking plan, max_rows and cursor counts. `counted` is the
  // classification whose cursors count rows (the client's own text, before EXECUTE resolution).
  std::shared_ptr<StmtRecord> admit(Verdict& v, std::string_view text,
                                    const std::shared_ptr<const sql::Classification>& decided,
                                    const sql::Classification* counted,
                                    const std::vector<std::string>* params,
                                    const ApprovalOutcome* approval = nullptr);

  // SQL-level PREPARE/EXECUTE/DEALLOCATE (pg_session_prepared.cc). They share one namespace with
  // the extended protocol's named statements (§55.2.3), so both live in prepared_.
  std::shared_ptr<const sql::Classification> resolve_execute(
      std::shared_ptr<const sql::Classification> cls) const;
  void track_sql_prepared(const sql::Classification& cls, Pending& p);
  void forget_sql_prepared(const Pending& p);

  // max_rows (pg_session_limits.cc): false when the DataRow must not reach the client.
  bool count_row(StmtRecord& rec);
  // At the end of a result: the ErrorResponse that replaces its CommandComplete/PortalSuspended
  // when rows were withheld. Returns false when the result was not truncated.
  bool end_result(StmtRecord& rec, Bytes& replacement);
  // SQL cursors: FETCH counts against the cursor's running total, not per result.
  void attach_cursor_counts(const sql::Classification& cls, StmtRecord& rec);
  void cursor_declared(StmtRecord& rec);
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
  // Result capture (pg_session_capture.cc): sees each frame as the client gets it.
  void capture_sent(const pg::Frame& sent);
  std::string capture_blob(const StmtRecord* rec);

  audit::Event make_event(const char* type) const;

  // masking (pg_session_mask.cc)
  enum class MaskStep { kContinue, kConsumed, kAbort };
  // The statement's masking profile (null = none), decided with its verdict, before the record is
  // written; may turn an allow into a refusal (binary COPY; lineage: whole-row references).
  std::shared_ptr<const mask::MaskProfile> decide_masking(Verdict& v,
                                                          const sql::Classification* cls) const;
  void attach_masking(StmtRecord& rec, std::shared_ptr<const mask::MaskProfile> mask,
                      std::shared_ptr<const sql::Classification> cls);
  // Before a masked Execute: a Describe of the portal, whose answer plans the rows.
  void describe_for_masking(std::string_view portal, const StmtRecord& rec);
  bool mask_needs_lookup(const pg::Frame& f);
  net::awaitable<bool> mask_lookup(ByteSpan frame);
  MaskStep mask_server_frame(const pg::Frame& f, Bytes& replacement, bool& replace);
  const std::shared_ptr<const mask::MaskProfile>& head_mask() const;
  void mask_abort(const char* sqlstate, const std::string& why);

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
  std::unordered_map<std::string, std::shared_ptr<uint64_t>> cursor_rows_;  // for max_rows
  // Masking: each cursor's DECLARE text, so a FETCH's rows are planned with the lineage of the
  // cursor's query (pg_session_mask.cc). Absent = that FETCH is planned blind (all masked).
  std::unordered_map<std::string, std::string> cursor_queries_;
  std::string fatal_message_;  // sent to the client by the server loop before closing
  std::string fatal_sqlstate_;
  bool closing_ = false;
  uint64_t statements_ = 0, denials_ = 0;
  uint64_t versions_ = 0;  // stamps PreparedInfo/PortalInfo entries
  RowMasker masker_;
  ResultPlan plan_;  // of the result set being streamed
  bool plan_valid_ = false;
  CopyPlan copy_plan_;
  bool copy_active_ = false;
  bool mask_aborted_ = false;
  ResultCapture capture_;

  // approval holds
  std::unique_ptr<Held> held_;
  std::unique_ptr<net::asio::steady_timer> wake_;  // the client loop waits on it while held
  bool reader_active_ = false, client_gone_ = false;
  bool client_busy_ = false;  // a write to the client is in progress
  std::unique_ptr<net::asio::steady_timer> client_idle_;
  Bytes reader_buf_;
};

}  // namespace phigate::proxy
