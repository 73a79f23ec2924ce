#pragma once
// Builds the token verifier a command needs from the config: the local issuer (key in data_dir)
// and every `type: oidc` issuer with its JWKS fetcher.
#include <memory>

#include "common/result.h"
#include "identity/jwks_fetcher.h"
#include "identity/local_issuer.h"
#include "identity/token_verifier.h"
#include "policy/config.h"

namespace phigate::cli {

struct IdentitySetup {
  std::shared_ptr<LocalIssuer> local;
  std::unique_ptr<TokenVerifier> verifier;
  std::unique_ptr<JwksFetcher> fetcher;  // null when no oidc issuer is configured
};

// Loads (or creates) the local issuer key and wires the oidc issuers into one verifier; the
// fetcher is created but not started (serve starts it; offline tools call fetch_all_blocking).
Result<IdentitySetup> setup_identity(const Config& config);
// For commands that verify tokens without serving: setup_identity, then the oidc keys fetched
// once now. An issuer that cannot be reached is only a warning on stderr: a token from it then
// fails as unknown_key.
Result<IdentitySetup> setup_identity_offline(const Config& config);

}  // namespace phigate::cli
