#include "admin/token_exchange_route.h"

#include <chrono>

#include "audit/log.h"
#include "identity/token_exchange.h"

namespace phigate::admin {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Who asked for what, and what they got: the issued token's task/workflow/act chain and roles
// (never a token).
void audit_exchange(audit::Log* log, const std::string& node_id, const TokenExchangeReply& r) {
  if (!log) return;
  audit::Event e;
  e.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  e.node_id = node_id;
  e.type = "token_exchange";
  e.protocol = "admin";
  e.action = "POST /v1/token/exchange";
  const Identity* who = r.issued ? &*r.issued : (r.subject ? &*r.subject : nullptr);
  if (who) {
    audit::set_identity(e, *who);
    if (who->resources) {
      for (const auto& res : *who->resources) e.resource += (e.resource.empty() ? "" : ",") + res;
    }
  }
  e.decision = r.status == 200 ? "allow" : "deny";
  e.status = r.status == 200 ? "ok" : "error";
  e.error_code = r.error;
  e.message = r.error_description;
  log->append(std::move(e));
}

}  // namespace

void add_token_exchange_route(Router& router, const TokenVerifier& verifier,
                              std::shared_ptr<const LocalIssuer> issuer, const PolicyHolder& policy,
                              audit::Log* log, std::string node_id) {
  router.add(
      "POST", "/v1/token/exchange",
      [&verifier, issuer, &policy, log, node_id](const Call& c) {
        TokenExchangeContext ctx;
        ctx.verifier = &verifier;
        ctx.issuer = issuer.get();
        ctx.can_access = [&policy](const Identity& id, std::string_view resource) {
          return policy.get()->can_access(id, resource);
        };
        TokenExchangeReply r = handle_token_exchange_form(c.raw_body, ctx, unix_now());
        audit_exchange(log, node_id, r);
        Reply out;
        out.status = r.status;
        out.content_type = "application/json";
        out.raw = std::move(r.body);
        out.headers.push_back({"Pragma", "no-cache"});  // RFC 6749 §5.1 (no-store is always set)
        return out;
      },
      /*public_route=*/true);
}

}  // namespace phigate::admin
