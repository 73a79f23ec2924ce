#include "cli/identity_setup.h"

#include <iostream>

#include "policy/issuer_options.h"

namespace phigate::cli {

Result<IdentitySetup> setup_identity(const Config& config) {
  IdentitySetup s;
  auto local = LocalIssuer::load_or_create(config.gateway.data_dir, config.gateway.node_id);
  if (!local.ok()) return local.error();
  s.local = *local;
  std::string local_name;
  for (const auto& i : config.identity.issuers) {
    if (i.type == "local") local_name = i.name;
  }
  s.verifier = std::make_unique<TokenVerifier>(s.local, local_name, config.identity.group_roles,
                                               config.identity.clock_skew.count());
  std::vector<std::shared_ptr<OidcIssuer>> oidc;
  for (const auto& i : config.identity.issuers) {
    if (i.type != "oidc") continue;
    auto issuer = std::make_shared<OidcIssuer>(to_oidc_options(i, config.identity));
    s.verifier->add_oidc_issuer(issuer);
    oidc.push_back(std::move(issuer));
  }
  if (!oidc.empty()) {
    s.fetcher = std::make_unique<JwksFetcher>(std::move(oidc));
    s.verifier->set_refresher(s.fetcher.get());
  }
  return s;
}

Result<IdentitySetup> setup_identity_offline(const Config& config) {
  auto s = setup_identity(config);
  if (s && s->fetcher) {
    if (auto st = s->fetcher->fetch_all_blocking(); !st.ok())
      std::cerr << "warning: " << st.error().message << "\n";
  }
  return s;
}

}  // namespace phigate::cli
