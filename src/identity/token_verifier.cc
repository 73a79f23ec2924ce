#include "identity/token_verifier.h"

#include <algorithm>

#include "identity/jwt.h"

namespace phigate {

std::vector<std::string> roles_for_groups(
    const std::vector<std::string>& groups,
    const std::map<std::string, std::vector<std::string>>& group_roles) {
  // Few groups and roles: a linear search beats hashing.
  std::vector<std::string> roles;
  for (const auto& group : groups) {
    auto it = group_roles.find(group);
    if (it == group_roles.end()) continue;
    for (const auto& role : it->second) {
      if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.push_back(role);
    }
  }
  return roles;
}

TokenVerifier::TokenVerifier(std::shared_ptr<const LocalIssuer> local, std::string local_name,
                             std::map<std::string, std::vector<std::string>> group_roles,
                             int64_t clock_skew)
    : local_(std::move(local)),
      local_name_(std::move(local_name)),
      group_roles_(std::move(group_roles)),
      clock_skew_(clock_skew) {}

Result<Identity> TokenVerifier::verify(std::string_view token, int64_t now_unix) const {
  // The cap comes first so that no parser ever sees an oversized input.
  if (token.size() > kMaxTokenBytes) return make_error("too_large", "token is too large");
  auto jws = parse_jws(token);
  if (!jws.ok()) return jws.error();

  // The unverified "iss" only selects which issuer verifies; that issuer then checks the
  // signature and re-checks "iss" itself, so a forged "iss" gains nothing.
  auto iss = jws->payload.find("iss");
  if (iss == jws->payload.end()) return make_error("unknown_issuer", "token names no issuer");
  if (!iss->is_string()) return make_error("malformed", "claim \"iss\" must be a string");
  if (!local_ || iss->get_ref<const std::string&>() != local_->iss()) {
    return make_error("unknown_issuer", "token issuer is not configured on this gateway");
  }
  auto id = local_->verify_jws(*jws, now_unix, clock_skew_);
  if (!id.ok()) return id;
  // A token minted after an IdP login names that IdP (claim "idp"); ours otherwise.
  if (id->issuer.empty()) id->issuer = local_name_;

  id->roles = roles_for_groups(id->groups, group_roles_);
  return id;
}

}  // namespace phigate
