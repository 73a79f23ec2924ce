#pragma once
// Claim checks shared by every JWT issuer type (local, oidc, and later ones): audience, time
// window, subject, groups, and the task-decomposition claims. Error codes are the reason classes
// of token_verifier.h; messages never quote the token.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "identity/identity.h"

namespace phigate {

// A skew beyond a day is a misconfiguration, and bounding it keeps now +/- skew from overflowing.
inline constexpr int64_t kMaxClockSkew = 24 * 3600;
// Deepest nested "act" (RFC 8693 §4.1) read into the act chain; deeper is "malformed".
inline constexpr int kMaxActDepth = 8;

int64_t saturating_add(int64_t a, int64_t b);

// "aud" (string or array of strings, RFC 7519 §4.1.3) must contain `audience`.
// wrong_audience when absent or not containing it; malformed for other JSON types.
Status check_audience(const nlohmann::json& claims, std::string_view audience);

// exp required; valid while now < exp + skew. nbf and iat (when present) must not be later than
// now + skew: a token "issued in the future" comes from a broken or hostile clock.
Status check_times(const nlohmann::json& claims, int64_t now, int64_t skew, int64_t* expires_at);

// "sub": non-empty printable string.
Status read_subject(const nlohmann::json& claims, Identity* id);

// Finds a claim by name for `groups_claim`. A name containing "://" is one literal claim name
// (URL-named claims such as "https://example.com/groups", which contain dots); any other name is a
// dot-separated path into nested objects ("realm_access.roles"). nullptr when absent.
const nlohmann::json* find_claim(const nlohmann::json& claims, std::string_view name);

// Groups from `value`: an array of printable strings, or one string (some IdPs emit a single
// group as a string). Anything else is malformed.
Status read_groups(const nlohmann::json& value, std::vector<std::string>* out);

// task_id, workflow_id, jti, and the act chain: Identity::act_sub is the top-level act.sub (the
// current actor); Identity::act_chain lists every act.sub from the top level inward, joined by
// '>', when "act" is nested.
Status read_task_claims(const nlohmann::json& claims, Identity* id);

}  // namespace phigate
