#pragma once
// The gateway's own token issuer (`type: local`): Ed25519-signed JWTs (RFC 7519, RFC 8037 EdDSA)
// with the private key kept in <data_dir>/keys/local_issuer_ed25519.pem (mode 0600, created on
// first use).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "identity/identity.h"

namespace phigate {

struct Jws;  // identity/jwt.h

// Longest lifetime issue() accepts; keeps iat + ttl far from overflow. Callers enforce their own,
// usually much shorter, limits.
inline constexpr std::chrono::seconds kMaxLocalTokenTtl{366 * 24 * 3600};

// Every member has an initializer so that designated initializers may omit any of them without
// tripping GCC's -Wmissing-field-initializers (-Wextra -Werror).
struct IssueRequest {
  std::string sub{};
  std::vector<std::string> groups{};
  std::chrono::seconds ttl{900};
  std::string task_id{};
  std::string workflow_id{};
  std::string act_sub{};
  // Configured name of the issuer that authenticated the person when this token was minted for a
  // login (e.g. a SAML IdP); the verifier reports it as Identity.issuer. Empty: the local issuer.
  std::string idp{};
  // Earlier actors nested inside "act" (RFC 8693 §4.1), nearest first; needs act_sub.
  std::vector<std::string> act_prior{};
  // Narrowing claims for exchanged tokens (identity.h: Identity::role_limit / resources).
  std::optional<std::vector<std::string>> roles{};
  std::optional<std::vector<std::string>> resources{};
};

class LocalIssuer {
 public:
  // iss claim used and required: "phigate:<node_id>"; aud: "phigate".
  // Loads or atomically creates the key (see Ed25519Key::load_or_create). Errors: "io",
  // "invalid_key" (corrupt, not Ed25519, or readable by group/others: never overwritten),
  // "invalid_argument" (empty data_dir or node_id). The returned issuer is immutable and safe to
  // share across threads.
  static Result<std::shared_ptr<LocalIssuer>> load_or_create(const std::string& data_dir,
                                                             const std::string& node_id);
  ~LocalIssuer();
  // Returns "" if the request is invalid (see try_issue) or signing failed; callers must check.
  std::string issue(const IssueRequest& req) const;
  // As issue(), with an explicit clock and a reason on failure. Error "invalid_request": empty sub,
  // empty group name, control characters or invalid UTF-8 in any string, ttl <= 0 or above
  // kMaxLocalTokenTtl. Error "internal": signing failed.
  Result<std::string> try_issue(const IssueRequest& req, int64_t now_unix) const;
  // Verifies signature (alg must be EdDSA, typ JWT or absent), iss, aud, exp, nbf, iat (with
  // clock_skew seconds). Error codes: "malformed", "bad_signature", "unknown_issuer",
  // "wrong_audience", "expired", "not_yet_valid". Fills Identity except roles.
  // Also "too_large" above kMaxTokenBytes. Which checks give which code:
  //   malformed      not three strict base64url parts; header/claims not a JSON object; duplicate
  //                  member names; "crit" header; "typ" not JWT; alg/kid/claim of the wrong JSON
  //                  type; no "exp"; "sub" missing or empty; control characters in identity strings
  //   bad_signature  "alg" other than exactly "EdDSA" (none, HS256, RS256, ...); "kid" not ours;
  //                  signature not a valid Ed25519 signature by our key
  //   unknown_issuer "iss" missing or not ours;  wrong_audience: "aud" missing or without "phigate"
  //   expired        now >= exp + skew;  not_yet_valid: nbf or iat > now + skew
  // Identity.issuer is the "idp" claim when present, else empty (TokenVerifier sets its name).
  Result<Identity> verify(std::string_view token, int64_t now_unix, int64_t clock_skew = 60) const;
  // The same checks on an already split token (TokenVerifier parses once, then picks the issuer).
  Result<Identity> verify_jws(const Jws& jws, int64_t now_unix, int64_t clock_skew = 60) const;
  const std::string& iss() const { return iss_; }
  // Key id in every issued header: base64url(sha256(raw public key)), first 16 characters.
  const std::string& kid() const;
  // Raw 32-byte Ed25519 public key (for publishing a JWKS or pinning in tests).
  const Bytes& public_key() const;
  // <data_dir>/keys/local_issuer_ed25519.pem
  static std::string key_path(const std::string& data_dir);

 private:
  LocalIssuer() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  std::string iss_;
};

}  // namespace phigate
