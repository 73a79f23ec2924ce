#pragma once
// SAML login for people (DESIGN.md §6): one service provider per `type: saml` issuer, and the
// short-lived phigate token a successful login yields. HTTP lives in src/admin; this is the logic.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "identity/local_issuer.h"
#include "identity/saml_sp.h"

namespace phigate {

struct SamlIssuerSettings {
  std::string name;           // configured issuer name, e.g. "corp-saml"
  std::string metadata_path;  // idp_metadata
  std::string groups_attribute;
  std::string sp_entity_id, acs_url;
};

struct SamlToken {
  std::string token;
  std::string sub;
  std::vector<std::string> groups;
  int64_t expires_at = 0;
};

class SamlLogins {
 public:
  // Loads every issuer's metadata; any failure refuses the whole set (fail closed at start-up).
  static Result<std::unique_ptr<SamlLogins>> create(const std::vector<SamlIssuerSettings>& issuers,
                                                    std::shared_ptr<const LocalIssuer> local,
                                                    std::chrono::seconds token_ttl,
                                                    int64_t clock_skew_seconds);
  bool has(std::string_view issuer) const { return sps_.count(std::string(issuer)) > 0; }
  // The IdP redirect that starts a login at `issuer`.
  Result<SamlRedirect> begin(std::string_view issuer, std::string_view relay_state, int64_t now);
  // Validates the IdP's response and mints the phigate token: sub = NameID, groups from the
  // attribute, issuer recorded as the SAML issuer's name, lifetime the shorter of token_ttl and
  // the assertion's own validity.
  Result<SamlToken> complete(std::string_view issuer, std::string_view saml_response, int64_t now);
  const SamlServiceProvider* sp(std::string_view issuer) const;

 private:
  std::map<std::string, std::unique_ptr<SamlServiceProvider>, std::less<>> sps_;
  std::shared_ptr<const LocalIssuer> local_;
  std::chrono::seconds ttl_{900};
};

}  // namespace phigate
