#pragma once
// Reading the audit log back for people (issue 6): per-session summaries (`phigate sessions list`)
// and one session's statement timeline (`phigate replay`). Pure functions of the event stream: fed
// one record at a time from Store::scan, in seq order, so a reader needs no store-specific query.
// Memory: one summary per session (list) or one entry per statement of one session (replay).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audit/event.h"

namespace phigate::audit {

struct SessionSummary {
  std::string session_id;
  int64_t start_ns = 0, end_ns = 0;  // end_ns 0: no session_end record (still open, or crashed)
  int64_t last_ns = 0;               // newest record of the session
  std::string sub, issuer, task_id, workflow_id, act_sub;
  std::vector<std::string> roles;
  std::string client_addr, client_user, resource, protocol;
  std::string client_tls, upstream_tls;
  uint64_t statements = 0, allowed = 0, denied = 0, held = 0, errors = 0;
};

// A record of type session_start (SQL) or http_request (an HTTP connection has no session_start)
// starts its session: before it, a session id is not a session (an auth failure carries one too).
inline bool starts_session(std::string_view type) {
  return type == "session_start" || type == "http_request";
}

enum class RecordDecision { kAllow, kHold, kOther };
inline RecordDecision record_decision(std::string_view decision) {
  return decision == "allow"  ? RecordDecision::kAllow
         : decision == "hold" ? RecordDecision::kHold
                              : RecordDecision::kOther;
}

// One record's share of its session's counters (SessionSummary's, or a store index's with the
// same members): SessionIndex and the stores' session indexes count with this one rule, so a
// listing from an index equals one from the records. `error`: a result record with status error.
template <class Counts>
void count_session_record(Counts& c, std::string_view type, int64_t time_ns,
                          RecordDecision decision, bool error) {
  c.last_ns = std::max(c.last_ns, time_ns);
  if (is_decision_record(type)) {
    ++c.statements;
    if (decision == RecordDecision::kAllow) {
      ++c.allowed;
    } else if (decision == RecordDecision::kHold) {
      ++c.held;
    } else {
      ++c.denied;
    }
  } else if (is_result_record(type) && error) {
    ++c.errors;
  } else if (type == "session_end") {
    c.end_ns = time_ns;
  }
}

struct SessionFilter {
  std::string identity;  // matches sub or act_sub (the human a task acts for)
  std::string resource, task_id, workflow_id;
  int64_t since_ns = std::numeric_limits<int64_t>::min();  // session active at or after
  int64_t until_ns = std::numeric_limits<int64_t>::max();  // session started before
};

class SessionIndex {
 public:
  void add(const Event& e);
  // A session summarised elsewhere (a store's session index) from the records up to some seq;
  // add() then continues it with the later records exactly as if it had seen the earlier ones.
  void seed(SessionSummary s) { sessions_.insert_or_assign(s.session_id, std::move(s)); }
  // Sessions that had a session_start record and match, oldest start first.
  std::vector<SessionSummary> list(const SessionFilter& f) const;

 private:
  std::unordered_map<std::string, SessionSummary> sessions_;
};

struct TimelineEntry {
  uint64_t seq = 0;  // of the record this entry comes from
  int64_t time_ns = 0;
  std::string type;  // statement, or another event type of the session (cancel, session_start…)
  std::string statement, statement_kind;
  std::vector<std::string> parameters;
  std::string decision, rule, message;
  bool has_result = false;
  std::string status, error_code, tag;
  uint64_t rows = 0, bytes = 0;
  int64_t duration_ns = 0;
  std::map<std::string, uint64_t> masked;
  std::string capture;  // blob hash
};

class Timeline {
 public:
  explicit Timeline(std::string session_id) : session_id_(std::move(session_id)) {}
  void add(const Event& e);
  const std::vector<TimelineEntry>& entries() const { return entries_; }
  // The session's first record (identity, client, resource), if any was seen.
  const Event* first() const { return seen_ ? &first_ : nullptr; }

 private:
  std::string session_id_;
  std::vector<TimelineEntry> entries_;
  std::unordered_map<uint64_t, size_t> by_seq_;  // statement seq -> entry
  size_t next_unresulted_ = 0;                   // results without ref_seq pair in order
  Event first_;
  bool seen_ = false;
};

}  // namespace phigate::audit
