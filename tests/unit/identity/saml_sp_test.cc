// SAML SP validation against responses signed by a different implementation: the xmlsec1 command
// line tool (Debian xmlsec1) signs, liblasso + phigate's checks verify. Each attack is a response
// that a careless SP would accept.
#include "identity/saml_sp.h"

#include "identity/saml_login.h"
#include "identity/token_verifier.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/base64.h"
#include "common/time_text.h"
#include "../temp_dir.h"

namespace phigate {
namespace {

const char* kIdp = "https://idp.test/metadata";
const char* kSp = "phigate:gw-test";
const char* kAcs = "https://gw.test:18443/v1/saml/acs";

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string b64(std::string_view s) {
  return base64_encode(ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

struct Spec {
  std::string assertion_id = "_a1";
  std::string issuer = kIdp;
  std::string audience = kSp;
  std::string recipient = kAcs;
  std::string in_response_to;                       // filled from begin_login by default
  int64_t not_before = -60, not_on_or_after = 300;  // relative to now
  std::string status = "urn:oasis:names:tc:SAML:2.0:status:Success";
  std::string subject = "alice@example.org";
  bool sign = true;
  bool with_audience = true;
};

std::string signature_template(const std::string& id) {
  return "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>"
         "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"
         "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>"
         "<ds:Reference URI=\"#" +
         id +
         "\"><ds:Transforms>"
         "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
         "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>"
         "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>"
         "<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>"
         "<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>";
}

std::string assertion_xml(const Spec& s, int64_t now) {
  std::string irt = s.in_response_to.empty() ? "" : " InResponseTo=\"" + s.in_response_to + "\"";
  std::string x =
      "<saml:Assertion ID=\"" + s.assertion_id + "\" Version=\"2.0\" IssueInstant=\"" +
      phigate::utc_rfc3339(now) + "\"><saml:Issuer>" + s.issuer + "</saml:Issuer>" +
      (s.sign ? signature_template(s.assertion_id) : "") +
      "<saml:Subject><saml:NameID "
      "Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">" +
      s.subject +
      "</saml:NameID><saml:SubjectConfirmation "
      "Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\"><saml:SubjectConfirmationData" +
      irt + " Recipient=\"" + s.recipient + "\" NotOnOrAfter=\"" +
      phigate::utc_rfc3339(now + s.not_on_or_after) +
      "\"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore=\"" +
      phigate::utc_rfc3339(now + s.not_before) + "\" NotOnOrAfter=\"" +
      phigate::utc_rfc3339(now + s.not_on_or_after) + "\">" +
      (s.with_audience ? "<saml:AudienceRestriction><saml:Audience>" + s.audience +
                             "</saml:Audience></saml:AudienceRestriction>"
                       : "") +
      "</saml:Conditions><saml:AuthnStatement AuthnInstant=\"" + phigate::utc_rfc3339(now) +
      "\"><saml:AuthnContext><saml:AuthnContextClassRef>"
      "urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef>"
      "</saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>"
      "<saml:Attribute Name=\"groups\"><saml:AttributeValue>analysts</saml:AttributeValue>"
      "<saml:AttributeValue>etl</saml:AttributeValue></saml:Attribute>"
      "</saml:AttributeStatement></saml:Assertion>";
  return x;
}

std::string response_xml(const Spec& s, int64_t now, const std::string& assertions) {
  std::string irt = s.in_response_to.empty() ? "" : " InResponseTo=\"" + s.in_response_to + "\"";
  return "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
         "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_r1\" Version=\"2.0\" "
         "IssueInstant=\"" +
         phigate::utc_rfc3339(now) + "\" Destination=\"" + std::string(kAcs) + "\"" + irt +
         "><saml:Issuer>" + s.issuer + "</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"" +
         s.status + "\"/></samlp:Status>" + assertions + "</samlp:Response>";
}

class SamlSpTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  std::unique_ptr<SamlServiceProvider> sp;
  int64_t now = std::time(nullptr);

  void SetUp() override {
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir.file("idp.key") +
                      " -out " + dir.file("idp.crt") +
                      " -days 2 -subj /CN=idp.test >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    SamlSpConfig c;
    c.sp_entity_id = kSp;
    c.acs_url = kAcs;
    c.idp_metadata_xml = metadata_for(dir.file("idp.crt"));
    auto made = SamlServiceProvider::create(c);
    ASSERT_TRUE(made.ok()) << made.error().message;
    sp = std::move(*made);
  }

  static std::string metadata_for(const std::string& crt_path) {
    std::string pem = read_file(crt_path);
    replace_all(pem, "-----BEGIN CERTIFICATE-----", "");
    replace_all(pem, "-----END CERTIFICATE-----", "");
    replace_all(pem, "\n", "");
    return std::string(
               "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
               "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"") +
           kIdp +
           "\"><md:IDPSSODescriptor WantAuthnRequestsSigned=\"false\" "
           "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
           "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>" +
           pem +
           "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
           "<md:SingleSignOnService "
           "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
           "Location=\"https://idp.test/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>";
  }

  std::string start_login() {
    auto r = sp->begin_login("relay-1", now);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->request_id : "";
  }

  // Signs every <saml:Assertion> that carries a signature template, with the IdP key unless
  // another key is given.
  std::string sign(const std::string& xml, const std::string& key = "",
                   const std::string& crt = "") {
    std::ofstream(dir.file("tmpl.xml")) << xml;
    std::string k = key.empty() ? dir.file("idp.key") : key;
    std::string c = crt.empty() ? dir.file("idp.crt") : crt;
    std::string cmd = "xmlsec1 --sign --privkey-pem " + k + "," + c +
                      " --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion --output " +
                      dir.file("signed.xml") + " " + dir.file("tmpl.xml") + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return read_file(dir.file("signed.xml"));
  }

  std::string build(Spec s, const std::function<void(std::string&)>& tamper = nullptr) {
    std::string xml = response_xml(s, now, assertion_xml(s, now));
    if (s.sign) xml = sign(xml);
    if (tamper) tamper(xml);
    return b64(xml);
  }

  std::string code_of(const std::string& msg) {
    auto r = sp->consume(msg, now);
    return r.ok() ? "ok" : r.error().code;
  }
};

TEST_F(SamlSpTest, RedirectCarriesAnAuthnRequestForTheIdp) {
  auto r = sp->begin_login("relay-1", now);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->url.rfind("https://idp.test/sso?", 0), 0u) << r->url;
  EXPECT_NE(r->url.find("SAMLRequest="), std::string::npos);
  EXPECT_NE(r->url.find("RelayState=relay-1"), std::string::npos);
  EXPECT_FALSE(r->request_id.empty());
}

TEST_F(SamlSpTest, ValidSignedAssertionLogsIn) {
  Spec s;
  s.in_response_to = start_login();
  auto r = sp->consume(build(s), now);
  ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
  EXPECT_EQ(r->subject, "alice@example.org");
  EXPECT_EQ(r->groups, (std::vector<std::string>{"analysts", "etl"}));
  EXPECT_EQ(r->assertion_id, "_a1");
  EXPECT_EQ(r->not_on_or_after, now + 300);
}

TEST_F(SamlSpTest, ReplayedAssertionRefused) {
  Spec s;
  s.in_response_to = start_login();
  std::string msg = build(s);
  ASSERT_EQ(code_of(msg), "ok");
  // Same response again: the login it answered is used up, and the assertion ID is remembered.
  EXPECT_EQ(code_of(msg), "in_response_to");
  // Even answering a fresh login, a used assertion ID stays refused.
  Spec again = s;
  again.in_response_to = start_login();
  EXPECT_EQ(code_of(build(again)), "replayed");
}

TEST_F(SamlSpTest, UnsignedRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.sign = false;
  auto r = sp->consume(build(s), now);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "unsigned") << r.error().message;
}

TEST_F(SamlSpTest, TamperedSubjectRefused) {
  Spec s;
  s.in_response_to = start_login();
  EXPECT_EQ(code_of(build(s, [](std::string& x) { replace_all(x, "alice@", "mallory@"); })),
            "bad_signature");
}

TEST_F(SamlSpTest, TamperedGroupsRefused) {
  Spec s;
  s.in_response_to = start_login();
  EXPECT_EQ(code_of(build(s, [](std::string& x) { replace_all(x, ">etl<", ">security<"); })),
            "bad_signature");
}

TEST_F(SamlSpTest, SignedByAnotherKeyRefused) {
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir.file("evil.key") +
                    " -out " + dir.file("evil.crt") + " -days 2 -subj /CN=idp.test >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Spec s;
  s.in_response_to = start_login();
  std::string xml = response_xml(s, now, assertion_xml(s, now));
  xml = sign(xml, dir.file("evil.key"), dir.file("evil.crt"));
  EXPECT_EQ(code_of(b64(xml)), "bad_signature");
}

TEST_F(SamlSpTest, ExpiredRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.not_before = -900;
  s.not_on_or_after = -300;  // beyond the 60 s skew
  EXPECT_EQ(code_of(build(s)), "expired");
}

TEST_F(SamlSpTest, NotYetValidRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.not_before = 600;
  s.not_on_or_after = 900;
  EXPECT_EQ(code_of(build(s)), "not_yet_valid");
}

TEST_F(SamlSpTest, WrongAudienceRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.audience = "https://other-sp.example";
  EXPECT_EQ(code_of(build(s)), "audience");
}

TEST_F(SamlSpTest, MissingAudienceRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.with_audience = false;
  EXPECT_EQ(code_of(build(s)), "audience");
}

TEST_F(SamlSpTest, WrongRecipientRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.recipient = "https://other-sp.example/acs";
  EXPECT_EQ(code_of(build(s)), "recipient");
}

TEST_F(SamlSpTest, UnknownInResponseToRefused) {
  start_login();
  Spec s;
  s.in_response_to = "_never_requested";
  EXPECT_EQ(code_of(build(s)), "in_response_to");
}

TEST_F(SamlSpTest, UnsolicitedRefusedByDefault) {
  Spec s;  // no InResponseTo: IdP-initiated
  EXPECT_EQ(code_of(build(s)), "unsolicited");
}

TEST_F(SamlSpTest, IdpErrorStatusRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.status = "urn:oasis:names:tc:SAML:2.0:status:Responder";
  EXPECT_EQ(code_of(build(s)), "status");
}

TEST_F(SamlSpTest, AssertionFromAnotherIssuerRefused) {
  Spec s;
  s.in_response_to = start_login();
  s.issuer = "https://evil-idp.example";
  EXPECT_NE(code_of(build(s)), "ok");
}

// Signature wrapping: the signed assertion stays intact but a forged one rides next to it.
TEST_F(SamlSpTest, WrappedSecondAssertionRefused) {
  Spec s;
  s.in_response_to = start_login();
  std::string signed_xml = sign(response_xml(s, now, assertion_xml(s, now)));
  Spec evil = s;
  evil.assertion_id = "_evil";
  evil.subject = "root@example.org";
  evil.sign = false;
  std::string forged = assertion_xml(evil, now);
  size_t at = signed_xml.find("<saml:Assertion");
  ASSERT_NE(at, std::string::npos);
  signed_xml.insert(at, forged);
  EXPECT_NE(code_of(b64(signed_xml)), "ok");
}

// XSW: the genuinely signed assertion is tucked into Extensions, a forged one (carrying a copy of
// the genuine signature, whose Reference points at the hidden one) takes its place.
TEST_F(SamlSpTest, SignatureMovedToForgedAssertionRefused) {
  Spec s;
  s.in_response_to = start_login();
  std::string signed_xml = sign(response_xml(s, now, assertion_xml(s, now)));
  size_t a0 = signed_xml.find("<saml:Assertion");
  size_t a1 = signed_xml.find("</saml:Assertion>") + std::string("</saml:Assertion>").size();
  std::string genuine = signed_xml.substr(a0, a1 - a0);
  size_t s0 = genuine.find("<ds:Signature");
  size_t s1 = genuine.find("</ds:Signature>") + std::string("</ds:Signature>").size();
  ASSERT_NE(s0, std::string::npos);
  std::string sig = genuine.substr(s0, s1 - s0);
  Spec evil = s;
  evil.assertion_id = "_evil";
  evil.subject = "root@example.org";
  evil.sign = false;
  std::string forged = assertion_xml(evil, now);
  size_t after_issuer = forged.find("</saml:Issuer>") + std::string("</saml:Issuer>").size();
  forged.insert(after_issuer, sig);
  std::string attack = signed_xml.substr(0, a0) + forged + signed_xml.substr(a1);
  size_t status = attack.find("<samlp:Status>");
  attack.insert(status, "<samlp:Extensions>" + genuine + "</samlp:Extensions>");
  EXPECT_NE(code_of(b64(attack)), "ok");
  // And the plain swap: forged assertion keeps the genuine ID but its content changed.
  std::string swapped = signed_xml;
  replace_all(swapped, "alice@example.org", "root@example.org");
  EXPECT_EQ(code_of(b64(swapped)), "bad_signature");
}

TEST_F(SamlSpTest, GarbageNeverCrashes) {
  for (std::string msg : {std::string("not base64 !!"), b64("<xml"), b64("<samlp:Response/>"),
                          b64(std::string(5000, 'A')), std::string(300 * 1024, 'A')}) {
    auto r = sp->consume(msg, now);
    EXPECT_FALSE(r.ok());
  }
  EXPECT_EQ(code_of(""), "malformed");
  EXPECT_EQ(code_of(std::string(300 * 1024, 'A')), "too_large");
}

TEST_F(SamlSpTest, MetadataWithoutSigningKeyRefused) {
  SamlSpConfig c;
  c.sp_entity_id = kSp;
  c.acs_url = kAcs;
  c.idp_metadata_xml = std::string(
                           "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                           "entityID=\"") +
                       kIdp +
                       "\"><md:IDPSSODescriptor "
                       "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
                       "<md:SingleSignOnService "
                       "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
                       "Location=\"https://idp.test/sso\"/></md:IDPSSODescriptor>"
                       "</md:EntityDescriptor>";
  EXPECT_FALSE(SamlServiceProvider::create(c).ok()) << "no key";
  c.idp_metadata_xml = "<not-metadata/>";
  EXPECT_FALSE(SamlServiceProvider::create(c).ok()) << "not metadata";
}

// The whole login: IdP response in, phigate token out, and that token verifies on the data path
// with the person's groups and the SAML issuer named as the identity's issuer.
TEST_F(SamlSpTest, LoginMintsAShortLivedTokenNamingTheIdp) {
  std::ofstream(dir.file("idp.xml")) << metadata_for(dir.file("idp.crt"));
  auto local = LocalIssuer::load_or_create(dir.path(), "gw-test");
  ASSERT_TRUE(local.ok());
  SamlIssuerSettings is{"corp-saml", dir.file("idp.xml"), "groups", kSp, kAcs};
  auto logins = SamlLogins::create({is}, *local, std::chrono::minutes(15), 60);
  ASSERT_TRUE(logins.ok()) << logins.error().message;
  auto redirect = (*logins)->begin("corp-saml", "", now);
  ASSERT_TRUE(redirect.ok());
  Spec s;
  s.in_response_to = redirect->request_id;
  s.not_on_or_after = 120;  // shorter than the 15 min token TTL: the token must follow it
  std::string xml = sign(response_xml(s, now, assertion_xml(s, now)));
  auto tok = (*logins)->complete("corp-saml", b64(xml), now);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->expires_at, now + 120);
  TokenVerifier verifier(*local, "local", {{"analysts", {"analyst"}}});
  auto id = verifier.verify(tok->token, now);
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->sub, "alice@example.org");
  EXPECT_EQ(id->issuer, "corp-saml");
  EXPECT_EQ(id->roles, std::vector<std::string>{"analyst"});
  EXPECT_FALSE(verifier.verify(tok->token, now + 200).ok());
  // The same response cannot mint a second token.
  EXPECT_FALSE((*logins)->complete("corp-saml", b64(xml), now).ok());
  EXPECT_FALSE((*logins)->complete("nope", b64(xml), now).ok());
}

TEST(SamlInstant, ParsesUtcOnly) {
  EXPECT_EQ(*parse_saml_instant("1970-01-01T00:00:10Z"), 10);
  EXPECT_EQ(*parse_saml_instant("2026-11-25T19:30:00.123Z"), 1795635000);
  EXPECT_FALSE(parse_saml_instant("2026-11-25T19:30:00+01:00").ok());
  EXPECT_FALSE(parse_saml_instant("2026-11-25 19:30:00Z").ok());
  EXPECT_FALSE(parse_saml_instant("2026-13-25T19:30:00Z").ok());
  EXPECT_FALSE(parse_saml_instant("2026-11-25T19:30:00.Z").ok());
}

}  // namespace
}  // namespace phigate
