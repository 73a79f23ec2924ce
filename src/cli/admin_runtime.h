#pragma once
// The admin side of `phigate serve`: approvals store and service, webhooks, the JIT grant set and
// the admin HTTP server, on one io_context with its own thread (apart from the session threads).
#include <memory>
#include <thread>

#include "admin/approval_routes.h"
#include "admin/approval_service.h"
#include "admin/http_server.h"
#include "admin/metrics_route.h"
#include "admin/saml_routes.h"
#include "admin/token_exchange_route.h"
#include "admin/webhook.h"
#include "cli/cli.h"
#include "proxy/context.h"

namespace phigate::cli {

class AdminRuntime {
 public:
  // Null (and nothing to do) when listen.admin is not set. Errors are logged; the result is then
  // an error and serve must not start (fail closed: reviews would otherwise have nobody to ask).
  static Result<std::unique_ptr<AdminRuntime>> start(const Config& config, const Wiring& wiring,
                                                     const PolicyHolder& policy,
                                                     const TokenVerifier& verifier, audit::Log& log,
                                                     net::ssl::context* tls,
                                                     std::shared_ptr<const LocalIssuer> local,
                                                     admin::MetricsSources metrics);
  ~AdminRuntime();
  // Hooks the gate and the grants into the sessions' context.
  void attach(proxy::GatewayContext& ctx);
  void stop();

 private:
  AdminRuntime() = default;
  net::asio::io_context io_{1};
  std::unique_ptr<store::ApprovalStore> store_;
  GrantHolder grants_;
  std::unique_ptr<admin::Notifier> notifier_;
  std::unique_ptr<admin::ApprovalService> service_;
  std::unique_ptr<SamlLogins> saml_;
  std::unique_ptr<admin::AdminApi> api_;
  std::unique_ptr<admin::AdminServer> server_;
  std::thread thread_;
};

}  // namespace phigate::cli
