#include "admin/saml_routes.h"

#include <chrono>

#include "audit/log.h"

namespace phigate::admin {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The admin API audits every call, but a public call has no identity; the login record names
// who logged in (or the reason it was refused), never the assertion or the token.
void audit_login(audit::Log* log, const std::string& node_id, const std::string& issuer,
                 const SamlToken* ok, const Error* err) {
  if (!log) return;
  audit::Event e;
  e.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  e.node_id = node_id;
  e.type = ok ? "login" : "auth_failure";
  e.protocol = "saml";
  e.issuer = issuer;
  e.action = "saml login";
  if (ok) {
    e.sub = ok->sub;
    e.groups = ok->groups;
    e.decision = "allow";
    e.status = "ok";
  } else {
    e.decision = "deny";
    e.status = "error";
    e.error_code = err->code;
    e.message = err->message;
  }
  log->append(std::move(e));
}

}  // namespace

void add_saml_routes(Router& router, SamlLogins& logins, audit::Log* log, std::string node_id) {
  router.add(
      "GET", "/v1/saml/{issuer}/login",
      [&logins](const Call& c) {
        const std::string& issuer = c.params.at("issuer");
        if (!logins.has(issuer)) return Reply::error(404, "unknown_issuer", "no such SAML issuer");
        auto relay_it = c.query.find("relay");
        std::string relay = relay_it == c.query.end() ? "" : relay_it->second;
        if (relay.size() > 80)  // SAML Bindings §3.4.3: RelayState at most 80 bytes
          return Reply::error(400, "bad_request", "relay state longer than 80 bytes");
        auto r = logins.begin(issuer, relay, unix_now());
        if (!r) return Reply::error(503, r.error().code, r.error().message);
        Reply out;
        out.status = 302;
        out.content_type = "text/plain";
        out.raw = "Continue at the identity provider.\n";
        out.headers.push_back({"Location", r->url});
        return out;
      },
      /*public_route=*/true);

  router.add(
      "GET", "/v1/saml/{issuer}/metadata",
      [&logins](const Call& c) {
        const SamlServiceProvider* sp = logins.sp(c.params.at("issuer"));
        if (!sp) return Reply::error(404, "unknown_issuer", "no such SAML issuer");
        Reply out;
        out.content_type = "application/samlmetadata+xml";
        out.raw = sp->sp_metadata();
        return out;
      },
      /*public_route=*/true);

  router.add(
      "POST", "/v1/saml/{issuer}/acs",
      [&logins, log, node_id](const Call& c) {
        const std::string& issuer = c.params.at("issuer");
        if (!logins.has(issuer)) return Reply::error(404, "unknown_issuer", "no such SAML issuer");
        auto msg = c.form.find("SAMLResponse");
        if (msg == c.form.end() || msg->second.empty()) {
          Error err{"malformed", "no SAMLResponse in the form body"};
          audit_login(log, node_id, issuer, nullptr, &err);
          return Reply::error(400, err.code, err.message);
        }
        auto tok = logins.complete(issuer, msg->second, unix_now());
        if (!tok) {
          audit_login(log, node_id, issuer, nullptr, &tok.error());
          int status =
              tok.error().code == "malformed" || tok.error().code == "too_large" ? 400 : 401;
          return Reply::error(status, tok.error().code, tok.error().message);
        }
        audit_login(log, node_id, issuer, &*tok, nullptr);
        Reply out;
        out.body = {{"token", tok->token}, {"token_type", "Bearer"},
                    {"sub", tok->sub},     {"groups", tok->groups},
                    {"issuer", issuer},    {"expires_at", tok->expires_at}};
        return out;
      },
      /*public_route=*/true);
}

}  // namespace phigate::admin
