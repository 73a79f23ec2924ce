#pragma once
// One audit record (DESIGN.md §7). Values only, never secrets: tokens and upstream passwords never
// appear here; bind parameters are rendered safely by the adapter (text escaped, binary as hex).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::audit {

struct Event {
  // Assigned by the log when appended:
  uint64_t seq = 0;
  std::string node_id;
  std::string prev_hash;  // hex SHA-256 of the previous record ("" for seq 1 → 64 zeros)
  std::string hash;       // hex SHA-256 over prev_hash and the canonical encoding

  int64_t time_ns = 0;
  std::string session_id;
  // session_start, session_end, auth_failure, statement, result, cancel, protocol_error,
  // approval_request, approval_decision, admin_request
  std::string type;

  // identity chain
  std::string sub, issuer, jti, task_id, workflow_id, act_sub;
  std::vector<std::string> groups, roles;
  std::string client_user;  // startup `user`, as the client declared it
  std::string client_addr;
  // Appended fields: omitted from the canonical encoding while empty (canonical.h).
  std::string act_chain;  // nested RFC 8693 act subs, top level first, joined by '>'

  std::string resource, protocol;
  std::string action;                   // statement text / method+path / command
  std::string statement_kind;           // e.g. "select", "insert,select" for multi-statement
  std::vector<std::string> parameters;  // rendered bind parameters
  std::string decision;                 // allow | deny | hold | error
  std::string rule, approver, message;

  // result
  uint64_t ref_seq = 0;  // for `result`: seq of the statement record it completes
  std::string status;    // ok | error | denied | cancelled
  uint64_t rows = 0, bytes = 0;
  std::string error_code;  // SQLSTATE
  int64_t duration_ns = 0;
  std::map<std::string, uint64_t> masked;  // detector/column rule -> count

  // Appended later: optional fields, omitted from the canonical encoding while empty so records
  // written before they existed keep their bytes and hashes (canonical.h).
  // `result`: hex SHA-256 of the captured result blob (the first rows as sent to the client,
  // audit/capture_blob.h), stored in the blob store under that name.
  std::string capture;
  // `session_start`: the transports. client_tls "tls" | "plain"; upstream_tls
  // "<resource upstream_tls mode>:tls" | "<mode>:plain" (e.g. "prefer:plain").
  std::string client_tls, upstream_tls;
  // approval_request / approval_decision events and statements run after an approval.
  std::string approval_id;
};

// A record of a decision on one statement or request (SQL `statement`, `http_request`), and one
// of its outcome (`result`, `http_result`): what session summaries and metrics count.
inline bool is_decision_record(std::string_view type) {
  return type == "statement" || type == "http_request";
}
inline bool is_result_record(std::string_view type) {
  return type == "result" || type == "http_result";
}

// Copies who acted into `e`: the identity chain fields, the same in every record type and
// adapter. A template so the audit sink need not know the identity module's type (any value with
// these members, in practice phigate::Identity).
template <class Id>
void set_identity(Event& e, const Id& id) {
  e.sub = id.sub;
  e.issuer = id.issuer;
  e.jti = id.jti;
  e.task_id = id.task_id;
  e.workflow_id = id.workflow_id;
  e.act_sub = id.act_sub;
  e.act_chain = id.act_chain;
  e.groups = id.groups;
  e.roles = id.roles;
}

}  // namespace phigate::audit
