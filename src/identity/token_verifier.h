#pragma once
// Chooses the issuer for a token by its "iss" and verifies it; then maps groups to roles
// (identity.group_roles). Issuer types: the gateway's own (`local`) and any number of `oidc`
// issuers; further types (SAML-exchanged tokens are local tokens) plug in the same way.
//
// Reason classes (Error::code) of a refused token, the words the client and the audit see:
//   too_large, malformed, unknown_issuer, unknown_key, bad_signature, wrong_audience, expired,
//   not_yet_valid.
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "identity/local_issuer.h"
#include "identity/oidc_issuer.h"
#include "net/asio.h"

namespace phigate {

class KeyRefresher;  // identity/jwks_fetcher.h

// Hard cap before any parsing for local tokens and the default for oidc issuers; the verifier's
// overall cap is the largest of every issuer's.
inline constexpr size_t kMaxTokenBytes = 16 * 1024;

// identity.group_roles applied to a token's groups: the union of every group's roles,
// deduplicated, in first-seen order.
std::vector<std::string> roles_for_groups(
    const std::vector<std::string>& groups,
    const std::map<std::string, std::vector<std::string>>& group_roles);

// Failed authentications per reason class: lock-free counters the admin API/metrics read.
class AuthFailureCounters {
 public:
  static constexpr std::array<std::string_view, 10> kReasons = {
      "too_large",      "malformed", "unknown_issuer", "unknown_key", "bad_signature",
      "wrong_audience", "expired",   "not_yet_valid",  "no_access",   "other"};
  void count(std::string_view reason) const;
  uint64_t get(std::string_view reason) const;
  std::vector<std::pair<std::string, uint64_t>> snapshot() const;

 private:
  mutable std::array<std::atomic<uint64_t>, kReasons.size()> counts_{};
};

class TokenVerifier {
 public:
  // clock_skew: tolerated clock difference between issuing and verifying hosts, in seconds
  // (identity.clock_skew; default 60), for the local issuer. local may be null (no local issuer).
  TokenVerifier(std::shared_ptr<const LocalIssuer> local, std::string local_name,
                std::map<std::string, std::vector<std::string>> group_roles,
                int64_t clock_skew = 60);
  // Set up before the verifier is shared between threads.
  void add_oidc_issuer(std::shared_ptr<const OidcIssuer> issuer);
  void set_refresher(KeyRefresher* refresher) { refresher_ = refresher; }
  const std::vector<std::shared_ptr<const OidcIssuer>>& oidc_issuers() const { return oidc_; }

  // Never blocks. On "unknown_key" it asks the refresher for a background refresh (not awaited)
  // so that a later attempt may succeed. Identity.roles is the union of the roles of every group,
  // deduplicated, in first-seen order, narrowed by Identity::role_limit when the token has one.
  // Counts every failure in failures().
  Result<Identity> verify(std::string_view token, int64_t now_unix) const;

  // As verify(), but an "unknown_key" from an oidc issuer waits (without blocking the thread) for
  // at most one bounded key refresh, then verifies once more; still unknown fails closed.
  // `now_unix` is re-read after the wait by calling `clock`.
  // `token` must stay alive until the await completes (the caller awaits it directly).
  net::awaitable<Result<Identity>> verify_async(std::string_view token, int64_t (*clock)()) const;

  const AuthFailureCounters& failures() const { return failures_; }

 private:
  Result<Identity> verify_uncounted(std::string_view token, int64_t now_unix,
                                    const OidcIssuer** oidc_used) const;

  std::shared_ptr<const LocalIssuer> local_;
  std::string local_name_;
  std::map<std::string, std::vector<std::string>> group_roles_;
  int64_t clock_skew_ = 60;
  std::vector<std::shared_ptr<const OidcIssuer>> oidc_;
  size_t max_token_bytes_ = kMaxTokenBytes;
  KeyRefresher* refresher_ = nullptr;
  AuthFailureCounters failures_;
};

}  // namespace phigate
