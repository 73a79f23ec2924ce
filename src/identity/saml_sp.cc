#include "identity/saml_sp.h"

// libxml2 (via ICU) declares C++ templates; it must be seen before lasso wraps its includes in
// extern "C".
#include <libxml/encoding.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <libxml/xpath.h>
#include <lasso/lasso.h>
#include <lasso/saml-2.0/saml2_helper.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_audience_restriction.h>
#include <lasso/xml/saml-2.0/saml2_conditions.h>
#include <lasso/xml/saml-2.0/saml2_strings.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation_data.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>

namespace phigate {
namespace {

std::once_flag lasso_once;
bool lasso_ok = false;

void init_lasso() {
  std::call_once(lasso_once, [] { lasso_ok = lasso_init() == 0; });
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string sp_metadata_for(const SamlSpConfig& c) {
  return "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"" +
         xml_escape(c.sp_entity_id) +
         "\"><md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" "
         "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
         "<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
         "Location=\"" +
         xml_escape(c.acs_url) +
         "\" index=\"0\" isDefault=\"true\"/></md:SPSSODescriptor></md:EntityDescriptor>";
}

// Owns one GObject reference.
template <class T>
struct GRef {
  T* p = nullptr;
  explicit GRef(T* x = nullptr) : p(x) {}
  ~GRef() {
    if (p) g_object_unref(p);
  }
  GRef(const GRef&) = delete;
  GRef& operator=(const GRef&) = delete;
  T* operator->() const { return p; }
  explicit operator bool() const { return p != nullptr; }
};

Error fail(const char* code, std::string message) { return Error{code, std::move(message)}; }

std::string text_of(LassoNode* node) {
  if (node && LASSO_IS_MISC_TEXT_NODE(node)) {
    const char* c = LASSO_MISC_TEXT_NODE(node)->content;
    return c ? c : "";
  }
  return {};
}

// Whether the IdP's SSO role lists a certificate usable for signing (KeyDescriptor without `use`
// or with use="signing"). Parsed without network access or entity expansion.
bool has_signing_certificate(const std::string& metadata) {
  xmlDocPtr doc = xmlReadMemory(metadata.data(), static_cast<int>(metadata.size()), "idp.xml",
                                nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (!doc) return false;
  bool found = false;
  if (xmlXPathContextPtr ctx = xmlXPathNewContext(doc)) {
    const auto* expr = reinterpret_cast<const xmlChar*>(
        "//*[local-name()='IDPSSODescriptor']/*[local-name()='KeyDescriptor' and (not(@use) or "
        "@use='signing')]//*[local-name()='X509Certificate' and normalize-space(.)!='']");
    if (xmlXPathObjectPtr r = xmlXPathEvalExpression(expr, ctx)) {
      found = r->nodesetval && r->nodesetval->nodeNr > 0;
      xmlXPathFreeObject(r);
    }
    xmlXPathFreeContext(ctx);
  }
  xmlFreeDoc(doc);
  return found;
}

}  // namespace

Result<int64_t> parse_saml_instant(std::string_view t) {
  // YYYY-MM-DDThh:mm:ss[.fff]Z — SAML Core §1.3.3 requires UTC without a time zone offset.
  int y, mo, d, h, mi, s;
  if (t.size() < 20 || t.size() > 40) return fail("malformed", "bad SAML time");
  std::string str(t);
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
          6 ||
      consumed != 19)
    return fail("malformed", "bad SAML time");
  size_t i = 19;
  if (i < str.size() && str[i] == '.') {
    ++i;
    size_t digits = 0;
    while (i < str.size() && str[i] >= '0' && str[i] <= '9') ++i, ++digits;
    if (digits == 0) return fail("malformed", "bad SAML time");
  }
  if (i + 1 != str.size() || str[i] != 'Z') return fail("malformed", "SAML time must be UTC (Z)");
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return fail("malformed", "bad SAML time");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

struct SamlServiceProvider::State {
  std::mutex mu;
  LassoServer* server = nullptr;
  std::map<std::string, int64_t> pending;  // AuthnRequest ID -> forget after
  std::map<std::string, int64_t> seen;     // assertion ID -> keep until (replay cache)
  static constexpr size_t kMaxPending = 10000, kMaxSeen = 100000;
  ~State() {
    if (server) g_object_unref(server);
  }
  void prune(int64_t now) {
    for (auto* m : {&pending, &seen})
      for (auto it = m->begin(); it != m->end();) it = it->second <= now ? m->erase(it) : ++it;
  }
};

SamlServiceProvider::SamlServiceProvider(SamlSpConfig config)
    : config_(std::move(config)), state_(std::make_unique<State>()) {}
SamlServiceProvider::~SamlServiceProvider() = default;

Result<std::unique_ptr<SamlServiceProvider>> SamlServiceProvider::create(SamlSpConfig config) {
  init_lasso();
  if (!lasso_ok) return fail("saml", "liblasso failed to initialise");
  if (config.sp_entity_id.empty() || config.acs_url.empty())
    return fail("config", "SAML SP needs an entity id and an ACS URL");
  std::unique_ptr<SamlServiceProvider> sp(new SamlServiceProvider(std::move(config)));
  sp->sp_metadata_ = sp_metadata_for(sp->config_);
  sp->state_->server =
      lasso_server_new_from_buffers(sp->sp_metadata_.c_str(), nullptr, nullptr, nullptr);
  if (!sp->state_->server) return fail("config", "liblasso refused the SP metadata");
  LassoProvider* idp = lasso_provider_new_from_buffer(
      LASSO_PROVIDER_ROLE_IDP, sp->config_.idp_metadata_xml.c_str(), nullptr, nullptr);
  if (!idp || !idp->ProviderID)
    return fail("config", "IdP metadata is not valid SAML 2.0 metadata");
  sp->idp_entity_id_ = idp->ProviderID;
  // Metadata without a signing key would make every signature check vacuous: refuse it here.
  if (!has_signing_certificate(sp->config_.idp_metadata_xml)) {
    g_object_unref(idp);
    return fail("config", "IdP metadata has no signing certificate");
  }
  if (lasso_server_add_provider2(sp->state_->server, idp) != 0) {
    g_object_unref(idp);
    return fail("config", "liblasso refused the IdP metadata");
  }
  g_object_unref(idp);  // the server holds its own reference
  return sp;
}

Result<SamlRedirect> SamlServiceProvider::begin_login(std::string_view relay_state,
                                                      int64_t now_unix) {
  std::lock_guard lock(state_->mu);
  state_->prune(now_unix);
  if (state_->pending.size() >= State::kMaxPending)
    return fail("busy", "too many SAML logins in progress");
  GRef<LassoLogin> login(lasso_login_new(state_->server));
  if (!login) return fail("saml", "liblasso: cannot start a login");
  LassoProfile* profile = LASSO_PROFILE(login.p);
  // We have no SP signing key; the IdP metadata decides whether it wants signed requests.
  lasso_profile_set_signature_hint(profile, LASSO_PROFILE_SIGNATURE_HINT_FORBID);
  int rc = lasso_login_init_authn_request(login.p, const_cast<char*>(idp_entity_id_.c_str()),
                                          LASSO_HTTP_METHOD_REDIRECT);
  if (rc != 0)
    return fail("saml",
                std::string("liblasso: cannot build an AuthnRequest: ") + lasso_strerror(rc));
  LassoSamlp2AuthnRequest* req = LASSO_SAMLP2_AUTHN_REQUEST(profile->request);
  g_free(req->ProtocolBinding);
  req->ProtocolBinding = g_strdup(LASSO_SAML2_METADATA_BINDING_POST);
  g_free(req->AssertionConsumerServiceURL);
  req->AssertionConsumerServiceURL = g_strdup(config_.acs_url.c_str());
  if (!relay_state.empty()) {
    g_free(profile->msg_relayState);
    profile->msg_relayState = g_strndup(relay_state.data(), relay_state.size());
  }
  rc = lasso_login_build_authn_request_msg(login.p);
  if (rc != 0 || !profile->msg_url)
    return fail("saml",
                std::string("liblasso: cannot encode the AuthnRequest: ") + lasso_strerror(rc));
  SamlRedirect out;
  out.url = profile->msg_url;
  const char* id = LASSO_SAMLP2_REQUEST_ABSTRACT(req)->ID;
  if (!id) return fail("saml", "liblasso: AuthnRequest without an ID");
  out.request_id = id;
  state_->pending[out.request_id] = now_unix + config_.request_lifetime.count();
  return out;
}

Result<SamlLogin> SamlServiceProvider::consume(std::string_view msg, int64_t now) {
  if (msg.size() > config_.max_response_bytes) return fail("too_large", "SAMLResponse too large");
  if (msg.empty()) return fail("malformed", "empty SAMLResponse");
  std::lock_guard lock(state_->mu);
  state_->prune(now);
  GRef<LassoLogin> login(lasso_login_new(state_->server));
  if (!login) return fail("saml", "liblasso: cannot start a login");
  LassoProfile* profile = LASSO_PROFILE(login.p);
  // MAYBE, not FORCE: FORCE insists on a signed Response element, while most IdPs sign only the
  // Assertion. Under MAYBE liblasso verifies whichever is signed and leaves the outcome in the
  // profile's signature status, which must be 0 (verified) for anything below to count.
  lasso_profile_set_signature_verify_hint(profile, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE);
  std::string copy(msg);
  int rc = lasso_login_process_authn_response_msg(login.p, copy.data());
  int sig = lasso_profile_get_signature_status(profile);
  // liblasso returns some of its codes negated on certain paths: compare magnitudes.
  auto is = [rc](int code) { return std::abs(rc) == std::abs(code); };
  if (is(LASSO_DS_ERROR_SIGNATURE_NOT_FOUND))
    return fail("unsigned", "neither the SAML response nor its assertion is signed");
  if (rc == LASSO_PROFILE_ERROR_STATUS_NOT_SUCCESS || rc == LASSO_LOGIN_ERROR_REQUEST_DENIED)
    return fail("status", "the IdP did not authenticate the user");
  if (rc == LASSO_PROFILE_ERROR_UNKNOWN_PROVIDER || rc == LASSO_SERVER_ERROR_PROVIDER_NOT_FOUND)
    return fail("issuer", "the SAML response comes from an unknown IdP");
  if (rc == LASSO_DS_ERROR_INVALID_SIGNATURE || rc == LASSO_PROFILE_ERROR_CANNOT_VERIFY_SIGNATURE ||
      rc == LASSO_DS_ERROR_SIGNATURE_VERIFICATION_FAILED ||
      rc == LASSO_LOGIN_ERROR_INVALID_SIGNATURE ||
      rc == LASSO_LOGIN_ERROR_INVALID_ASSERTION_SIGNATURE)
    return fail("bad_signature", "the SAML signature does not verify with the IdP's key");
  if (rc != 0)
    return fail("malformed", std::string("SAML response refused: ") + lasso_strerror(rc));

  if (!profile->response || !LASSO_IS_SAMLP2_RESPONSE(profile->response))
    return fail("malformed", "not a SAML 2.0 Response");
  LassoSamlp2Response* resp = LASSO_SAMLP2_RESPONSE(profile->response);
  LassoSamlp2StatusResponse* sr = LASSO_SAMLP2_STATUS_RESPONSE(resp);
  if (!sr->Status || !sr->Status->StatusCode || !sr->Status->StatusCode->Value ||
      std::string_view(sr->Status->StatusCode->Value) != LASSO_SAML2_STATUS_CODE_SUCCESS)
    return fail("status", "the IdP did not authenticate the user");
  // Exactly one plain assertion: with several, which one the signature covered is ambiguous
  // (signature wrapping); encrypted assertions need an SP key phigate does not have.
  if (resp->EncryptedAssertion) return fail("malformed", "encrypted assertions are not supported");
  if (!resp->Assertion || resp->Assertion->next)
    return fail("malformed", "the SAML response must carry exactly one assertion");
  auto* a = LASSO_SAML2_ASSERTION(resp->Assertion->data);
  // A signed Response covers its one assertion; otherwise the assertion must carry a signature
  // by the IdP's metadata key over exactly this element (Profiles §4.1.3.5). Either way the
  // outcome is decided on the parsed original nodes, not on a re-serialisation.
  if (sig != 0) {
    if (sig != LASSO_DS_ERROR_SIGNATURE_NOT_FOUND)
      return fail("bad_signature", "the SAML response signature does not verify");
    LassoProvider* idp = lasso_server_get_provider(state_->server, idp_entity_id_.c_str());
    if (!idp) return fail("issuer", "the IdP is not configured");
    int asig = lasso_provider_verify_single_node_signature(idp, LASSO_NODE(a), "ID");
    if (asig == LASSO_DS_ERROR_SIGNATURE_NOT_FOUND)
      return fail("unsigned", "neither the SAML response nor its assertion is signed");
    if (asig != 0)
      return fail("bad_signature", "the assertion signature does not verify with the IdP's key");
  }
  if (!a->ID || !*a->ID) return fail("malformed", "assertion without an ID");
  if (!a->Issuer || !a->Issuer->content || idp_entity_id_ != a->Issuer->content)
    return fail("issuer", "assertion issued by another IdP");
  if (sr->Issuer && sr->Issuer->content && idp_entity_id_ != sr->Issuer->content)
    return fail("issuer", "response issued by another IdP");
  if (sr->Destination && config_.acs_url != sr->Destination)
    return fail("recipient", "the response is addressed to another endpoint");

  // Conditions (SAML Core §2.5.1): a validity window and our Audience are both required.
  const int64_t skew = config_.clock_skew_seconds;
  int64_t not_on_or_after = 0;
  LassoSaml2Conditions* cond = a->Conditions;
  if (!cond) return fail("audience", "assertion without Conditions/AudienceRestriction");
  if (cond->NotBefore) {
    auto nb = parse_saml_instant(cond->NotBefore);
    if (!nb) return nb.error();
    if (*nb > now + skew) return fail("not_yet_valid", "assertion not valid yet");
  }
  if (cond->NotOnOrAfter) {
    auto na = parse_saml_instant(cond->NotOnOrAfter);
    if (!na) return na.error();
    if (*na <= now - skew) return fail("expired", "assertion expired");
    not_on_or_after = *na;
  }
  if (!cond->AudienceRestriction) return fail("audience", "assertion has no AudienceRestriction");
  for (GList* it = cond->AudienceRestriction; it; it = it->next) {
    auto* ar = LASSO_SAML2_AUDIENCE_RESTRICTION(it->data);
    if (!ar->Audience || config_.sp_entity_id != ar->Audience)
      return fail("audience", "assertion is meant for another audience");
  }

  // Bearer subject confirmation (Profiles §4.1.4.2): Recipient, NotOnOrAfter, InResponseTo.
  LassoSaml2Subject* subj = a->Subject;
  if (!subj || !subj->NameID || !subj->NameID->content || !*subj->NameID->content)
    return fail("no_subject", "assertion without a NameID");
  LassoSaml2SubjectConfirmation* sc = subj->SubjectConfirmation;
  if (!sc || !sc->Method ||
      std::string_view(sc->Method) != LASSO_SAML2_CONFIRMATION_METHOD_BEARER ||
      !sc->SubjectConfirmationData)
    return fail("recipient", "assertion without bearer SubjectConfirmation");
  LassoSaml2SubjectConfirmationData* scd = sc->SubjectConfirmationData;
  if (!scd->Recipient || config_.acs_url != scd->Recipient)
    return fail("recipient", "assertion is addressed to another endpoint");
  if (!scd->NotOnOrAfter) return fail("expired", "bearer confirmation without NotOnOrAfter");
  auto scd_na = parse_saml_instant(scd->NotOnOrAfter);
  if (!scd_na) return scd_na.error();
  if (*scd_na <= now - skew) return fail("expired", "assertion expired");
  if (scd->NotBefore) return fail("malformed", "bearer confirmation must not carry NotBefore");
  if (not_on_or_after == 0 || *scd_na < not_on_or_after) not_on_or_after = *scd_na;

  const char* irt = scd->InResponseTo;
  const char* resp_irt = sr->InResponseTo;
  if (irt || resp_irt) {
    if (!irt || (resp_irt && std::string_view(irt) != resp_irt))
      return fail("in_response_to", "InResponseTo of response and assertion differ");
    auto p = state_->pending.find(irt);
    if (p == state_->pending.end())
      return fail("in_response_to", "the response answers no login started here (or a used one)");
  } else if (!config_.allow_idp_initiated) {
    return fail("unsolicited", "unsolicited (IdP-initiated) responses are not accepted");
  }

  // One-time use: the assertion ID is remembered until the assertion would expire anyway.
  if (state_->seen.count(a->ID)) return fail("replayed", "assertion already used");
  if (state_->seen.size() >= State::kMaxSeen)
    return fail("busy", "replay cache full; try again later");

  SamlLogin out;
  out.subject = subj->NameID->content;
  if (subj->NameID->Format) out.name_id_format = subj->NameID->Format;
  out.assertion_id = a->ID;
  out.idp_entity_id = idp_entity_id_;
  out.not_on_or_after = not_on_or_after;
  for (GList* st = a->AttributeStatement; st; st = st->next) {
    auto* as = LASSO_SAML2_ATTRIBUTE_STATEMENT(st->data);
    for (GList* at = as->Attribute; at; at = at->next) {
      auto* attr = LASSO_SAML2_ATTRIBUTE(at->data);
      bool match = (attr->Name && config_.groups_attribute == attr->Name) ||
                   (attr->FriendlyName && config_.groups_attribute == attr->FriendlyName);
      if (!match) continue;
      for (GList* v = attr->AttributeValue; v; v = v->next) {
        auto* av = LASSO_SAML2_ATTRIBUTE_VALUE(v->data);
        for (GList* n = av->any; n; n = n->next) {
          std::string g = text_of(LASSO_NODE(n->data));
          if (!g.empty()) out.groups.push_back(std::move(g));
        }
      }
    }
  }
  // Commit only now: a refused response must not burn the login it claimed to answer.
  if (irt) state_->pending.erase(irt);
  state_->seen[out.assertion_id] = not_on_or_after + skew;
  return out;
}

}  // namespace phigate
