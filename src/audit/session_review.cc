#include "audit/session_review.h"

#include <algorithm>

namespace phigate::audit {

void SessionIndex::add(const Event& e) {
  if (e.session_id.empty()) return;
  auto it = sessions_.find(e.session_id);
  if (it == sessions_.end()) {
    if (!starts_session(e.type)) return;
    SessionSummary s;
    s.session_id = e.session_id;
    s.start_ns = e.time_ns;
    s.sub = e.sub;
    s.issuer = e.issuer;
    s.task_id = e.task_id;
    s.workflow_id = e.workflow_id;
    s.act_sub = e.act_sub;
    s.roles = e.roles;
    s.client_addr = e.client_addr;
    s.client_user = e.client_user;
    s.resource = e.resource;
    s.protocol = e.protocol;
    s.client_tls = e.client_tls;
    s.upstream_tls = e.upstream_tls;
    it = sessions_.emplace(e.session_id, std::move(s)).first;
  }
  count_session_record(it->second, e.type, e.time_ns, record_decision(e.decision),
                       e.status == "error");
}

std::vector<SessionSummary> SessionIndex::list(const SessionFilter& f) const {
  std::vector<SessionSummary> out;
  for (const auto& [id, s] : sessions_) {
    if (!f.identity.empty() && s.sub != f.identity && s.act_sub != f.identity) continue;
    if (!f.resource.empty() && s.resource != f.resource) continue;
    if (!f.task_id.empty() && s.task_id != f.task_id) continue;
    if (!f.workflow_id.empty() && s.workflow_id != f.workflow_id) continue;
    const int64_t end = s.end_ns ? s.end_ns : s.last_ns;
    if (end < f.since_ns || s.start_ns >= f.until_ns) continue;
    out.push_back(s);
  }
  std::sort(out.begin(), out.end(), [](const SessionSummary& a, const SessionSummary& b) {
    return a.start_ns != b.start_ns ? a.start_ns < b.start_ns : a.session_id < b.session_id;
  });
  return out;
}

namespace {
// A result record (SQL `result` or `http_result`) completes the entry of what it answers.
void set_result(TimelineEntry& t, const Event& e) {
  t.has_result = true;
  t.status = e.status;
  t.error_code = e.error_code;
  t.tag = e.message;
  t.rows = e.rows;
  t.bytes = e.bytes;
  t.duration_ns = e.duration_ns;
  t.masked = e.masked;
  t.capture = e.capture;
}
}  // namespace

void Timeline::add(const Event& e) {
  if (e.session_id != session_id_) return;
  if (!seen_ || (first_.type != "session_start" && e.type == "session_start")) {
    first_ = e;
    seen_ = true;
  }
  if (e.type == "http_result") {
    // An HTTP connection answers its requests one after another, so a result follows its request
    // record; one without a request record (a 400/404 refused before any decision) stands alone.
    TimelineEntry* t = nullptr;
    if (auto it = by_seq_.find(e.ref_seq); e.ref_seq != 0 && it != by_seq_.end()) {
      t = &entries_[it->second];
    } else if (!entries_.empty() && entries_.back().type == "http_request" &&
               !entries_.back().has_result) {
      t = &entries_.back();
    }
    if (t) {
      set_result(*t, e);
      return;
    }
  }
  if (e.type == "result") {
    // ref_seq names the statement; in async durability a result can be written before its
    // statement's seq was known (ref_seq 0): those pair with the oldest statement still open.
    TimelineEntry* t = nullptr;
    if (auto it = by_seq_.find(e.ref_seq); e.ref_seq != 0 && it != by_seq_.end()) {
      t = &entries_[it->second];
    } else {
      while (next_unresulted_ < entries_.size() &&
             (entries_[next_unresulted_].type != "statement" ||
              entries_[next_unresulted_].has_result ||
              entries_[next_unresulted_].decision != "allow")) {
        ++next_unresulted_;
      }
      if (next_unresulted_ < entries_.size()) t = &entries_[next_unresulted_];
    }
    if (!t) return;
    set_result(*t, e);
    return;
  }
  TimelineEntry t;
  t.seq = e.seq;
  t.time_ns = e.time_ns;
  t.type = e.type;
  t.statement = e.action;
  t.statement_kind = e.statement_kind;
  t.parameters = e.parameters;
  t.decision = e.decision;
  t.rule = e.rule;
  t.message = e.message;
  t.status = e.status;
  t.error_code = e.error_code;
  if (e.type == "statement" || e.type == "http_request") by_seq_.emplace(e.seq, entries_.size());
  entries_.push_back(std::move(t));
}

}  // namespace phigate::audit
