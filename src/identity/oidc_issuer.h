#pragma once
// An external OpenID Connect issuer (`type: oidc`): an IdP's ID/access tokens, a Kubernetes
// projected service-account token, a CI job's OIDC token. Tokens are verified against the
// issuer's JWK Set, which identity/jwks_fetcher.h keeps current in the background; this class only
// reads the cached set, so verification never touches the network.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "identity/identity.h"
#include "identity/jwk.h"

namespace phigate {

struct Jws;  // identity/jwt.h

inline constexpr size_t kDefaultMaxTokenBytes = 16 * 1024;

struct OidcIssuerOptions {
  std::string name;    // configured name, recorded as Identity::issuer
  std::string issuer;  // exact "iss" value; discovery at issuer + /.well-known/openid-configuration
  std::string audience;                 // required in "aud"
  std::string groups_claim = "groups";  // see find_claim (identity/claims.h)
  std::string jwks_uri;                 // empty: taken from the discovery document
  std::string ca_file;                  // CA bundle for the IdP's HTTPS (empty: system store)
  std::vector<std::string> algorithms;  // allowlist; empty: every algorithm in kAsymmetricAlgs
  int64_t clock_skew = 60;              // seconds
  size_t max_token_bytes = kDefaultMaxTokenBytes;
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(10)};      // periodic (rotation)
  std::chrono::milliseconds min_refresh_interval{std::chrono::seconds(10)};  // unknown-kid limit
  std::chrono::milliseconds fetch_timeout{std::chrono::seconds(5)};
};

// Configuration problems, one message each (empty when usable): issuer must be an https URL (http
// only on loopback), audience required, jwks_uri likewise a fetchable URL, algorithms from
// kAsymmetricAlgs, refresh intervals and token size sensible.
std::vector<std::string> check_oidc_options(const OidcIssuerOptions& options);

class OidcIssuer {
 public:
  explicit OidcIssuer(OidcIssuerOptions options);
  const OidcIssuerOptions& options() const { return options_; }

  // Header, signature and claims. Reason classes (token_verifier.h):
  //   bad_signature  alg not an accepted asymmetric algorithm (none, HS*, ...), not in the
  //                  allowlist, or not the algorithm its key is bound to; signature invalid
  //   unknown_key    no cached key with the header's kid (the caller may refresh and retry)
  //   unknown_issuer iss is not exactly options().issuer
  //   wrong_audience, expired, not_yet_valid, malformed   as for the local issuer
  // Identity::roles is left empty (TokenVerifier maps groups to roles).
  Result<Identity> verify_jws(const Jws& jws, int64_t now_unix) const;

  // The cached key set (null until the first successful fetch). Safe from any thread.
  std::shared_ptr<const JwkSet> keys() const { return keys_.load(std::memory_order_acquire); }
  void set_keys(std::shared_ptr<const JwkSet> keys) {
    keys_.store(std::move(keys), std::memory_order_release);
  }

 private:
  Status check_header(const nlohmann::json& header, const JwkSet* keys, std::string* alg,
                      std::vector<const Jwk*>* candidates) const;
  OidcIssuerOptions options_;
  std::atomic<std::shared_ptr<const JwkSet>> keys_;
};

}  // namespace phigate
