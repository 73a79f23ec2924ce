#include "identity/token_verifier.h"

#include <algorithm>

#include "identity/jwks_fetcher.h"
#include "identity/jwt.h"

namespace phigate {

namespace asio = net::asio;

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

namespace {
size_t reason_index(std::string_view reason) {
  const auto& r = AuthFailureCounters::kReasons;
  auto it = std::find(r.begin(), r.end(), reason);
  return it == r.end() ? r.size() - 1 : static_cast<size_t>(it - r.begin());
}
}  // namespace

void AuthFailureCounters::count(std::string_view reason) const {
  counts_[reason_index(reason)].fetch_add(1, std::memory_order_relaxed);
}

uint64_t AuthFailureCounters::get(std::string_view reason) const {
  return counts_[reason_index(reason)].load(std::memory_order_relaxed);
}

std::vector<std::pair<std::string, uint64_t>> AuthFailureCounters::snapshot() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (size_t i = 0; i < kReasons.size(); ++i) {
    out.emplace_back(std::string(kReasons[i]), counts_[i].load(std::memory_order_relaxed));
  }
  return out;
}

TokenVerifier::TokenVerifier(std::shared_ptr<const LocalIssuer> local, std::string local_name,
                             std::map<std::string, std::vector<std::string>> group_roles,
                             int64_t clock_skew)
    : local_(std::move(local)),
      local_name_(std::move(local_name)),
      group_roles_(std::move(group_roles)),
      clock_skew_(clock_skew) {}

void TokenVerifier::add_oidc_issuer(std::shared_ptr<const OidcIssuer> issuer) {
  max_token_bytes_ = std::max(max_token_bytes_, issuer->options().max_token_bytes);
  oidc_.push_back(std::move(issuer));
}

Result<Identity> TokenVerifier::verify_uncounted(std::string_view token, int64_t now_unix,
                                                 const OidcIssuer** oidc_used) const {
  // The cap comes first so that no parser ever sees an oversized input.
  if (token.size() > max_token_bytes_) return make_error("too_large", "token is too large");
  auto jws = parse_jws(token);
  if (!jws.ok()) return jws.error();

  // The unverified "iss" only selects which issuer verifies; that issuer then checks the
  // signature and re-checks "iss" itself, so a forged "iss" gains nothing.
  auto iss = jws->payload.find("iss");
  if (iss == jws->payload.end()) return make_error("unknown_issuer", "token names no issuer");
  if (!iss->is_string()) return make_error("malformed", "claim \"iss\" must be a string");
  const std::string& iss_text = iss->get_ref<const std::string&>();

  Result<Identity> id =
      make_error("unknown_issuer", "token issuer is not configured on this gateway");
  if (local_ && iss_text == local_->iss()) {
    if (token.size() > kMaxTokenBytes) return make_error("too_large", "token is too large");
    id = local_->verify_jws(*jws, now_unix, clock_skew_);
    // A token minted after an IdP login names that IdP (claim "idp"); ours otherwise.
    if (id.ok() && id->issuer.empty()) id->issuer = local_name_;
  } else {
    for (const auto& o : oidc_) {
      if (o->options().issuer != iss_text) continue;
      if (token.size() > o->options().max_token_bytes) {
        return make_error("too_large", "token is too large");
      }
      *oidc_used = o.get();
      id = o->verify_jws(*jws, now_unix);
      break;
    }
  }
  if (!id.ok()) return id;

  id->roles = roles_for_groups(id->groups, group_roles_);
  if (id->role_limit) {
    // An exchanged token keeps only the roles it was narrowed to, and only while the groups
    // still grant them: revoking a group mapping also revokes the narrowed token's role.
    std::erase_if(id->roles, [&](const std::string& r) {
      return std::find(id->role_limit->begin(), id->role_limit->end(), r) == id->role_limit->end();
    });
  }
  return id;
}

Result<Identity> TokenVerifier::verify(std::string_view token, int64_t now_unix) const {
  const OidcIssuer* used = nullptr;
  auto id = verify_uncounted(token, now_unix, &used);
  if (!id.ok()) {
    if (id.error().code == "unknown_key" && used != nullptr && refresher_ != nullptr) {
      refresher_->request_refresh(used, nullptr);
    }
    failures_.count(id.error().code);
  }
  return id;
}

net::awaitable<Result<Identity>> TokenVerifier::verify_async(std::string_view token,
                                                             int64_t (*clock)()) const {
  const OidcIssuer* used = nullptr;
  auto id = verify_uncounted(token, clock(), &used);
  if (!id.ok() && id.error().code == "unknown_key" && used != nullptr && refresher_ != nullptr) {
    auto ex = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(ex);
    // Discovery and JWKS are two requests, each bounded by fetch_timeout; one more second for
    // the hand-over. Past that the token fails closed even if the fetch is still running.
    timer->expires_after(2 * used->options().fetch_timeout + std::chrono::seconds(1));
    bool waiting = refresher_->request_refresh(used, [timer, ex] {
      // Runs on the fetcher's thread: hand the wake-up to the timer's own executor.
      asio::post(ex, [timer] { timer->expires_at(asio::steady_timer::time_point::min()); });
    });
    if (waiting) {
      net::error_code ec;
      co_await timer->async_wait(asio::redirect_error(net::use_awaitable, ec));
      const OidcIssuer* again = nullptr;
      id = verify_uncounted(token, clock(), &again);
    }
  }
  if (!id.ok()) failures_.count(id.error().code);
  co_return id;
}

}  // namespace phigate
