#include "admin/approval_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "admin/webhook.h"
#include "common/clock.h"
#include "common/time_text.h"
#include "common/crypto.h"

namespace phigate::admin {

namespace asio = net::asio;
using store::ApprovalRecord;

namespace {

constexpr size_t kMaxReason = 2000;
constexpr size_t kMaxListed = 1000;

ApprovalDecision decision_of(const std::string& state) {
  if (state == "approved") return ApprovalDecision::kApproved;
  if (state == "timed_out") return ApprovalDecision::kTimedOut;
  if (state == "cancelled") return ApprovalDecision::kCancelled;
  return ApprovalDecision::kDenied;
}

std::string human_duration(int64_t ns) {
  int64_t s = ns / 1'000'000'000;
  if (s > 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

audit::Event base_event(const char* type, const ApprovalRecord& r, const std::string& node_id) {
  audit::Event e;
  e.time_ns = now_ns();
  e.node_id = node_id;
  e.type = type;
  e.session_id = r.session_id;
  e.resource = r.resource;
  e.protocol = r.protocol;
  e.action = r.summary;
  e.rule = r.rule;
  e.approval_id = r.id;
  return e;
}

}  // namespace

std::string rfc3339(int64_t ns) {
  return ns <= 0 ? std::string() : utc_rfc3339(ns / 1'000'000'000);
}

nlohmann::json approval_json(const ApprovalRecord& r) {
  nlohmann::json j = {{"id", r.id},
                      {"kind", r.kind},
                      {"state", r.state},
                      {"requester", {{"sub", r.sub}, {"issuer", r.issuer}}},
                      {"resource", r.resource},
                      {"protocol", r.protocol},
                      {"rule", r.rule},
                      {"role", r.role},
                      {"summary", r.summary},
                      {"fingerprint", r.fingerprint},
                      {"session_id", r.session_id},
                      {"created_at", rfc3339(r.created_ns)},
                      {"deadline", rfc3339(r.deadline_ns)}};
  if (!r.act_sub.empty()) j["requester"]["act_sub"] = r.act_sub;
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (r.decided_ns) j["decided_at"] = rfc3339(r.decided_ns);
  if (!r.reviewer_sub.empty())
    j["reviewer"] = {{"sub", r.reviewer_sub}, {"issuer", r.reviewer_issuer}};
  if (!r.decision_reason.empty()) j["decision_reason"] = r.decision_reason;
  if (r.kind == "access") {
    j["duration_seconds"] = r.duration_ns / 1'000'000'000;
    if (r.grant_expires_ns) {
      j["expires_at"] = rfc3339(r.grant_expires_ns);
      j["active"] = r.state == "approved" && now_ns() < r.grant_expires_ns;
    }
  }
  return j;
}

ApprovalService::ApprovalService(asio::io_context& ctx, store::ApprovalStore& store,
                                 audit::Log* audit, const PolicyHolder& policy, GrantHolder& grants,
                                 Notifier* notifier, std::string node_id, ApprovalLimits limits)
    : ctx_(ctx),
      store_(store),
      audit_(audit),
      policy_(policy),
      grants_(grants),
      notifier_(notifier),
      node_id_(std::move(node_id)),
      limits_(limits) {}

ApprovalService::~ApprovalService() {
  std::lock_guard lock(mu_);
  for (auto& [id, live] : live_)
    if (live.timer) live.timer->cancel();
}

std::chrono::milliseconds ApprovalService::timeout() const {
  return policy_.get()->config().approvals.timeout;
}

Status ApprovalService::start() {
  auto pending = store_.list("pending", "", std::numeric_limits<int32_t>::max());
  if (!pending) return pending.error();
  int64_t now = now_ns();
  for (auto& r : *pending) {
    Live live;
    live.record = r;
    live.requester.sub = r.sub;
    live.requester.issuer = r.issuer;
    live.requester.act_sub = r.act_sub;
    if (r.kind != "access") {
      // The session that held it died with the previous process: nothing can run it any more.
      finish(std::move(live), "cancelled", nullptr, "gateway restarted while held");
    } else if (r.deadline_ns <= now) {
      finish(std::move(live), "timed_out", nullptr, "no decision before the deadline");
    } else {
      std::string id = r.id;
      int64_t deadline = r.deadline_ns;
      {
        std::lock_guard lock(mu_);
        live_.emplace(id, std::move(live));
      }
      arm_timer(id, deadline);
    }
  }
  auto active = store_.active_grants(now);
  if (!active) return active.error();
  std::lock_guard lock(mu_);
  for (auto& r : *active)
    grant_list_.push_back(Grant{r.id, r.sub, r.issuer, r.resource, r.role, r.grant_expires_ns});
  publish_grants();
  return ok_status();
}

std::string ApprovalService::new_id() {
  // 12 hex characters (48 bits): short enough to type in `phigate approvals approve ID`.
  for (int i = 0; i < 8; ++i) {
    std::string id = random_id().substr(0, 12);
    auto existing = store_.get(id);
    if (existing && !existing->has_value()) return id;
  }
  return random_id();
}

Result<std::string> ApprovalService::hold(HoldRequest req,
                                          std::function<void(ApprovalOutcome)> done) {
  {
    std::lock_guard lock(mu_);
    if (live_.size() >= limits_.max_pending)
      return make_error("overloaded", "too many requests are waiting for approval");
    size_t mine = 0;
    for (auto& [id, l] : live_)
      if (l.record.sub == req.requester.sub && l.record.issuer == req.requester.issuer) ++mine;
    if (mine >= limits_.max_pending_per_requester)
      return make_error("overloaded", "this identity already has " + std::to_string(mine) +
                                          " requests waiting for approval");
  }
  ApprovalRecord r;
  r.id = new_id();
  r.kind = "statement";
  r.state = "pending";
  r.sub = req.requester.sub;
  r.issuer = req.requester.issuer;
  r.act_sub = req.requester.act_sub;
  r.session_id = req.session_id;
  r.resource = req.resource;
  r.protocol = req.protocol;
  r.rule = req.rule;
  r.role = req.role;
  r.summary = std::move(req.summary);
  r.fingerprint = std::move(req.fingerprint);
  r.created_ns = now_ns();
  r.deadline_ns = r.created_ns + std::chrono::nanoseconds(timeout()).count();
  std::string id = r.id;
  int64_t deadline = r.deadline_ns;
  // Live before anyone hears of it: `approvals list` reads the store, so a reviewer who finds the
  // request there must find it live too (storing first let a quick reviewer get "not found"
  // instead of the answer for a pending request), and a webhook receiver may decide at once.
  Identity requester = req.requester;
  {
    std::lock_guard lock(mu_);
    Live live;
    live.record = r;
    live.requester = std::move(req.requester);
    live.done = std::move(done);
    live_.emplace(id, std::move(live));
  }
  if (auto st = store_.put(r); !st) {
    spdlog::error("approvals: cannot store request: {}", st.error().message);
    std::lock_guard lock(mu_);
    live_.erase(id);  // nobody could have found it: it was never listed or announced
    return make_error("unavailable", "the approval store is unavailable");
  }
  audit_request(r, requester);
  notify("approval_request", r);
  arm_timer(id, deadline);
  return id;
}

void ApprovalService::cancel(std::string_view id) {
  Live live;
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(std::string(id));
    if (it == live_.end()) return;
    live = std::move(it->second);
    live_.erase(it);
  }
  finish(std::move(live), "cancelled", nullptr, "the client went away");
}

void ApprovalService::cancel_session(std::string_view session_id) {
  std::vector<Live> ended;
  {
    std::lock_guard lock(mu_);
    for (auto it = live_.begin(); it != live_.end();) {
      if (it->second.done && it->second.record.session_id == session_id) {
        ended.push_back(std::move(it->second));
        it = live_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& live : ended) finish(std::move(live), "cancelled", nullptr, "the client cancelled it");
}

std::string ApprovalService::how_to_approve(std::string_view id) const {
  std::string ids(id);
  return "a reviewer approves with `phigate approvals approve " + ids +
         "` (or POST /v1/approvals/" + ids + "/approve on the admin API)";
}

void ApprovalService::arm_timer(const std::string& id, int64_t deadline_ns) {
  asio::post(ctx_, [this, id, deadline_ns] {
    std::shared_ptr<asio::steady_timer> timer;
    {
      std::lock_guard lock(mu_);
      auto it = live_.find(id);
      if (it == live_.end()) return;  // decided before the timer existed
      timer = std::make_shared<asio::steady_timer>(ctx_);
      it->second.timer = timer;
    }
    int64_t left = std::max<int64_t>(0, deadline_ns - now_ns());
    timer->expires_after(std::chrono::nanoseconds(left));
    timer->async_wait([this, id](const net::error_code& ec) {
      if (!ec) on_deadline(id);
    });
  });
}

void ApprovalService::on_deadline(const std::string& id) {
  Live live;
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return;
    live = std::move(it->second);
    live_.erase(it);
  }
  finish(std::move(live), "timed_out", nullptr, "no reviewer decided within the approval timeout");
}

void ApprovalService::finish(Live live, const std::string& state, const Identity* reviewer,
                             const std::string& reason) {
  if (live.timer) asio::post(ctx_, [t = live.timer] { t->cancel(); });
  ApprovalRecord& r = live.record;
  r.state = state;
  r.decided_ns = now_ns();
  r.decision_reason = reason;
  if (reviewer) {
    r.reviewer_sub = reviewer->sub;
    r.reviewer_issuer = reviewer->issuer;
  }
  if (r.kind == "access" && state == "approved") r.grant_expires_ns = r.decided_ns + r.duration_ns;
  if (auto st = store_.put(r); !st)
    spdlog::error("approvals: cannot store the outcome of {}: {}", r.id, st.error().message);
  if (r.kind == "access" && state == "approved") {
    std::lock_guard lock(mu_);
    grant_list_.push_back(Grant{r.id, r.sub, r.issuer, r.resource, r.role, r.grant_expires_ns});
    publish_grants();
  }
  audit_decision(r, reviewer ? reviewer : &live.requester);
  notify("approval_decision", r);
  if (live.done) {
    ApprovalOutcome out;
    out.decision = decision_of(state);
    out.id = r.id;
    out.reviewer = r.reviewer_sub;
    out.reason = reason;
    out.fingerprint = r.fingerprint;
    live.done(std::move(out));
  }
}

void ApprovalService::publish_grants() {
  int64_t now = now_ns();
  std::erase_if(grant_list_, [now](const Grant& g) { return g.expires_ns <= now; });
  grants_.set(std::make_shared<const GrantSet>(grant_list_));
}

bool ApprovalService::same_person(const Identity& a, std::string_view b_sub,
                                  std::string_view b_issuer, std::string_view b_act) {
  if (a.issuer != b_issuer) return false;
  if (a.sub == b_sub) return true;
  if (!a.act_sub.empty() && (a.act_sub == b_sub || a.act_sub == b_act)) return true;
  if (!b_act.empty() && b_act == a.sub) return true;
  return false;
}

bool ApprovalService::can_review(const Identity& reviewer, const std::string& resource) const {
  auto snap = policy_.get();
  for (const std::string& role_name : reviewer.roles) {
    const RoleConfig* role = snap->config().find_role(role_name);
    if (!role) continue;
    if (std::find(role->approve.begin(), role->approve.end(), resource) != role->approve.end())
      return true;
  }
  return false;
}

bool ApprovalService::is_reviewer(const Identity& id) const {
  auto snap = policy_.get();
  for (const std::string& role_name : id.roles) {
    const RoleConfig* role = snap->config().find_role(role_name);
    if (role && !role->approve.empty()) return true;
  }
  return false;
}

bool ApprovalService::visible(const Identity& caller, const ApprovalRecord& r) const {
  return (caller.sub == r.sub && caller.issuer == r.issuer) || can_review(caller, r.resource);
}

Result<ApprovalRecord> ApprovalService::decide(const std::string& id, const Identity& reviewer,
                                               bool approve, const std::string& reason) {
  if (reason.size() > kMaxReason) return make_error("bad_request", "reason is too long");
  if (!approve && reason.empty())
    return make_error("bad_request", "a denial needs a reason (--reason / {\"reason\": ...})");
  Live live;
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(id);
    if (it == live_.end()) {
      // Not pending: tell the caller whether it exists (only if they may see it).
      auto stored = store_.get(id);
      if (!stored) return make_error("unavailable", "the approval store is unavailable");
      if (!stored->has_value() || !visible(reviewer, **stored))
        return make_error("not_found", "no approval request " + id);
      return make_error("conflict", "request " + id + " is " + (*stored)->state + ", not pending");
    }
    const ApprovalRecord& r = it->second.record;
    // Someone who neither owns it nor reviews anything does not learn that it exists; a reviewer
    // of other resources is told why they cannot decide it.
    if (!visible(reviewer, r) && !is_reviewer(reviewer))
      return make_error("not_found", "no approval request " + id);
    if (!can_review(reviewer, r.resource)) {
      return make_error("forbidden", "identity \"" + reviewer.sub +
                                         "\" holds no role whose approve: lists resource \"" +
                                         r.resource + "\"");
    }
    if (same_person(reviewer, r.sub, r.issuer, r.act_sub))
      return make_error("forbidden",
                        "four-eyes rule: the requester cannot decide their own request");
    live = std::move(it->second);
    live_.erase(it);
  }
  std::string state = approve ? "approved" : "denied";
  finish(std::move(live), state, &reviewer, reason);
  auto stored = store_.get(id);
  if (stored && stored->has_value()) return **stored;
  return make_error("unavailable", "the decision was applied but cannot be read back");
}

Result<ApprovalRecord> ApprovalService::request_access(const Identity& requester,
                                                       const std::string& resource,
                                                       const std::string& role, int64_t duration_ns,
                                                       const std::string& reason) {
  auto snap = policy_.get();
  const Config& cfg = snap->config();
  if (!cfg.find_resource(resource))
    return make_error("bad_request", "resource \"" + resource + "\" is not defined");
  const RoleConfig* rc = cfg.find_role(role);
  if (!rc) return make_error("bad_request", "role \"" + role + "\" is not defined");
  if (std::find(rc->resources.begin(), rc->resources.end(), resource) == rc->resources.end())
    return make_error("bad_request",
                      "role \"" + role + "\" does not list resource \"" + resource + "\"");
  int64_t max_ns = std::chrono::nanoseconds(limits_.max_access_window).count();
  if (duration_ns < 1'000'000'000 || duration_ns > max_ns)
    return make_error("bad_request", "duration must be between 1s and " + human_duration(max_ns));
  if (reason.empty()) return make_error("bad_request", "a reason is required");
  if (reason.size() > kMaxReason) return make_error("bad_request", "reason is too long");
  {
    std::lock_guard lock(mu_);
    if (live_.size() >= limits_.max_pending)
      return make_error("overloaded", "too many requests are waiting for approval");
    size_t mine = 0;
    for (auto& [id, l] : live_)
      if (l.record.sub == requester.sub && l.record.issuer == requester.issuer) ++mine;
    if (mine >= limits_.max_pending_per_requester)
      return make_error("overloaded", "too many of your requests are waiting for approval");
  }
  ApprovalRecord r;
  r.id = new_id();
  r.kind = "access";
  r.state = "pending";
  r.sub = requester.sub;
  r.issuer = requester.issuer;
  r.act_sub = requester.act_sub;
  r.resource = resource;
  r.protocol = "access";
  r.role = role;
  r.reason = reason;
  r.duration_ns = duration_ns;
  r.summary = "role " + role + " on " + resource + " for " + human_duration(duration_ns);
  r.fingerprint = to_hex(sha256(r.sub + '\n' + r.issuer + '\n' + resource + '\n' + role + '\n' +
                                std::to_string(duration_ns)));
  r.created_ns = now_ns();
  r.deadline_ns = r.created_ns + std::chrono::nanoseconds(timeout()).count();
  if (auto st = store_.put(r); !st)
    return make_error("unavailable", "approval store: " + st.error().message);
  audit_request(r, requester);
  {
    std::lock_guard lock(mu_);
    Live live;
    live.record = r;
    live.requester = requester;
    live_.emplace(r.id, std::move(live));
  }
  notify("approval_request", r);
  arm_timer(r.id, r.deadline_ns);
  return r;
}

Result<std::vector<ApprovalRecord>> ApprovalService::list(const Identity& caller,
                                                          const std::string& state,
                                                          const std::string& kind) {
  auto all = store_.list(state, kind, kMaxListed);
  if (!all) return make_error("unavailable", "approval store: " + all.error().message);
  std::vector<ApprovalRecord> out;
  for (auto& r : *all)
    if (visible(caller, r)) out.push_back(std::move(r));
  return out;
}

Result<ApprovalRecord> ApprovalService::get(const Identity& caller, const std::string& id) {
  auto r = store_.get(id);
  if (!r) return make_error("unavailable", "approval store: " + r.error().message);
  if (!r->has_value() || !visible(caller, **r))
    return make_error("not_found", "no approval request " + id);
  return **r;
}

void ApprovalService::audit_request(const ApprovalRecord& r, const Identity& requester) {
  if (!audit_) return;
  audit::Event e = base_event("approval_request", r, node_id_);
  audit::set_identity(e, requester);
  e.decision = "hold";
  e.status = "pending";
  e.message = r.kind == "access" ? r.reason : std::string();
  audit_->append(std::move(e));
}

void ApprovalService::audit_decision(const ApprovalRecord& r, const Identity* actor) {
  if (!audit_) return;
  audit::Event e = base_event("approval_decision", r, node_id_);
  if (actor) audit::set_identity(e, *actor);
  e.decision = r.state;
  e.status = r.state;
  e.approver = r.reviewer_sub;
  e.message = r.decision_reason;
  audit_->append(std::move(e));
}

void ApprovalService::notify(const char* event, const ApprovalRecord& r) {
  if (!notifier_) return;
  nlohmann::json j = approval_json(r);
  j["event"] = event;
  j["node_id"] = node_id_;
  if (r.state == "pending") j["how_to_approve"] = how_to_approve(r.id);
  notifier_->send(std::move(j));
}

}  // namespace phigate::admin
