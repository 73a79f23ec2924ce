#pragma once
// identity.issuers[] entries of type oidc as the identity library takes them.
#include "identity/oidc_issuer.h"
#include "policy/config.h"

namespace phigate {

OidcIssuerOptions to_oidc_options(const IssuerConfig& issuer, const IdentityConfig& identity);

}  // namespace phigate
