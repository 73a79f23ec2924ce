// HTTP session: a client that hangs up while its request is held for approval. The hold's client
// watch (http_hold.h) noticed the EOF and withdrew the request from the gate, which records the
// approval's decision `cancelled`; the session records the request as denied (cancelled) and its
// result as `cancelled`, and ends: there is no one left to answer.
#include <spdlog/spdlog.h>

#include "proxy/http_session.h"

namespace phigate::proxy {

bool HttpSession::held_client_gone(Exchange& x, const ApprovalOutcome& o) {
  spdlog::debug("http session {}: client closed while request {} was held", session_id_, o.id);
  const std::string rule = x.verdict.rule, role = x.verdict.role;
  x.verdict = Verdict::deny(rule, "approval " + o.id + " was cancelled: " + o.reason);
  x.verdict.role = role;
  record_request(x, "deny");
  // 499: nginx's "client closed request"; nothing was sent.
  x.status = 499;
  x.message = "client closed the connection while the request was held for approval " + o.id;
  record_result(x, "cancelled");
  return false;
}

}  // namespace phigate::proxy
