#pragma once
// phigate as a SAML 2.0 service provider (DESIGN.md §4 `type: saml`, §6): SP-initiated Web SSO with
// the HTTP-Redirect binding out and the HTTP-POST binding back (SAML 2.0 Bindings §3.4, §3.5),
// validated with liblasso. A successful login yields the identity a short-lived phigate token is
// minted for; the SAML assertion itself is never used as a credential on the data path.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace phigate {

struct SamlSpConfig {
  std::string sp_entity_id;      // our EntityID; the Audience the assertion must name
  std::string acs_url;           // AssertionConsumerService URL; the Recipient it must name
  std::string idp_metadata_xml;  // the IdP's metadata: entity id, SSO URL, signing certificate
  std::string groups_attribute = "groups";
  int64_t clock_skew_seconds = 60;
  // Outstanding AuthnRequests older than this are forgotten: their responses are then refused.
  std::chrono::seconds request_lifetime{600};
  // Unsolicited (IdP-initiated) responses carry no InResponseTo and cannot be bound to a login
  // this SP started, which makes them replayable across SPs; refused unless enabled.
  bool allow_idp_initiated = false;
  size_t max_response_bytes = 256 * 1024;  // base64 SAMLResponse, before any parsing
};

struct SamlLogin {
  std::string subject;  // NameID
  std::string name_id_format;
  std::vector<std::string> groups;  // values of groups_attribute
  std::string assertion_id;
  std::string idp_entity_id;
  int64_t not_on_or_after = 0;  // unix seconds: the assertion's own end of validity
};

struct SamlRedirect {
  std::string url;         // where to send the browser (the IdP's SSO URL with SAMLRequest)
  std::string request_id;  // AuthnRequest ID; the response must carry it as InResponseTo
};

// Thread-safe: liblasso is not, so every call takes one lock (login is not the data path).
class SamlServiceProvider {
 public:
  // Fails on metadata lasso cannot load, or metadata without a signing certificate.
  static Result<std::unique_ptr<SamlServiceProvider>> create(SamlSpConfig config);
  ~SamlServiceProvider();

  // Starts a login: an AuthnRequest for the HTTP-Redirect binding, remembered for InResponseTo.
  Result<SamlRedirect> begin_login(std::string_view relay_state, int64_t now_unix);

  // Validates a base64 SAMLResponse from the HTTP-POST binding. Error codes name the reason:
  // "malformed", "too_large", "bad_signature", "unsigned", "status" (IdP said no), "issuer",
  // "audience", "recipient", "expired", "not_yet_valid", "in_response_to", "replayed",
  // "no_subject", "unsolicited".
  Result<SamlLogin> consume(std::string_view saml_response_b64, int64_t now_unix);

  // This SP's metadata, for the IdP administrator.
  const std::string& sp_metadata() const { return sp_metadata_; }
  const std::string& idp_entity_id() const { return idp_entity_id_; }

 private:
  struct State;
  explicit SamlServiceProvider(SamlSpConfig config);
  SamlSpConfig config_;
  std::string sp_metadata_;
  std::string idp_entity_id_;
  std::unique_ptr<State> state_;
};

// Parses "2026-11-25T19:30:00Z" / with fractional seconds (xs:dateTime in UTC, SAML Core §1.3.3).
Result<int64_t> parse_saml_instant(std::string_view text);

}  // namespace phigate
