#!/usr/bin/env python3
"""SAML login at the admin listener, end to end: phigate redirects to the IdP with an AuthnRequest,
the IdP's response (signed here by the xmlsec1 command-line tool, a different implementation from
phigate's liblasso) is posted to the ACS, phigate answers with a short-lived token, and that token
opens a psql session whose audit names the SAML issuer. Tampered, expired, wrong-audience,
replayed, unsigned and unsolicited responses are refused with a JSON error and never yield a token.
"""
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
ADMIN = None
DIR = None
IDP = "https://idp.test/metadata"
SP = "phigate:gw-test"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def instant(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def setup_module():
    global pg, gw, ADMIN, DIR
    DIR = harness.tmpdir("saml")
    sh(f"openssl req -x509 -newkey rsa:2048 -nodes -keyout {DIR}/idp.key -out {DIR}/idp.crt "
       f"-days 2 -subj /CN=idp.test")
    cert = "".join(l for l in open(f"{DIR}/idp.crt").read().splitlines() if "-----" not in l)
    with open(f"{DIR}/idp.xml", "w") as f:
        f.write(
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}">'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f'{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            'Location="https://idp.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>')
    pg = harness.start_postgres(patients=20)
    admin_port = harness.free_port()
    ADMIN = f"http://127.0.0.1:{admin_port}"
    cfg = harness.default_config(pg)
    cfg["gateway"]["listen"]["admin"] = f"127.0.0.1:{admin_port}"
    cfg["identity"]["issuers"].append({"name": "corp-saml", "type": "saml",
                                       "idp_metadata": f"{DIR}/idp.xml",
                                       "groups_attribute": "memberOf",
                                       "sp_entity_id": SP})
    gw = harness.start_phigate(pg, cfg)
    harness.wait_port(admin_port, gw.proc)


def acs_url():
    return f"{ADMIN}/v1/saml/corp-saml/acs"


def start_login():
    """GET the login endpoint; returns the AuthnRequest ID the IdP must answer."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(f"{ADMIN}/v1/saml/corp-saml/login?relay=x", timeout=10)
        raise AssertionError("login did not redirect")
    except urllib.error.HTTPError as e:
        eq(e.code, 302, "login redirects to the IdP")
        loc = e.headers["Location"]
    check(loc.startswith("https://idp.test/sso?"), loc)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    check(f'AssertionConsumerServiceURL="{acs_url()}"' in xml, xml)
    m = re.search(r'\bID="([^"]+)"', xml)
    return m.group(1)


SIG = ('<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
       '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
       '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
       '<ds:Reference URI="#{id}"><ds:Transforms>'
       '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
       '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
       '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
       '<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>'
       '<ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>')


def response(irt, aid, sub="alice@example.org", audience=SP, life=300, sign=True,
             groups=("analysts",)):
    now = int(time.time())
    irt_attr = f' InResponseTo="{irt}"' if irt else ""
    vals = "".join(f"<saml:AttributeValue>{g}</saml:AttributeValue>" for g in groups)
    xml = (
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" '
        f'IssueInstant="{instant(now)}" Destination="{acs_url()}"{irt_attr}>'
        f'<saml:Issuer>{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode '
        'Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f'<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{instant(now)}">'
        f'<saml:Issuer>{IDP}</saml:Issuer>' + (SIG.format(id=aid) if sign else "") +
        '<saml:Subject><saml:NameID>' + sub + '</saml:NameID>'
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData{irt_attr} Recipient="{acs_url()}" '
        f'NotOnOrAfter="{instant(now + life)}"/></saml:SubjectConfirmation></saml:Subject>'
        f'<saml:Conditions NotBefore="{instant(now - 60)}" NotOnOrAfter="{instant(now + life)}">'
        f'<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience>'
        '</saml:AudienceRestriction></saml:Conditions>'
        f'<saml:AuthnStatement AuthnInstant="{instant(now)}"><saml:AuthnContext>'
        '<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password'
        '</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>'
        f'<saml:AttributeStatement><saml:Attribute Name="memberOf">{vals}</saml:Attribute>'
        '</saml:AttributeStatement></saml:Assertion></samlp:Response>')
    if not sign:
        return xml
    with open(f"{DIR}/tmpl.xml", "w") as f:
        f.write(xml)
    sh(f"xmlsec1 --sign --privkey-pem {DIR}/idp.key,{DIR}/idp.crt --id-attr:ID "
       f"urn:oasis:names:tc:SAML:2.0:assertion:Assertion --output {DIR}/signed.xml {DIR}/tmpl.xml")
    return open(f"{DIR}/signed.xml").read()


def post_acs(xml):
    body = urllib.parse.urlencode({"SAMLResponse": base64.b64encode(xml.encode()).decode(),
                                   "RelayState": "x"}).encode()
    req = urllib.request.Request(acs_url(), data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_login_yields_a_token_that_opens_a_session():
    irt = start_login()
    code, body = post_acs(response(irt, "_ok1"))
    eq(code, 200, f"ACS accepted a good response: {body}")
    token = body["token"]
    eq(body["sub"], "alice@example.org")
    rc, out, err = gw.psql(token, "SELECT count(*) FROM patients")
    check(rc == 0, err)
    rows = gw.audit_query(
        "SELECT json_extract(record,'$.issuer') FROM audit_events WHERE type='session_start' "
        "AND sub='alice@example.org'")
    check(rows and rows[-1][0] == "corp-saml", f"audit names the SAML issuer: {rows}")
    # The very same response again: replayed, no second token.
    code, body = post_acs(response(irt, "_ok1"))
    check(code in (400, 401), f"replay refused: {code} {body}")
    check("token" not in body and body.get("error"), body)


def test_attacks_are_refused_with_a_reason():
    cases = {
        "tampered": lambda irt: response(irt, "_t1").replace("alice@", "mallory@"),
        "wrong audience": lambda irt: response(irt, "_t2", audience="https://other.example"),
        "expired": lambda irt: response(irt, "_t3", life=-300),
        "unsigned": lambda irt: response(irt, "_t4", sign=False),
        "unsolicited": lambda irt: response(None, "_t5"),
        "unknown request": lambda irt: response("_never_asked", "_t6"),
    }
    for name, make in cases.items():
        irt = start_login()
        code, body = post_acs(make(irt))
        check(code in (400, 401), f"{name}: refused with a client error, got {code} {body}")
        check("token" not in body and body.get("error"), f"{name}: JSON error, no token: {body}")
    code, body = post_acs("<not-saml/>")
    check(code == 400 and body.get("error"), f"garbage refused: {code} {body}")
    check(gw.alive(), "gateway survived every attack")


def test_sp_metadata_published():
    with urllib.request.urlopen(f"{ADMIN}/v1/saml/corp-saml/metadata", timeout=10) as r:
        xml = r.read().decode()
    check(f'entityID="{SP}"' in xml and acs_url() in xml, xml)


if __name__ == "__main__":
    harness.main(globals())
