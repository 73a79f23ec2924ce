#include "identity/saml_login.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace phigate {

Result<std::unique_ptr<SamlLogins>> SamlLogins::create(
    const std::vector<SamlIssuerSettings>& issuers, std::shared_ptr<const LocalIssuer> local,
    std::chrono::seconds token_ttl, int64_t clock_skew_seconds) {
  auto out = std::unique_ptr<SamlLogins>(new SamlLogins());
  out->local_ = std::move(local);
  out->ttl_ = token_ttl;
  if (!issuers.empty() && !out->local_)
    return Error{"config", "SAML login needs the local issuer to mint tokens"};
  for (const auto& is : issuers) {
    std::ifstream f(is.metadata_path, std::ios::binary);
    if (!f) return Error{"config", "issuer '" + is.name + "': cannot read " + is.metadata_path};
    std::stringstream ss;
    ss << f.rdbuf();
    SamlSpConfig c;
    c.sp_entity_id = is.sp_entity_id;
    c.acs_url = is.acs_url;
    c.idp_metadata_xml = ss.str();
    if (!is.groups_attribute.empty()) c.groups_attribute = is.groups_attribute;
    c.clock_skew_seconds = clock_skew_seconds;
    auto sp = SamlServiceProvider::create(std::move(c));
    if (!sp.ok()) return Error{"config", "issuer '" + is.name + "': " + sp.error().message};
    out->sps_.emplace(is.name, std::move(*sp));
  }
  return out;
}

const SamlServiceProvider* SamlLogins::sp(std::string_view issuer) const {
  auto it = sps_.find(issuer);
  return it == sps_.end() ? nullptr : it->second.get();
}

Result<SamlRedirect> SamlLogins::begin(std::string_view issuer, std::string_view relay,
                                       int64_t now) {
  auto it = sps_.find(issuer);
  if (it == sps_.end()) return Error{"unknown_issuer", "no SAML issuer of that name"};
  return it->second->begin_login(relay, now);
}

Result<SamlToken> SamlLogins::complete(std::string_view issuer, std::string_view response,
                                       int64_t now) {
  auto it = sps_.find(issuer);
  if (it == sps_.end()) return Error{"unknown_issuer", "no SAML issuer of that name"};
  auto login = it->second->consume(response, now);
  if (!login.ok()) return login.error();
  // Never outlive what the IdP vouched for.
  int64_t life = std::min<int64_t>(ttl_.count(), login->not_on_or_after - now);
  if (life <= 0) return Error{"expired", "assertion expired"};
  IssueRequest req;
  req.sub = login->subject;
  req.groups = login->groups;
  req.ttl = std::chrono::seconds(life);
  req.idp = it->first;
  auto token = local_->try_issue(req, now);
  if (!token.ok()) return token.error();
  SamlToken out;
  out.token = std::move(*token);
  out.sub = login->subject;
  out.groups = login->groups;
  out.expires_at = now + life;
  return out;
}

}  // namespace phigate
