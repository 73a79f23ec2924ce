#include "identity/local_issuer.h"

#include "common/ascii.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/base64.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "identity/claims.h"
#include "identity/ed25519_key.h"
#include "identity/jwt.h"
#include "identity/token_verifier.h"

namespace phigate {

using nlohmann::json;

namespace {

constexpr std::string_view kAudience = "phigate";
constexpr std::string_view kAlg = "EdDSA";
constexpr size_t kKidChars = 16;
Error malformed(std::string message) { return make_error("malformed", std::move(message)); }

// Header checks. The algorithm is bound to the key: an Ed25519 key only ever verifies EdDSA, so
// "none", HS256 keyed with the public key, RS256 etc. are refused before any cryptography.
Status check_header(const json& header, const std::string& our_kid) {
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return malformed("token header has no \"alg\"");
  if (alg->get_ref<const std::string&>() != kAlg) {
    return make_error("bad_signature",
                      "token is not signed with EdDSA, the only accepted algorithm");
  }
  // RFC 7515 §4.1.11: extensions listed in "crit" must be understood; we implement none.
  if (header.contains("crit")) return malformed("token header has unsupported critical extensions");
  auto typ = header.find("typ");
  if (typ != header.end() &&
      (!typ->is_string() || !iequals(typ->get_ref<const std::string&>(), "JWT"))) {
    return malformed("token type is not JWT");
  }
  auto kid = header.find("kid");
  if (kid != header.end()) {
    if (!kid->is_string()) return malformed("token header \"kid\" must be a string");
    if (kid->get_ref<const std::string&>() != our_kid) {
      return make_error("bad_signature", "token was signed by a key this gateway does not hold");
    }
  }
  return ok_status();
}

// "roles" and "resources" narrow a token minted by token exchange. Only this issuer's tokens are
// read for them: another IdP's "roles" claim means whatever that IdP means by it.
Status read_narrowing(const json& claims, Identity* id) {
  for (auto [name, out] : {std::pair{"roles", &id->role_limit}, {"resources", &id->resources}}) {
    auto it = claims.find(name);
    if (it == claims.end()) continue;
    std::vector<std::string> list;
    if (!it->is_array()) return malformed(std::string("claim \"") + name + "\" must be an array");
    for (const auto& v : *it) {
      if (!v.is_string() || !is_printable_claim(v.get_ref<const std::string&>())) {
        return malformed(std::string("claim \"") + name + "\" must be an array of strings");
      }
      list.push_back(v.get<std::string>());
    }
    *out = std::move(list);
  }
  // "idp": the IdP that authenticated the person when this token was minted for a login (SAML).
  if (auto it = claims.find("idp"); it != claims.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        !is_printable_claim(it->get_ref<const std::string&>()))
      return malformed("claim \"idp\" must be a non-empty string");
    id->issuer = it->get<std::string>();
  }
  return ok_status();
}

json act_claim(const std::string& act_sub, const std::vector<std::string>& prior) {
  json act = {{"sub", act_sub}};
  json* cur = &act;
  for (const auto& p : prior) {
    (*cur)["act"] = {{"sub", p}};
    cur = &(*cur)["act"];
  }
  return act;
}

}  // namespace

struct LocalIssuer::Key {
  std::shared_ptr<const Ed25519Key> key;
  std::string kid;
};

LocalIssuer::~LocalIssuer() = default;

std::string LocalIssuer::key_path(const std::string& data_dir) {
  return data_dir + "/keys/local_issuer_ed25519.pem";
}

Result<std::shared_ptr<LocalIssuer>> LocalIssuer::load_or_create(const std::string& data_dir,
                                                                 const std::string& node_id) {
  if (data_dir.empty()) return make_error("invalid_argument", "data_dir is empty");
  if (node_id.empty() || !is_printable_claim(node_id)) {
    return make_error("invalid_argument", "node_id must be a non-empty printable string");
  }
  auto key = Ed25519Key::load_or_create(key_path(data_dir));
  if (!key.ok()) return key.error();
  std::shared_ptr<LocalIssuer> issuer(new LocalIssuer());
  issuer->key_ = std::make_unique<Key>();
  issuer->key_->key = std::move(*key);
  Sha256 digest = sha256(ByteSpan(issuer->key_->key->public_key()));
  issuer->key_->kid = base64url_encode(digest).substr(0, kKidChars);
  issuer->iss_ = "phigate:" + node_id;
  return issuer;
}

const std::string& LocalIssuer::kid() const { return key_->kid; }

const Bytes& LocalIssuer::public_key() const { return key_->key->public_key(); }

std::string LocalIssuer::issue(const IssueRequest& req) const {
  auto token = try_issue(req, phigate::now_unix());
  return token.ok() ? std::move(token).value() : std::string();
}

