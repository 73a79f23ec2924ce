// In-line JIT approval (issue 4): a statement whose verdict is kHold is not forwarded. The client
// gets a NoticeResponse (§55.2.7: allowed at any time) naming the request, later messages wait
// behind the held one, and the approval gate's outcome either forwards the exact held message on
// this live session or turns it into phigate's usual denial (the marker mechanism, so the
// transaction state the server reports stays truthful). The session's coroutines never block the
// io thread while waiting: they sit on a timer that the outcome (posted to this executor) cancels.
#include <spdlog/spdlog.h>

#include "codec/pg/encoder.h"
#include "common/crypto.h"
#include "proxy/pg_session.h"

#include "codec/pg/decoder.h"

namespace phigate::proxy {

namespace asio = net::asio;
using net::awaitable;
using net::error_code;

namespace {
// Pipelined bytes read from the client while a statement is held; beyond this phigate stops
// reading (TCP backpressure) until the hold ends.
constexpr size_t kHeldBacklog = 1 << 20;
constexpr size_t kHoldReadChunk = 16384;
constexpr size_t kMaxSummaryParams = 32;

std::string summary_of(std::string_view text, const std::vector<std::string>* params) {
  std::string s(text.substr(0, 64 * 1024));
  if (text.size() > s.size()) s += " ...";
  if (params && !params->empty()) {
    s += "\n-- parameters:";
    for (size_t i = 0; i < params->size() && i < kMaxSummaryParams; ++i)
      s += " $" + std::to_string(i + 1) + "=" + (*params)[i];
    if (params->size() > kMaxSummaryParams) s += " ...";
  }
  return s;
}
}  // namespace

bool PgSession::start_hold(char kind, const pg::Frame& f, std::string_view text,
                           std::shared_ptr<const sql::Classification> cls,
                           const std::vector<std::string>* params, std::string fingerprint,
                           Verdict& v) {
  if (!ctx_.approvals) {
    v = Verdict::deny(v.rule,
                      "statement requires approval, but no approval service is "
                      "configured (listen.admin)");
    return false;
  }
  auto held = std::make_unique<Held>();
  held->kind = kind;
  pg::encode_frame(held->frame, f.type, f.body);
  held->text = std::string(text);
  held->sql = std::move(cls);
  if (params) held->params = *params;
  held->fingerprint = to_hex(sha256(fingerprint));
  held->verdict = v;

  HoldRequest req;
  req.requester = identity_;
  req.session_id = session_id_;
  req.resource = resource_;
  req.protocol = "postgres";
  req.rule = v.rule;
  req.role = v.role;
  req.summary = summary_of(text, params);
  req.fingerprint = held->fingerprint;
  auto weak = weak_from_this();
  auto ex = client_->executor();
  auto id = ctx_.approvals->hold(std::move(req), [weak, ex](ApprovalOutcome out) {
    asio::post(ex, [weak, out = std::move(out)]() mutable {
      if (auto self = weak.lock()) self->on_outcome(std::move(out));
    });
  });
  if (!id) {
    v = Verdict::deny(v.rule,
                      "statement requires approval, but it cannot be held: " + id.error().message);
    return false;
  }
  held->id = *id;
  audit_statement(text, held->sql.get(), params, v, nullptr);
  held_ = std::move(held);
  if (!wake_) wake_ = std::make_unique<asio::steady_timer>(client_->executor());
  return true;
}

void PgSession::on_outcome(ApprovalOutcome out) {
  if (!held_ || held_->resolved || held_->id != out.id) return;
  held_->resolved = true;
  held_->outcome = std::move(out);
  wake();
}

void PgSession::wake() {
  if (wake_) wake_->cancel();
}

void PgSession::resume_hold() {
  std::unique_ptr<Held> h = std::move(held_);
  const ApprovalOutcome& out = h->outcome;
  std::string why;
  bool approved = false;
  switch (out.decision) {
    case ApprovalDecision::kApproved:
      approved = out.fingerprint == h->fingerprint;
      if (!approved) why = "approval " + h->id + " does not match the held statement";
      break;
    case ApprovalDecision::kDenied:
      why = "approval " + h->id + " denied by " + out.reviewer +
            (out.reason.empty() ? std::string() : ": " + out.reason);
      break;
    case ApprovalDecision::kTimedOut:
      why = "approval " + h->id + " timed out: " + out.reason;
      break;
    case ApprovalDecision::kCancelled:
      why = "approval " + h->id + " was cancelled: " + out.reason;
      break;
  }
  Verdict v;
  if (approved) {
    // Decided again now: a policy reload or an expired access window since the hold may deny.
    // An approval lifts the hold only: the deciding role's masking and max_rows still apply.
    Verdict now = decide(h->text, h->sql);
    if (now.kind == VerdictKind::kAllow || now.kind == VerdictKind::kHold) {
      v = now;
      v.kind = VerdictKind::kAllow;
      v.message.clear();
      if (now.kind == VerdictKind::kHold) v.rule = h->verdict.rule;
    } else {
      v = now;
    }
  } else {
    v = Verdict::deny(h->verdict.rule, why);
    v.role = h->verdict.role;
    // Cancelled by the client (CancelRequest): the SQLSTATE psql and drivers expect for a cancel.
    if (out.decision == ApprovalDecision::kCancelled) v.code = "57014";
  }
  const std::vector<std::string>* params = h->kind == 'E' ? &h->params : nullptr;
  auto rec = admit(v, h->text, h->sql, h->sql.get(), params, &out);
  if (v.kind == VerdictKind::kAllow) {
    if (h->kind == 'E') {
      // The held frame is the Execute: its portal gets phigate's Describe first, as on_execute
      // does, so masking has the column plan.
      if (auto d = pg::decode_frame(h->frame, pg::kDefaultMaxFrontendLen);
          d.status == pg::DecodeStatus::kMessage) {
        if (auto ex = pg::parse_execute(d.message.body)) describe_for_masking(ex->portal, *rec);
      }
    }
    pending_.emplace_back(h->kind, std::move(rec));
    if (h->kind == 'Q' && h->sql) track_sql_prepared(*h->sql, pending_.back());
    to_server_.insert(to_server_.end(), h->frame.begin(), h->frame.end());
  } else {
    inject_denial(h->kind == 'Q' ? 'Q' : 'P', {}, v);
  }
}

awaitable<bool> PgSession::send_hold_notice() {
  held_->notice_sent = true;
  std::string text = "statement held for approval: request " + held_->id + "; " +
                     ctx_.approvals->how_to_approve(held_->id) +
                     ". It runs when approved; a denial or timeout returns an error.";
  Bytes notice;
  pg::encode_notice(notice, "NOTICE", "00000", text);
  error_code ec;
  co_await write_client(asio::buffer(notice), ec);
  co_return !ec;
}

awaitable<bool> PgSession::wait_held() {
  for (;;) {
    if (client_gone_) co_return false;
    if (held_ && held_->resolved) co_return true;
    if (!held_ && !reader_active_) co_return true;
    if (held_ && !reader_active_ && cin_.size() < kHeldBacklog) {
      reader_active_ = true;
      auto self = shared_from_this();
      asio::co_spawn(
          net::io_executor(client_->executor()), [self]() { return self->hold_reader(); },
          asio::detached);
    }
    wake_->expires_at(asio::steady_timer::time_point::max());
    error_code ec;
    co_await wake_->async_wait(asio::redirect_error(net::use_awaitable, ec));
  }
}

// Reads once from the client into cin_ (through its own buffer: the client loop may reshape cin_
// meanwhile), so a disconnect is noticed and pipelined messages queue up while a hold waits.
awaitable<void> PgSession::hold_reader() {
  reader_buf_.resize(kHoldReadChunk);
  error_code ec;
  size_t n = co_await client_->read_some(asio::buffer(reader_buf_.data(), reader_buf_.size()), ec);
  if (ec || n == 0) {
    client_gone_ = true;
  } else {
    cin_.append(ByteSpan(reader_buf_.data(), n));
  }
  reader_active_ = false;
  wake();
}

awaitable<void> PgSession::write_client(asio::const_buffer buf, error_code& ec) {
  while (client_busy_) {
    if (!client_idle_) client_idle_ = std::make_unique<asio::steady_timer>(client_->executor());
    client_idle_->expires_at(asio::steady_timer::time_point::max());
    error_code ignored;
    co_await client_idle_->async_wait(asio::redirect_error(net::use_awaitable, ignored));
  }
  client_busy_ = true;
  co_await client_->write_all(buf, ec);
  client_busy_ = false;
  if (client_idle_) client_idle_->cancel();
}

}  // namespace phigate::proxy
