#pragma once
// The approval service behind ApprovalGate (DESIGN.md §1 "only the approval stage may suspend"):
// held requests and JIT access requests, their durable state (store::ApprovalStore), reviewers'
// decisions, timeouts (approvals.timeout), the grant set the data path reads, audit events and
// webhooks.
//
// Rules (issue 4):
// - A reviewer needs a role (from their token, never from a JIT grant) whose `approve:` lists the
//   request's resource.
// - Four-eyes: the reviewer must be a different person than the requester: same issuer and the
//   same sub, or either side's act.sub (the human a task token acts for) naming the other, is
//   refused.
// - Only pending requests can be decided; the first decision wins (409 afterwards).
// - A statement approval is bound to one held request and its fingerprint; nothing is reusable.
//
// Threading: hold()/cancel() come from io threads, decisions from the admin thread, timers run on
// `ctx` (the admin io_context). One mutex guards the live map; it is never held while calling a
// requester's callback, the audit log or the notifier.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/log.h"
#include "net/asio.h"
#include "policy/approval_gate.h"
#include "policy/grants.h"
#include "policy/snapshot.h"
#include "store/approval_store.h"

namespace phigate::admin {

class Notifier;

struct ApprovalLimits {
  size_t max_pending = 1000;              // across all requesters
  size_t max_pending_per_requester = 20;  // one identity cannot flood reviewers
  std::chrono::hours max_access_window{24 * 7};
};

class ApprovalService : public ApprovalGate {
 public:
  ApprovalService(net::asio::io_context& ctx, store::ApprovalStore& store, audit::Log* audit,
                  const PolicyHolder& policy, GrantHolder& grants, Notifier* notifier,
                  std::string node_id, ApprovalLimits limits = {});
  ~ApprovalService() override;

  // Restores state after a restart: statement holds left pending by a previous process are
  // cancelled (their sessions are gone), pending access requests get their timers back, approved
  // grants still running are published.
  Status start();

  // ApprovalGate
  Result<std::string> hold(HoldRequest request, std::function<void(ApprovalOutcome)> done) override;
  void cancel(std::string_view id) override;
  std::string how_to_approve(std::string_view id) const override;

  // Error codes: "not_found" (404), "forbidden" (403), "conflict" (409), "bad_request" (400),
  // "unavailable" (503, store failure).
  Result<store::ApprovalRecord> decide(const std::string& id, const Identity& reviewer,
                                       bool approve, const std::string& reason);
  Result<store::ApprovalRecord> request_access(const Identity& requester,
                                               const std::string& resource, const std::string& role,
                                               int64_t duration_ns, const std::string& reason);
  // What `caller` may see: their own requests and those they may review.
  Result<std::vector<store::ApprovalRecord>> list(const Identity& caller, const std::string& state,
                                                  const std::string& kind);
  Result<store::ApprovalRecord> get(const Identity& caller, const std::string& id);

  bool can_review(const Identity& reviewer, const std::string& resource) const;
  static bool same_person(const Identity& a, std::string_view b_sub, std::string_view b_issuer,
                          std::string_view b_act);
  // The timeout in effect (approvals.timeout of the current policy snapshot).
  std::chrono::milliseconds timeout() const;

 private:
  struct Live {
    store::ApprovalRecord record;
    Identity requester;
    std::function<void(ApprovalOutcome)> done;  // null for access requests
    std::shared_ptr<net::asio::steady_timer> timer;
  };
  // Ends a live request: updates the record (state, reviewer, reason), stores it, publishes
  // grants, audits, notifies and calls back. `reviewer` null for timeouts and cancellations.
  void finish(Live live, const std::string& state, const Identity* reviewer,
              const std::string& reason);
  void arm_timer(const std::string& id, int64_t deadline_ns);
  void on_deadline(const std::string& id);
  void publish_grants();  // caller holds mu_
  void audit_request(const store::ApprovalRecord& r, const Identity& requester);
  void audit_decision(const store::ApprovalRecord& r, const Identity* actor);
  void notify(const char* event, const store::ApprovalRecord& r);
  bool visible(const Identity& caller, const store::ApprovalRecord& r) const;
  std::string new_id();

  net::asio::io_context& ctx_;
  store::ApprovalStore& store_;
  audit::Log* audit_;
  const PolicyHolder& policy_;
  GrantHolder& grants_;
  Notifier* notifier_;
  std::string node_id_;
  ApprovalLimits limits_;

  mutable std::mutex mu_;
  std::map<std::string, Live> live_;  // pending requests by id
  std::vector<Grant> grant_list_;     // approved windows, pruned of expired ones on publish
  // Decisions/timeouts in flight; the destructor waits for none (callbacks only post).
};

// JSON view of a record for the admin API and webhooks (times as RFC 3339 UTC).
nlohmann::json approval_json(const store::ApprovalRecord& r);
std::string rfc3339(int64_t ns);

}  // namespace phigate::admin
