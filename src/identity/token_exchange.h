#pragma once
// OAuth 2.0 Token Exchange (RFC 8693) for per-task identities (DESIGN.md §6): a verified subject
// token (a workflow's or a person's) becomes a gateway-issued token (local issuer, Ed25519) that
// is at most as powerful as the subject and usually much narrower.
//
// Request encoding (RFC 8693 §2.1, form-encoded at POST /v1/token/exchange):
//   grant_type            urn:ietf:params:oauth:grant-type:token-exchange (required)
//   subject_token         the token to exchange (required); subject_token_type: ...:jwt,
//                         ...:access_token or ...:id_token
//   requested_token_type  optional: ...:jwt or ...:access_token (the default); the issued token is
//                         a JWT usable as a bearer access token either way
//   scope                 space-separated "role:NAME" and "resource:NAME" items
//   resource, audience    resource: a resource name (repeatable, same as scope resource:NAME);
//                         audience: must be "phigate" when given
//   task_id, workflow_id  phigate extensions (printable, at most 256 bytes)
//   ttl                   phigate extension: "5m", "300s", or plain seconds
//   actor_token           not supported (invalid_request)
//
// What the issued token carries:
//   sub        the subject's sub; groups: the subject's groups
//   roles      the requested roles (all of the subject's when none are requested); each must be one
//              of the subject's roles, else invalid_scope
//   resources  the requested resources (inherited narrowing when none); each must be reachable by
//              the subject with the issued roles, else invalid_target
//   exp        now + ttl, ttl capped at the subject's remaining life and at max_ttl (default ttl:
//              default_ttl)
//   task_id    as requested, else the subject's; workflow_id: as requested, else the subject's; a
//              subject already bound to a workflow cannot be moved to another (invalid_request)
//   act        the human the task acts for: the subject's own act chain when it has one (kept
//   whole,
//              nested as RFC 8693 §4.1 nests it), else {"sub": <the subject's sub>}
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "identity/identity.h"

namespace phigate {

class TokenVerifier;
class LocalIssuer;

inline constexpr std::string_view kGrantTypeTokenExchange =
    "urn:ietf:params:oauth:grant-type:token-exchange";
inline constexpr std::string_view kTokenTypeJwt = "urn:ietf:params:oauth:token-type:jwt";
inline constexpr std::string_view kTokenTypeAccessToken =
    "urn:ietf:params:oauth:token-type:access_token";
inline constexpr std::string_view kTokenTypeIdToken = "urn:ietf:params:oauth:token-type:id_token";

struct TokenExchangeRequest {
  std::string grant_type;
  std::string subject_token;
  std::string subject_token_type;
  std::string requested_token_type;
  std::string scope;
  std::vector<std::string> resource;
  std::vector<std::string> audience;
  std::string actor_token, actor_token_type;
  std::string task_id, workflow_id;
  std::string ttl;
};

struct TokenExchangeContext {
  const TokenVerifier* verifier = nullptr;
  const LocalIssuer* issuer = nullptr;
  // Whether `id` (roles already narrowed) may reach `resource`: PolicySnapshot::can_access of the
  // current snapshot (identity/ cannot see policy/).
  std::function<bool(const Identity& id, std::string_view resource)> can_access;
  std::chrono::seconds default_ttl{std::chrono::minutes(15)};
  std::chrono::seconds max_ttl{std::chrono::hours(12)};
};

struct ExchangedToken {
  std::string access_token;
  std::string issued_token_type;
  int64_t expires_in = 0;
  std::string scope;  // granted "role:... resource:..." items
  Identity identity;  // what the new token stands for (for the admin API's audit record)
  Identity subject;   // the verified subject (ditto)
};

// The exchange itself. Error codes are RFC 6749 §5.2 / RFC 8693 §2.2.2 error values:
// unsupported_grant_type, invalid_request (also: subject token refused, with its reason class in
// the message), invalid_scope, invalid_target, server_error. Messages never quote a token.
// `subject_out`, when given, receives the verified subject even when the exchange is then refused
// (for the caller's audit record).
Result<ExchangedToken> exchange_token(const TokenExchangeRequest& req,
                                      const TokenExchangeContext& ctx, int64_t now_unix,
                                      Identity* subject_out = nullptr);

// The HTTP face of exchange_token. Reply headers: Content-Type: application/json,
// Cache-Control: no-store, Pragma: no-cache (RFC 6749 §5.1).
struct TokenExchangeReply {
  int status = 200;  // 200, 400 (every client error), 500 (server_error)
  // RFC 8693 §2.2.1 success JSON, or RFC 6749 §5.2 {"error", "error_description"}.
  std::string body;
  // For the caller's audit record (never the tokens): the RFC 6749 error code and description
  // ("" on success), the verified subject (when the subject token verified) and the identity the
  // issued token stands for (on success).
  std::string error, error_description;
  std::optional<Identity> subject, issued;
};
TokenExchangeReply handle_token_exchange(const TokenExchangeRequest& req,
                                         const TokenExchangeContext& ctx, int64_t now_unix);

// application/x-www-form-urlencoded body (at most 64 KiB) into a request. A parameter given twice
// is invalid_request (RFC 6749 §3.2), except the repeatable resource and audience; unknown
// parameters are ignored. Error code "invalid_request".
Result<TokenExchangeRequest> parse_token_exchange_form(std::string_view body);

// What the admin router calls for POST /v1/token/exchange: parse + handle.
TokenExchangeReply handle_token_exchange_form(std::string_view body,
                                              const TokenExchangeContext& ctx, int64_t now_unix);

// Encodes a request as a form body (the CLI's side of the same wire format).
std::string encode_token_exchange_form(const TokenExchangeRequest& req);

}  // namespace phigate