Result<std::string> LocalIssuer::try_issue(const IssueRequest& req, int64_t now_unix) const {
  if (req.sub.empty() || !is_printable_claim(req.sub)) {
    return make_error("invalid_request",
                      "sub must be a non-empty string without control characters");
  }
  for (const auto& g : req.groups) {
    if (g.empty() || !is_printable_claim(g)) {
      return make_error("invalid_request",
                        "group names must be non-empty, without control characters");
    }
  }
  bool printable = is_printable_claim(req.task_id) && is_printable_claim(req.workflow_id) &&
                   is_printable_claim(req.act_sub) && is_printable_claim(req.idp);
  for (const auto& a : req.act_prior) printable = printable && !a.empty() && is_printable_claim(a);
  // '>' joins the act chain in audit records (identity.h), so no actor name may contain it.
  if (req.act_sub.find('>') != std::string::npos) printable = false;
  for (const auto& a : req.act_prior) printable = printable && a.find('>') == std::string::npos;
  if (req.act_sub.empty() && !req.act_prior.empty()) printable = false;
  if (req.act_prior.size() >= static_cast<size_t>(kMaxActDepth)) printable = false;
  for (const auto* list : {&req.roles, &req.resources}) {
    if (!*list) continue;
    for (const auto& v : **list) printable = printable && !v.empty() && is_printable_claim(v);
  }
  if (!printable) {
    return make_error(
        "invalid_request",
        "task, workflow, actors, roles and resources must be printable (actors without '>')");
  }
  if (req.ttl.count() <= 0 || req.ttl > kMaxLocalTokenTtl) {
    return make_error("invalid_request", "ttl must be positive and at most 366 days");
  }
  // Keep iat + ttl representable whatever clock the caller passes.
  if (now_unix < 0 || now_unix > std::numeric_limits<int64_t>::max() / 2) {
    return make_error("invalid_request", "clock out of range");
  }

  json header = {{"alg", kAlg}, {"typ", "JWT"}, {"kid", key_->kid}};
  json claims = {{"iss", iss_},
                 {"aud", kAudience},
                 {"sub", req.sub},
                 {"groups", req.groups},
                 {"iat", now_unix},
                 {"nbf", now_unix},
                 {"exp", now_unix + req.ttl.count()},
                 {"jti", random_id()}};
  if (!req.task_id.empty()) claims["task_id"] = req.task_id;
  if (!req.workflow_id.empty()) claims["workflow_id"] = req.workflow_id;
  if (!req.act_sub.empty()) claims["act"] = act_claim(req.act_sub, req.act_prior);
  if (req.roles) claims["roles"] = *req.roles;
  if (req.resources) claims["resources"] = *req.resources;
  if (!req.idp.empty()) claims["idp"] = req.idp;

  std::string header_text, claims_text;
  try {
    // dump() throws type_error 316 on invalid UTF-8; that is the caller's input, not a crash.
    header_text = header.dump();
    claims_text = claims.dump();
  } catch (const json::exception&) {
    return make_error("invalid_request", "token strings must be valid UTF-8");
  }
  std::string token = base64url_encode(as_bytes(header_text));
  token += '.';
  token += base64url_encode(as_bytes(claims_text));
  Bytes sig = key_->key->sign(as_bytes(token));
  if (sig.empty()) return make_error("internal", "signing the token failed");
  token += '.';
  token += base64url_encode(sig);
  return token;
}

Result<Identity> LocalIssuer::verify(std::string_view token, int64_t now_unix,
                                     int64_t clock_skew) const {
  if (token.size() > kMaxTokenBytes) return make_error("too_large", "token is too large");
  auto jws = parse_jws(token);
  if (!jws.ok()) return jws.error();
  return verify_jws(*jws, now_unix, clock_skew);
}

Result<Identity> LocalIssuer::verify_jws(const Jws& jws, int64_t now_unix,
                                         int64_t clock_skew) const {
  if (auto st = check_header(jws.header, key_->kid); !st.ok()) return st.error();
  if (!key_->key->verify(as_bytes(jws.signing_input), jws.signature)) {
    return make_error("bad_signature", "token signature is not valid");
  }

  // Only signed claims from here on.
  const json& claims = jws.payload;
  auto iss = claims.find("iss");
  if (iss == claims.end()) return make_error("unknown_issuer", "token names no issuer");
  if (!iss->is_string()) return malformed("claim \"iss\" must be a string");
  if (iss->get_ref<const std::string&>() != iss_) {
    return make_error("unknown_issuer", "token was not issued by this gateway");
  }
  if (auto st = check_audience(claims, kAudience); !st.ok()) return st.error();

  Identity id;
  int64_t skew = std::clamp<int64_t>(clock_skew, 0, kMaxClockSkew);
  if (auto st = check_times(claims, now_unix, skew, &id.expires_at); !st.ok()) return st.error();
  if (auto st = read_subject(claims, &id); !st.ok()) return st.error();
  if (auto g = claims.find("groups"); g != claims.end()) {
    if (!g->is_array()) return malformed("claim \"groups\" must be an array of strings");
    if (auto st = read_groups(*g, &id.groups); !st.ok()) return st.error();
  }
  if (auto st = read_task_claims(claims, &id); !st.ok()) return st.error();
  if (auto st = read_narrowing(claims, &id); !st.ok()) return st.error();
  return id;
}

}  // namespace phigate
