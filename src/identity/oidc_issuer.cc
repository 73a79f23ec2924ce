#include "identity/oidc_issuer.h"

#include <algorithm>

#include "common/ascii.h"
#include "identity/claims.h"
#include "identity/http_client.h"
#include "identity/jwt.h"

namespace phigate {

using nlohmann::json;

namespace {

Error malformed(std::string message) { return make_error("malformed", std::move(message)); }

}  // namespace

std::vector<std::string> check_oidc_options(const OidcIssuerOptions& o) {
  std::vector<std::string> errors;
  if (auto u = parse_fetch_url(o.issuer); !u.ok() && !o.issuer.empty()) {
    errors.push_back("'issuer' " + u.error().message);
  }
  if (!o.jwks_uri.empty()) {
    if (auto u = parse_fetch_url(o.jwks_uri); !u.ok()) {
      errors.push_back("'jwks_uri' " + u.error().message);
    }
  }
  // Without an audience check, a token the IdP minted for any other application would open
  // the gateway: refuse the configuration instead.
  if (o.audience.empty())
    errors.push_back("oidc needs 'audience' (the aud value phigate requires)");
  for (const auto& a : o.algorithms) {
    if (!is_supported_alg(a)) {
      errors.push_back("algorithm '" + a +
                       "' is not supported (RS256/384/512, PS256/384/512, ES256/384, EdDSA)");
    }
  }
  if (o.max_token_bytes < 1024) errors.push_back("'max_token_bytes' must be at least 1024");
  if (o.refresh_interval < std::chrono::seconds(1)) {
    errors.push_back("'jwks_refresh' must be at least 1s");
  }
  if (o.clock_skew < 0 || o.clock_skew > kMaxClockSkew) {
    errors.push_back("'clock_skew' must be between 0s and 1d");
  }
  return errors;
}

OidcIssuer::OidcIssuer(OidcIssuerOptions options) : options_(std::move(options)) {}

Status OidcIssuer::check_header(const json& header, const JwkSet* keys, std::string* alg_out,
                                std::vector<const Jwk*>* candidates) const {
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return malformed("token header has no \"alg\"");
  const std::string& a = alg->get_ref<const std::string&>();
  // "none", HMAC (a public key used as an HMAC secret) and anything unknown stop here, before
  // any key is looked at.
  if (!is_supported_alg(a)) {
    return make_error("bad_signature", "token algorithm is not accepted (asymmetric only)");
  }
  const auto& allow = options_.algorithms;
  if (!allow.empty() && std::find(allow.begin(), allow.end(), a) == allow.end()) {
    return make_error("bad_signature", "token algorithm is not allowed for this issuer");
  }
  // RFC 7515 §4.1.11: extensions listed in "crit" must be understood; we implement none.
  if (header.contains("crit")) return malformed("token header has unsupported critical extensions");
  // Access tokens are "at+jwt" (RFC 9068 §2.1); ID tokens and workload tokens use "JWT" or none.
  if (auto typ = header.find("typ"); typ != header.end()) {
    if (!typ->is_string()) return malformed("token header \"typ\" must be a string");
    std::string t = ascii_lower(typ->get<std::string>());
    if (t != "jwt" && t != "at+jwt" && t != "application/at+jwt") {
      return malformed("token type is not JWT");
    }
  }
  std::string kid;
  if (auto k = header.find("kid"); k != header.end()) {
    if (!k->is_string()) return malformed("token header \"kid\" must be a string");
    kid = k->get<std::string>();
    if (kid.empty()) return malformed("token header \"kid\" is empty");
  }
  // Keys embedded in or pointed to by the header ("jwk", "jku", "x5u", "x5c") are never used:
  // only the configured issuer's published keys count.
  if (keys == nullptr) return make_error("unknown_key", "the issuer's keys are not available");
  *candidates = keys->candidates(kid, a);
  if (candidates->empty()) {
    // A known key that is bound to another algorithm is an algorithm-confusion attempt, not a
    // rotation, so it does not trigger a refresh.
    if (!kid.empty() && keys->has_kid(kid)) {
      return make_error("bad_signature", "token algorithm does not match its key");
    }
    return make_error("unknown_key", "token was signed by a key the issuer does not publish");
  }
  *alg_out = a;
  return ok_status();
}

Result<Identity> OidcIssuer::verify_jws(const Jws& jws, int64_t now_unix) const {
  auto keys = this->keys();
  std::string alg;
  std::vector<const Jwk*> candidates;
  if (auto st = check_header(jws.header, keys.get(), &alg, &candidates); !st.ok()) {
    return st.error();
  }
  bool verified = false;
  for (const Jwk* k : candidates) {
    if (verify_jws_signature(alg, *k, jws.signing_input, jws.signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) return make_error("bad_signature", "token signature is not valid");

  // Only signed claims from here on.
  const json& claims = jws.payload;
  auto iss = claims.find("iss");
  if (iss == claims.end()) return make_error("unknown_issuer", "token names no issuer");
  if (!iss->is_string()) return malformed("claim \"iss\" must be a string");
  if (iss->get_ref<const std::string&>() != options_.issuer) {
    return make_error("unknown_issuer", "token issuer does not match the configured issuer");
  }
  if (auto st = check_audience(claims, options_.audience); !st.ok()) return st.error();
  Identity id;
  int64_t skew = std::clamp<int64_t>(options_.clock_skew, 0, kMaxClockSkew);
  if (auto st = check_times(claims, now_unix, skew, &id.expires_at); !st.ok()) return st.error();
  if (auto st = read_subject(claims, &id); !st.ok()) return st.error();
  if (const json* g = find_claim(claims, options_.groups_claim)) {
    if (auto st = read_groups(*g, &id.groups); !st.ok()) return st.error();
  }
  if (auto st = read_task_claims(claims, &id); !st.ok()) return st.error();
  id.issuer = options_.name;
  return id;
}

}  // namespace phigate
