// `phigate approvals list|approve|deny` and `phigate access request|list|approve|deny`: thin
// clients of the running gateway's admin API (DESIGN.md §3).
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/cli.h"

namespace phigate::cli {

namespace {

std::string resolve_token(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("PHIGATE_TOKEN");
  return env ? env : "";
}

std::string first_line(const std::string& s, size_t max) {
  std::string out = s.substr(0, s.find('\n'));
  if (out.size() > max) out = out.substr(0, max - 3) + "...";
  return out;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void print_record(const nlohmann::json& r) {
  std::cout << str(r, "id") << "  " << str(r, "state") << "  " << str(r, "kind") << "  "
            << str(r["requester"], "sub") << "  " << str(r, "resource") << "  "
            << str(r, "created_at");
  if (r.contains("expires_at")) std::cout << "  until " << str(r, "expires_at");
  if (r.contains("reviewer")) std::cout << "  by " << str(r["reviewer"], "sub");
  std::cout << "\n    " << first_line(str(r, "summary"), 100) << "\n";
  if (!str(r, "decision_reason").empty())
    std::cout << "    reason: " << first_line(str(r, "decision_reason"), 100) << "\n";
}

// Sends the call and prints the outcome; returns the exit status.
int call(const AdminArgs& a, const std::string& method, const std::string& target,
         const nlohmann::json* body, const char* list_key) {
  auto cfg = load_or_report(a.config_path);
  if (!cfg) return 2;
  std::string token = resolve_token(a.token);
  if (token.empty()) {
    std::cerr << "error: a token is required (--token or PHIGATE_TOKEN)\n";
    return 2;
  }
  auto r = admin_call(*cfg, method, target, token, body);
  if (!r) {
    std::cerr << "error: cannot reach the admin API: " << r.error().message << "\n";
    return 1;
  }
  if (a.json) {
    std::cout << r->body.dump(2) << "\n";
    return r->status < 300 ? 0 : 1;
  }
  if (r->status >= 300) {
    std::cerr << "error: " << str(r->body, "message") << " (HTTP " << r->status << ", "
              << str(r->body, "error") << ")\n";
    return 1;
  }
  if (list_key) {
    const auto& items = r->body[list_key];
    if (items.empty()) std::cout << "no requests\n";
    for (const auto& it : items) print_record(it);
  } else {
    print_record(r->body);
  }
  return 0;
}

std::string state_query(const std::string& state) {
  if (state.empty() || state == "all") return {};
  return "?state=" + percent_encode(state);
}

}  // namespace

int cmd_approvals_list(const AdminArgs& a, const std::string& state) {
  std::string target = "/v1/approvals" + state_query(state);
  return call(a, "GET", target, nullptr, "approvals");
}

int cmd_approvals_decide(const AdminArgs& a, const std::string& id, bool approve,
                         const std::string& reason) {
  nlohmann::json body = nlohmann::json::object();
  if (!reason.empty()) body["reason"] = reason;
  std::string target = "/v1/approvals/" + percent_encode(id) + (approve ? "/approve" : "/deny");
  return call(a, "POST", target, &body, nullptr);
}

int cmd_access_request(const AdminArgs& a, const AccessRequestArgs& r) {
  nlohmann::json body = {
      {"resource", r.resource}, {"role", r.role}, {"duration", r.duration}, {"reason", r.reason}};
  return call(a, "POST", "/v1/access/requests", &body, nullptr);
}

int cmd_access_list(const AdminArgs& a, const std::string& state) {
  std::string target = "/v1/access/requests" + state_query(state);
  return call(a, "GET", target, nullptr, "requests");
}

}  // namespace phigate::cli
