#pragma once
// The numbers behind `phigate report hipaa` (45 CFR 164.312 technical safeguards, issue 6): what
// phigate enforced and logged in a period, counted from the audit records whose time falls in
// [from_ns, to_ns). Fed one record at a time in seq order; rendering is the CLI's.
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "audit/event.h"

namespace phigate::audit {

struct HipaaCounts {
  int64_t from_ns = 0, to_ns = 0;
  uint64_t records = 0;                       // audit records in the period
  uint64_t first_seq = 0, last_seq = 0;       // of those records (0 when none)
  uint64_t sessions = 0;                      // session_start records
  std::set<std::string> identities;           // distinct token subjects with a session
  std::set<std::string> acting_humans;        // distinct act_sub (tasks acting for a person)
  uint64_t sessions_with_task = 0;            // sessions by a per-task identity (task_id set)
  uint64_t sessions_without_identity = 0;     // session_start with an empty sub (should stay 0)
  std::map<std::string, uint64_t> roles;      // role -> sessions that carried it
  std::map<std::string, uint64_t> resources;  // resource -> sessions
  uint64_t statements = 0, allowed = 0, denied = 0, held = 0;
  std::map<std::string, uint64_t> denied_by_rule;
  uint64_t results = 0, result_errors = 0, rows_returned = 0, captures = 0;
  std::map<std::string, uint64_t> masked;  // detector / column rule -> values masked
  uint64_t masked_total = 0;
  std::map<std::string, uint64_t> auth_failures;  // "SQLSTATE reason" -> count
  uint64_t auth_failures_total = 0;
  uint64_t upstream_failures = 0, protocol_errors = 0;
  uint64_t client_tls = 0, client_plain = 0, client_tls_unknown = 0;  // sessions by transport
  std::map<std::string, uint64_t> upstream_tls;  // "<mode>:tls|plain" -> sessions
  uint64_t prunes = 0;                           // retention_prune records
};

class HipaaTally {
 public:
  HipaaTally(int64_t from_ns, int64_t to_ns) {
    c_.from_ns = from_ns;
    c_.to_ns = to_ns;
  }
  void add(const Event& e);
  const HipaaCounts& counts() const { return c_; }

 private:
  HipaaCounts c_;
};

}  // namespace phigate::audit
