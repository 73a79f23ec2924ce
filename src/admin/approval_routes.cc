#include "admin/approval_routes.h"

#include "common/duration.h"

namespace phigate::admin {

namespace {

constexpr const char* kStates[] = {"", "pending", "approved", "denied", "timed_out", "cancelled"};

bool valid_state(const std::string& s) {
  for (const char* k : kStates)
    if (s == k) return true;
  return false;
}

std::string query(const Call& c, const char* key) {
  auto it = c.query.find(key);
  return it == c.query.end() ? std::string() : it->second;
}

Reply list_reply(Result<std::vector<store::ApprovalRecord>> r, const char* key) {
  if (!r) return service_error(r.error());
  nlohmann::json arr = nlohmann::json::array();
  for (auto& rec : *r) arr.push_back(approval_json(rec));
  Reply out;
  out.body = {{key, std::move(arr)}};
  return out;
}

Reply record_reply(Result<store::ApprovalRecord> r, int status = 200) {
  if (!r) return service_error(r.error());
  Reply out;
  out.status = status;
  out.body = approval_json(*r);
  return out;
}

Reply list_handler(ApprovalService& svc, const Call& c, const std::string& kind, const char* key) {
  std::string state = query(c, "state");
  if (!valid_state(state))
    return Reply::error(400, "bad_request",
                        "state must be pending, approved, denied, timed_out or cancelled");
  return list_reply(svc.list(c.identity, state, kind), key);
}

Reply decide_handler(ApprovalService& svc, const Call& c, bool approve) {
  std::string reason = c.body.value("reason", std::string());
  return record_reply(svc.decide(c.params.at("id"), c.identity, approve, reason));
}

}  // namespace

Reply service_error(const Error& e) {
  int status = 500;
  if (e.code == "not_found") status = 404;
  if (e.code == "forbidden") status = 403;
  if (e.code == "conflict") status = 409;
  if (e.code == "bad_request") status = 400;
  if (e.code == "overloaded") status = 429;
  if (e.code == "unavailable") status = 503;
  return Reply::error(status, e.code, e.message);
}

void add_approval_routes(Router& r, ApprovalService& svc) {
  r.add("GET", "/v1/approvals", [&svc](const Call& c) {
    std::string kind = query(c, "kind");
    if (!kind.empty() && kind != "statement" && kind != "access")
      return Reply::error(400, "bad_request", "kind must be statement or access");
    return list_handler(svc, c, kind, "approvals");
  });
  r.add("GET", "/v1/approvals/{id}",
        [&svc](const Call& c) { return record_reply(svc.get(c.identity, c.params.at("id"))); });
  r.add("POST", "/v1/approvals/{id}/approve",
        [&svc](const Call& c) { return decide_handler(svc, c, true); });
  r.add("POST", "/v1/approvals/{id}/deny",
        [&svc](const Call& c) { return decide_handler(svc, c, false); });
  r.add("GET", "/v1/access/requests",
        [&svc](const Call& c) { return list_handler(svc, c, "access", "requests"); });
  r.add("POST", "/v1/access/requests", [&svc](const Call& c) {
    std::string resource = c.body.value("resource", std::string());
    std::string role = c.body.value("role", std::string());
    std::string duration = c.body.value("duration", std::string());
    std::string reason = c.body.value("reason", std::string());
    if (resource.empty() || role.empty() || duration.empty())
      return Reply::error(400, "bad_request", "resource, role and duration are required");
    auto d = parse_duration(duration);
    if (!d) return Reply::error(400, "bad_request", "duration: " + d.error().message);
    // Checked before converting to ns, which would overflow for absurd lengths.
    if (d->count() <= 0 || d->count() > int64_t(1) << 40)
      return Reply::error(400, "bad_request", "duration is out of range");
    int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*d).count();
    return record_reply(svc.request_access(c.identity, resource, role, ns, reason), 201);
  });
}

}  // namespace phigate::admin
