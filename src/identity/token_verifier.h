#pragma once
// Chooses the issuer for a token and verifies it; then maps groups to roles (identity.group_roles).
// Later issuers (OIDC, SAML-exchanged) plug in here without any change to callers.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "identity/local_issuer.h"

namespace phigate {

// Hard cap before any parsing: bigger "tokens" are refused with "too_large".
inline constexpr size_t kMaxTokenBytes = 16 * 1024;

// identity.group_roles applied to a token's groups: the union of every group's roles,
// deduplicated, in first-seen order.
std::vector<std::string> roles_for_groups(
    const std::vector<std::string>& groups,
    const std::map<std::string, std::vector<std::string>>& group_roles);

class TokenVerifier {
 public:
  // clock_skew: tolerated clock difference between issuing and verifying hosts, in seconds
  // (identity.clock_skew; default 60).
  TokenVerifier(std::shared_ptr<const LocalIssuer> local, std::string local_name,
                std::map<std::string, std::vector<std::string>> group_roles,
                int64_t clock_skew = 60);
  // Error codes as LocalIssuer::verify plus "too_large". Identity.roles is the union of the roles
  // of every group, deduplicated, in first-seen order.
  Result<Identity> verify(std::string_view token, int64_t now_unix) const;

 private:
  std::shared_ptr<const LocalIssuer> local_;
  std::string local_name_;
  std::map<std::string, std::vector<std::string>> group_roles_;
  int64_t clock_skew_ = 60;
};

}  // namespace phigate
