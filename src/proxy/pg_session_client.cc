// Client → upstream: every frontend message is decoded, turned into a Request where it runs
// something, decided on, put on the record, and only then forwarded (§55.2.2–§55.2.6).
#include <spdlog/spdlog.h>

#include "codec/pg/decoder.h"
#include "codec/pg/encoder.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "proxy/pg_params.h"
#include "proxy/pg_session.h"

namespace phigate::proxy {

namespace asio = net::asio;
using net::awaitable;
using net::error_code;

namespace {
// Named statements and portals are client-controlled; cap them so one session cannot grow phigate's
// memory without bound.
constexpr size_t kMaxPrepared = 100000;
constexpr size_t kMaxPortals = 100000;
constexpr size_t kReadChunk = 16384;

std::string kinds_of(const sql::Classification* c) {
  if (!c) return {};
  std::string out;
  for (auto& s : c->statements) {
    if (!out.empty()) out += ',';
    out += sql::kind_name(s.kind);
  }
  return out;
}
}  // namespace

awaitable<void> PgSession::client_loop() {
  bool keep = true;
  while (keep) {
    if (held_ && held_->resolved) resume_hold();
    size_t head = 0;
    // While a statement is held, later messages wait in cin_ behind it (order preserved).
    while (!held_) {
      auto d = pg::decode_frame(cin_.readable().subspan(head), pg::kDefaultMaxFrontendLen);
      if (d.status == pg::DecodeStatus::kNeedMore) break;
      if (d.status == pg::DecodeStatus::kError) {
        protocol_violation(d.error.message);
        keep = false;
        break;
      }
      head += d.message.total;
      if (!handle_client_frame(d.message)) {
        keep = false;
        break;
      }
    }
    cin_.consume(head);
    if (cin_.empty()) cin_.shrink_if_idle(1 << 20);

    // Strict durability: the records of this batch are committed before any of it is forwarded.
    // If the audit store cannot take them, nothing of the batch runs and the session ends.
    bool audited = !barrier_->failed();
    if (!batch_events_.empty()) {
      auto first = ctx_.audit->append_now(batch_events_);
      if (first) {
        for (size_t i = 0; i < batch_recs_.size(); ++i) batch_recs_[i]->seq = *first + i;
      } else {
        audited = false;
      }
      batch_events_.clear();
      batch_recs_.clear();
    }
    if (!audited) {
      to_server_.clear();
      if (fatal_message_.empty()) {
        fatal_sqlstate_ = "58030";
        fatal_message_ = "audit log unavailable; statement not executed";
      }
      keep = false;
    }
    if (!to_server_.empty() && !closing_) {
      error_code ec;
      co_await server_->write_all(asio::buffer(to_server_), ec);
      to_server_.clear();
      if (ec) break;
    }
    if (!keep) break;
    if (held_ || reader_active_) {
      bool alive = true;
      if (held_ && !held_->notice_sent) alive = co_await send_hold_notice();
      if (alive) alive = co_await wait_held();
      if (!alive) break;
      continue;
    }

    auto w = cin_.prepare(kReadChunk / 4);
    error_code ec;
    size_t n = co_await client_->read_some(asio::buffer(w.data(), w.size()), ec);
    cin_.commit(n);
    if (ec || n == 0) break;
  }
  closing_ = true;
  // A held statement whose client went away is withdrawn (the gate calls back with kCancelled).
  if (held_ && !held_->resolved && ctx_.approvals) ctx_.approvals->cancel(held_->id);
  // The server loop owns writes to the client after start-up: closing the upstream wakes it, and it
  // sends any pending FATAL before closing the client.
  server_->close();
  if (fatal_message_.empty()) client_->close();
}

void PgSession::protocol_violation(std::string message) {
  fatal_sqlstate_ = "08P01";
  fatal_message_ = "protocol violation: " + message;
  audit::Event e = make_event("protocol_error");
  e.status = "error";
  e.error_code = "08P01";
  e.message = message;
  ctx_.audit->append(std::move(e));
}

void PgSession::forward(const pg::Frame& f) { pg::encode_frame(to_server_, f.type, f.body); }

bool PgSession::handle_client_frame(const pg::Frame& f) {
  switch (f.type) {
    case 'Q':
      return on_query(f);
    case 'P':
      return on_parse(f);
    case 'B':
      return on_bind(f);
    case 'E':
      return on_execute(f);
    case 'F':
      return on_function_call(f);
    case 'D': {  // §55.7 Describe
      auto d = pg::parse_describe(f.body);
      if (!d) return protocol_violation(d.error().message), false;
      pending_.emplace_back('D');
      forward(f);
      return true;
    }
    case 'C': {  // §55.7 Close
      auto c = pg::parse_close(f.body);
      if (!c) return protocol_violation(c.error().message), false;
      if (c->target == 'S')
        prepared_.erase(std::string(c->name));
      else
        portals_.erase(std::string(c->name));
      pending_.emplace_back('C');
      forward(f);
      return true;
    }
    case 'S':  // §55.7 Sync
      pending_.emplace_back('S');
      forward(f);
      return true;
    case 'H':  // Flush
    case 'd':  // CopyData
    case 'c':  // CopyDone
    case 'f':  // CopyFail: the server validates copy state itself
      forward(f);
      return true;
    case 'X':  // Terminate
      forward(f);
      return false;
    default:
      protocol_violation(std::string("unexpected frontend message type '") +
                         (f.type >= 32 && f.type < 127 ? std::string(1, f.type) : "?") + "'");
      return false;
  }
}

std::shared_ptr<PgSession::StmtRecord> PgSession::audit_statement(
    std::string_view text, const sql::Classification* c, const std::vector<std::string>* params,
    const Verdict& v, const ApprovalOutcome* approval) {
  ++statements_;
  audit::Event e = make_event("statement");
  e.action = audit_text(text);
  e.statement_kind = kinds_of(c);
  if (params) e.parameters = *params;
  e.decision = v.kind == VerdictKind::kAllow  ? "allow"
               : v.kind == VerdictKind::kHold ? "hold"
                                              : "deny";
  e.rule = v.rule;
  e.message = v.message;
  if (approval) {
    e.approval_id = approval->id;
    e.approver = approval->reviewer;
  }
  if (v.kind == VerdictKind::kHold) {
    e.status = "held";
  } else if (v.kind != VerdictKind::kAllow) {
    e.status = "denied";
    e.error_code = v.code.empty() ? "42501" : v.code;
  }
  auto rec = std::make_shared<StmtRecord>();
  rec->start_mono = mono_ns();
  if (ctx_.strict_audit) {
    batch_events_.push_back(std::move(e));
    batch_recs_.push_back(rec);
  } else {
    barrier_->append(*ctx_.audit, std::move(e), [rec](uint64_t seq) { rec->seq = seq; });
  }
  return rec;
}

void PgSession::inject_denial(char kind, std::string_view stmt_name, const Verdict& v) {
  ++denials_;
  Pending p(kind == 'Q' || kind == 'F' ? 'Q' : 'P');
  p.deny_code = v.code.empty() ? "42501" : v.code;
  p.deny_message = v.message.empty() ? "statement denied by phigate policy" : v.message;
  // Always say it was phigate, so nobody mistakes a policy refusal for a server error.
  p.deny_message += v.rule.empty() ? " (phigate policy)" : " (phigate rule \"" + v.rule + "\")";
  if (p.kind == 'Q') {
    pg::encode_query(to_server_, deny_marker_);
  } else {
    pg::encode_parse(to_server_, stmt_name, deny_marker_);
    // The server drops its unnamed statement before parsing the marker, so phigate's must go too.
    if (stmt_name.empty()) prepared_.erase("");
  }
  pending_.push_back(std::move(p));
}

Verdict PgSession::decide(std::string_view text, std::shared_ptr<const sql::Classification> cls,
                          ActionKind action) const {
  Request req;
  // JIT access windows add their roles while they last (checked at every statement).
  Identity with_grants;
  req.identity = &effective_identity(ctx_.grants, identity_, resource_, now_ns(), with_grants);
  req.resource = resource_;
  req.protocol = "postgres";
  req.action = action;
  req.text = text;
  req.sql = std::move(cls);
  return ctx_.policy->get()->decide(req);
}

std::shared_ptr<PgSession::StmtRecord> PgSession::admit(
    Verdict& v, std::string_view text, const std::shared_ptr<const sql::Classification>& decided,
    const sql::Classification* counted, const std::vector<std::string>* params,
    const ApprovalOutcome* approval) {
  auto mask = decide_masking(v, decided.get());
  auto rec = audit_statement(text, decided.get(), params, v, approval);
  attach_masking(*rec, std::move(mask), decided);
  if (v.kind == VerdictKind::kAllow) {
    rec->max_rows = v.max_rows;
    rec->limit_role = v.role;
    if (counted) attach_cursor_counts(*counted, *rec);
  }
  return rec;
}

bool PgSession::on_query(const pg::Frame& f) {
  auto q = pg::parse_query(f.body);  // §55.7 Query
  if (!q) return protocol_violation(q.error().message), false;
  auto cls = sql::classify(q->sql);
  auto decided = resolve_execute(cls);  // EXECUTE name is decided as what it runs
  Verdict v = decide(q->sql, decided);
  if (v.kind == VerdictKind::kHold) {
    std::string fp = "Q";
    fp += q->sql;
    if (start_hold('Q', f, q->sql, decided, nullptr, std::move(fp), v)) return true;
  }
  auto rec = admit(v, q->sql, decided, cls.get(), nullptr);
  if (v.kind == VerdictKind::kAllow) {
    pending_.emplace_back('Q', std::move(rec));
    track_sql_prepared(*cls, pending_.back());
    forward(f);
  } else {
    inject_denial('Q', {}, v);
  }
  return true;
}

bool PgSession::on_parse(const pg::Frame& f) {
  auto p = pg::parse_parse(f.body);  // §55.7 Parse
  if (!p) return protocol_violation(p.error().message), false;
  auto info = std::make_shared<PreparedInfo>();
  info->version = ++versions_;
  info->text = std::string(p->query);
  info->sql = sql::classify(p->query);
  Verdict v = decide(p->query, resolve_execute(info->sql));
  // A statement under review is parsed (which runs nothing) and held at Execute.
  info->denied = v.kind != VerdictKind::kAllow && v.kind != VerdictKind::kHold;
  std::string name(p->name);
  // A named statement that already exists makes the server refuse this Parse (42P05) and keep
  // the old one: phigate must keep describing the old one too. The unnamed statement is always
  // replaced (the server drops it before parsing).
  bool record = name.empty() || !prepared_.count(name);
  if (record && !name.empty() && prepared_.size() >= kMaxPrepared)
    return protocol_violation("too many prepared statements"), false;
  if (info->denied) {
    audit_statement(p->query, info->sql.get(), nullptr, v);
    inject_denial('P', p->name, v);
  } else {
    forward(f);
    pending_.emplace_back('P');
  }
  if (record) {
    prepared_[name] = info;
    pending_.back().name = name;
    pending_.back().version = info->version;
  }
  return true;
}

bool PgSession::on_bind(const pg::Frame& f) {
  auto b = pg::parse_bind(f.body);  // §55.7 Bind
  if (!b) return protocol_violation(b.error().message), false;
  std::string name(b->portal);
  // Same rule as statements: an existing named portal (or a SQL cursor of that name, which
  // phigate does not track) makes the server refuse the Bind; the error path erases the entry.
  bool record = name.empty() || !portals_.count(name);
  if (record && !name.empty() && portals_.size() >= kMaxPortals)
    return protocol_violation("too many portals"), false;
  Pending pend('B');
  if (record) {
    PortalInfo portal;
    portal.version = ++versions_;
    auto it = prepared_.find(std::string(b->statement));
    if (it != prepared_.end()) portal.stmt = it->second;
    portal.params = render_params(*b);
    portal.bind_digest = to_hex(sha256(f.body));
    pend.name = name;
    pend.version = portal.version;
    portals_[name] = std::move(portal);
  }
  pending_.push_back(std::move(pend));
  forward(f);
  return true;
}

bool PgSession::on_execute(const pg::Frame& f) {
  auto ex = pg::parse_execute(f.body);  // §55.7 Execute
  if (!ex) return protocol_violation(ex.error().message), false;
  auto it = portals_.find(std::string(ex->portal));
  if (it == portals_.end() || !it->second.stmt) {
    // A portal phigate did not see bound from a statement it parsed (a SQL-level PREPARE or
    // DECLARE): it cannot know what would run, so it refuses.
    Verdict v = Verdict::deny("unknown-portal",
                              "portal or prepared statement was not prepared through phigate's "
                              "extended protocol; cannot be checked");
    audit_statement("EXECUTE portal \"" + std::string(ex->portal) + "\"", nullptr, nullptr, v);
    inject_denial('P', {}, v);
    return true;
  }
  const PortalInfo& portal = it->second;
  if (portal.stmt->denied) {
    // phigate believes this statement was denied: whatever the server might hold under that name,
    // nothing runs without a decision on the record.
    Verdict v =
        Verdict::deny("denied-statement", "the prepared statement behind this portal was denied");
    audit_statement(portal.stmt->text, portal.stmt->sql.get(), &portal.params, v);
    inject_denial('P', {}, v);
    return true;
  }
  // Decided again at Execute with the current policy snapshot: a reload applies to live sessions.
  auto decided = resolve_execute(portal.stmt->sql);
  Verdict v = decide(portal.stmt->text, decided);
  if (v.kind == VerdictKind::kHold) {
    // Bound to the text and the exact Bind (parameters, formats) of this portal.
    std::string fp = "E";
    fp += portal.stmt->text;
    fp += '\0';
    fp += portal.bind_digest;
    if (start_hold('E', f, portal.stmt->text, decided, &portal.params, std::move(fp), v))
      return true;
  }
  // FETCH via Parse counts against its cursor.
  auto rec = admit(v, portal.stmt->text, decided, portal.stmt->sql.get(), &portal.params);
  if (v.kind == VerdictKind::kAllow) {
    describe_for_masking(ex->portal, *rec);
    if (!rec->portal_rows) rec->portal_rows = portal.rows_sent;
    auto stmt = portal.stmt;  // track_sql_prepared may clear portals_ (DISCARD ALL)
    pending_.emplace_back('E', std::move(rec));
    if (stmt->sql) track_sql_prepared(*stmt->sql, pending_.back());
    forward(f);
  } else {
    inject_denial('P', {}, v);
  }
  return true;
}

bool PgSession::on_function_call(const pg::Frame& f) {
  auto fc = pg::parse_function_call(f.body);  // §55.7 FunctionCall
  if (!fc) return protocol_violation(fc.error().message), false;
  std::string text = "FunctionCall oid " + std::to_string(fc->function_oid);
  Verdict v = decide(text, nullptr, ActionKind::kFunctionCall);
  std::vector<std::string> params;
  for (size_t i = 0; i < fc->args.size(); ++i)
    params.push_back(render_param(fc->args[i], fc->arg_format(i)));
  auto rec = audit_statement(text, nullptr, &params, v);
  if (v.kind == VerdictKind::kAllow) {
    pending_.emplace_back('F', std::move(rec));
    forward(f);
  } else {
    inject_denial('F', {}, v);
  }
  return true;
}

}  // namespace phigate::proxy
