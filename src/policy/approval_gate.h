#pragma once
// The seam between session adapters and the approval service (DESIGN.md §1: only the approval
// stage may suspend). An adapter whose verdict is kHold asks the gate to hold the request and
// resumes when the gate calls back; it never forwards the request before an approval. The service
// behind it (approvals store, admin API, webhooks) is chosen in main.cc; tests may use a fake.
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "identity/identity.h"

namespace phigate {

struct HoldRequest {
  Identity requester;      // a copy: the held request may outlive the session's identity
  std::string session_id;  // audit session of the requester
  std::string resource;    // resource name (policy's view)
  std::string protocol;    // "postgres", "http", ...
  std::string rule, role;  // the rule (and its role) that said review
  std::string summary;     // what reviewers see: the statement text, or "METHOD /path"
  // Binds the approval to exactly this request: a digest of the statement/method+path and its
  // parameters/body. Approving one request never lets a different one through.
  std::string fingerprint;
};

enum class ApprovalDecision { kApproved, kDenied, kTimedOut, kCancelled };

struct ApprovalOutcome {
  ApprovalDecision decision = ApprovalDecision::kDenied;
  std::string id;        // request id
  std::string reviewer;  // sub of the reviewer; empty on timeout/cancel
  std::string reason;    // reviewer's reason, or why it ended
  // The HoldRequest's fingerprint the decision was made for: the adapter forwards the held request
  // only if it matches what it holds (belt and braces against an id mix-up).
  std::string fingerprint;
};

class ApprovalGate {
 public:
  virtual ~ApprovalGate() = default;
  // Registers the held request and returns its id. `done` is called exactly once, from any thread,
  // with the outcome; callers post back to their own executor. An error means the request cannot
  // be held (store unavailable, too many pending): the adapter must deny (fail closed).
  virtual Result<std::string> hold(HoldRequest request,
                                   std::function<void(ApprovalOutcome)> done) = 0;
  // Withdraws a held request whose client went away; `done` is then called with kCancelled.
  virtual void cancel(std::string_view id) = 0;
  // One line telling the held client how a reviewer approves, e.g. "phigate approvals approve ID".
  virtual std::string how_to_approve(std::string_view id) const = 0;
};

}  // namespace phigate
