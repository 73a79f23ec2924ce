#pragma once
// The gateway's own token issuer (`type: local`): Ed25519-signed JWTs (RFC 7519, RFC 8037 EdDSA)
// with the private key kept in <data_dir>/keys/local_issuer_ed25519.pem (mode 0600, created on first
// use).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "identity/identity.h"

namespace phigate {

struct IssueRequest {
  std::string sub;
  std::vector<std::string> groups;
  std::chrono::seconds ttl{900};
  std::string task_id;
  std::string workflow_id;
  std::string act_sub;
};

class LocalIssuer {
 public:
  // iss claim used and required: "phigate:<node_id>"; aud: "phigate".
  static Result<std::shared_ptr<LocalIssuer>> load_or_create(const std::string& data_dir,
                                                             const std::string& node_id);
  ~LocalIssuer();
  std::string issue(const IssueRequest& req) const;
  // Verifies signature (alg must be EdDSA, typ JWT or absent), iss, aud, exp, nbf, iat (with
  // clock_skew seconds). Error codes: "malformed", "bad_signature", "unknown_issuer",
  // "wrong_audience", "expired", "not_yet_valid". Fills Identity except roles.
  Result<Identity> verify(std::string_view token, int64_t now_unix, int64_t clock_skew = 60) const;
  const std::string& iss() const { return iss_; }

 private:
  LocalIssuer() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  std::string iss_;
};

}  // namespace phigate
