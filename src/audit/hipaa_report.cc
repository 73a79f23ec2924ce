#include "audit/hipaa_report.h"

namespace phigate::audit {
namespace {

// "expired: token expired at ..." -> "expired": the token verifier's error class, which is what a
// reviewer groups by (the rest names the token's details).
std::string reason_of(const Event& e) {
  std::string m = e.message;
  if (size_t colon = m.find(':'); colon != std::string::npos && colon < 40) m.resize(colon);
  return (e.error_code.empty() ? std::string("-") : e.error_code) + " " + m;
}

}  // namespace

void HipaaTally::add(const Event& e) {
  if (e.time_ns < c_.from_ns || e.time_ns >= c_.to_ns) return;
  ++c_.records;
  if (c_.first_seq == 0) c_.first_seq = e.seq;
  c_.last_seq = e.seq;
  if (e.type == "session_start") {
    ++c_.sessions;
    if (e.sub.empty()) {
      ++c_.sessions_without_identity;
    } else {
      c_.identities.insert(e.sub);
    }
    if (!e.act_sub.empty()) c_.acting_humans.insert(e.act_sub);
    if (!e.task_id.empty()) ++c_.sessions_with_task;
    for (const auto& r : e.roles) ++c_.roles[r];
    ++c_.resources[e.resource];
    if (e.client_tls == "tls") {
      ++c_.client_tls;
    } else if (e.client_tls == "plain") {
      ++c_.client_plain;
    } else {
      ++c_.client_tls_unknown;  // written before the transport was recorded
    }
    if (!e.upstream_tls.empty()) ++c_.upstream_tls[e.upstream_tls];
  } else if (e.type == "statement") {
    ++c_.statements;
    if (e.decision == "allow") {
      ++c_.allowed;
    } else if (e.decision == "hold") {
      ++c_.held;
    } else {
      ++c_.denied;
      ++c_.denied_by_rule[e.rule.empty() ? std::string("-") : e.rule];
    }
  } else if (e.type == "result") {
    ++c_.results;
    if (e.status == "error") ++c_.result_errors;
    c_.rows_returned += e.rows;
    if (!e.capture.empty()) ++c_.captures;
    for (const auto& [k, v] : e.masked) {
      c_.masked[k] += v;
      c_.masked_total += v;
    }
  } else if (e.type == "auth_failure") {
    ++c_.auth_failures_total;
    ++c_.auth_failures[reason_of(e)];
  } else if (e.type == "upstream_failure") {
    ++c_.upstream_failures;
  } else if (e.type == "protocol_error") {
    ++c_.protocol_errors;
  } else if (e.type == "retention_prune") {
    ++c_.prunes;
  }
}

}  // namespace phigate::audit
