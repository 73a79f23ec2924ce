#include "cli/admin_runtime.h"

#include <spdlog/spdlog.h>

namespace phigate::cli {

Result<std::unique_ptr<AdminRuntime>> AdminRuntime::start(
    const Config& config, const Wiring& wiring, const PolicyHolder& policy,
    const TokenVerifier& verifier, audit::Log& log, net::ssl::context* tls,
    std::shared_ptr<const LocalIssuer> local, admin::MetricsSources metrics) {
  if (config.gateway.listen.admin.empty()) return std::unique_ptr<AdminRuntime>();
  if (!wiring.open_approvals) return make_error("config", "this build has no approval store");
  std::unique_ptr<AdminRuntime> rt(new AdminRuntime());
  auto store = wiring.open_approvals(config);
  if (!store) return make_error("store", "approval store: " + store.error().message);
  rt->store_ = std::move(*store);
  rt->notifier_ = std::make_unique<admin::Notifier>(rt->io_, config.approvals.notify_webhooks);
  rt->service_ = std::make_unique<admin::ApprovalService>(
      rt->io_, *rt->store_, &log, policy, rt->grants_, rt->notifier_.get(), config.gateway.node_id);
  if (auto st = rt->service_->start(); !st)
    return make_error("store", "approvals: " + st.error().message);
  rt->api_ = std::make_unique<admin::AdminApi>(verifier, &log, config.gateway.node_id);
  std::string node = config.gateway.node_id;
  rt->api_->router().add(
      "GET", "/v1/health",
      [node](const admin::Call&) {
        admin::Reply r;
        r.body = {{"status", "ok"}, {"node_id", node}};
        return r;
      },
      /*public_route=*/true);
  metrics.log = &log;
  metrics.auth = &verifier.failures();
  metrics.node_id = config.gateway.node_id;
  admin::add_metrics_route(rt->api_->router(), std::move(metrics));
  admin::add_approval_routes(rt->api_->router(), *rt->service_);
  // SAML issuers log people in here; a metadata file that does not load stops serve.
  std::vector<SamlIssuerSettings> saml;
  const std::string scheme = tls ? "https://" : "http://";
  for (const auto& is : config.identity.issuers) {
    if (is.type != "saml") continue;
    saml.push_back({is.name, is.idp_metadata, is.groups_attribute,
                    is.sp_entity_id.empty() ? "phigate:" + config.gateway.node_id : is.sp_entity_id,
                    is.acs_url.empty()
                        ? scheme + config.gateway.listen.admin + "/v1/saml/" + is.name + "/acs"
                        : is.acs_url});
  }
  auto logins =
      SamlLogins::create(saml, local, std::chrono::minutes(15), config.identity.clock_skew.count());
  if (!logins) return make_error("config", "SAML: " + logins.error().message);
  rt->saml_ = std::move(*logins);
  admin::add_saml_routes(rt->api_->router(), *rt->saml_, &log, config.gateway.node_id);
  admin::add_token_exchange_route(rt->api_->router(), verifier, local, policy, &log,
                                  config.gateway.node_id);
  rt->server_ = std::make_unique<admin::AdminServer>(rt->io_, *rt->api_, tls,
                                                     config.gateway.allow_cleartext_token_remote);
  auto port = rt->server_->listen(config.gateway.listen.admin);
  if (!port) return port.error();
  spdlog::info("admin API on {} (port {}, {})", config.gateway.listen.admin, *port,
               tls ? "TLS" : "plain HTTP, loopback");
  rt->thread_ = std::thread([io = &rt->io_] {
    auto guard = net::asio::make_work_guard(*io);
    io->run();
  });
  return rt;
}

void AdminRuntime::attach(proxy::GatewayContext& ctx) {
  ctx.approvals = service_.get();
  ctx.grants = &grants_;
}

void AdminRuntime::stop() {
  if (server_) net::asio::post(io_, [s = server_.get()] { s->stop(); });
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

AdminRuntime::~AdminRuntime() { stop(); }

}  // namespace phigate::cli
