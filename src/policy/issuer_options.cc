#include "policy/issuer_options.h"

namespace phigate {

OidcIssuerOptions to_oidc_options(const IssuerConfig& is, const IdentityConfig& identity) {
  OidcIssuerOptions o;
  o.name = is.name;
  o.issuer = is.issuer;
  o.audience = is.audience;
  if (!is.groups_claim.empty()) o.groups_claim = is.groups_claim;
  o.jwks_uri = is.jwks_uri;
  o.ca_file = is.ca_file;
  o.algorithms = is.algorithms;
  auto skew = is.clock_skew ? std::chrono::duration_cast<std::chrono::seconds>(*is.clock_skew)
                            : identity.clock_skew;
  o.clock_skew = skew.count();
  o.max_token_bytes = is.max_token_bytes;
  o.refresh_interval = is.jwks_refresh;
  o.min_refresh_interval = is.jwks_refresh_min_interval;
  return o;
}

}  // namespace phigate
