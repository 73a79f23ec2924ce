#!/usr/bin/env python3
"""OIDC issuers end to end against a real OpenID Connect provider (npm oidc-provider, started here
on loopback): a worker's client-credentials JWT access token and a person's authorization-code +
PKCE token both open psql sessions through phigate; forged tokens are refused with their reason
class; a key rotation at the provider is picked up (old-key tokens then fail as unknown_key); a
workflow token is exchanged (RFC 8693) for a narrower per-task token that reaches only its
resource, and the audit records carry sub, issuer, groups, roles, task, workflow and act."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
from harness import check, eq  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER_DIR = os.path.join(HERE, "oidc")

pg = gw = None
idp = idp_tls = None  # the running provider: dict(proc, port, issuer, dir)
TOKENS = []  # every token handed out, to prove none lands in the audit or the log


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def ensure_node_modules():
    if os.path.isdir(os.path.join(PROVIDER_DIR, "node_modules", "oidc-provider")):
        return
    # scripts/install-deps.sh runs this; a fresh checkout that skipped it gets it here.
    rc, out, err = harness.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR,
                               timeout=300)
    check(rc == 0, f"npm ci failed in {PROVIDER_DIR}: {err[-2000:]}")


def start_provider(port, key_file, alg="RS256", tls=None):
    """tls: (cert, key) to serve https://localhost:PORT."""
    log = open(os.path.join(idp_dir(), f"provider-{port}-{alg}.log"), "ab")
    env = dict(os.environ)
    if tls:
        env.update(TLS_CERT=tls[0], TLS_KEY=tls[1])
    proc = subprocess.Popen(["node", os.path.join(PROVIDER_DIR, "provider.mjs"), str(port),
                             key_file, alg], stdout=log, stderr=subprocess.STDOUT,
                            cwd=PROVIDER_DIR, env=env)
    log.close()
    harness.on_exit(lambda: proc.poll() is None and (proc.terminate(), proc.wait(10)))
    check(harness.wait_port(port, proc, timeout=30), "oidc-provider did not start")
    return proc


_idp_dir = None


def idp_dir():
    global _idp_dir
    if _idp_dir is None:
        _idp_dir = harness.tmpdir("idp")
    return _idp_dir


def http(method, url, data=None, headers=None, opener=None, tls=None):
    """tls: an ssl.SSLContext for https URLs."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if opener is None:
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls))
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def worker_token(provider=None):
    provider = provider or idp
    basic = base64.b64encode(b"worker:worker-secret").decode()
    st, _, body = http("POST", provider["issuer"] + "/token",
                       {"grant_type": "client_credentials", "scope": "db",
                        "resource": "urn:phigate"},
                       {"Authorization": "Basic " + basic}, tls=provider.get("tls"))
    eq(st, 200, f"client_credentials: {body}")
    tok = json.loads(body)["access_token"]
    TOKENS.append(tok)
    return tok


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def person_token(login):
    """Authorization code + PKCE (RFC 7636, S256), driven programmatically; the provider's
    interaction logs `login` in and consents without HTML."""
    verifier = b64e(os.urandom(32))
    challenge = b64e(hashlib.sha256(verifier.encode()).digest())
    redirect_uri = "http://127.0.0.1/callback"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()),
                                         _NoRedirect())
    url = idp["issuer"] + "/auth?" + urllib.parse.urlencode({
        "client_id": "cli", "response_type": "code", "redirect_uri": redirect_uri,
        "scope": "openid db", "resource": "urn:phigate", "code_challenge": challenge,
        "code_challenge_method": "S256", "login_hint": login, "state": "st-1"})
    code = None
    for _ in range(10):
        st, headers, body = http("GET", url, opener=opener)
        check(st in (302, 303), f"authorization flow stopped at {st}: {body[:500]}")
        loc = headers.get("Location") or headers.get("location")
        if loc.startswith(redirect_uri):
            q = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
            check("code" in q, f"no code in redirect: {loc}")
            eq(q.get("state"), ["st-1"], "state round trip")
            code = q["code"][0]
            break
        url = urllib.parse.urljoin(url, loc)
    check(code is not None, "authorization flow did not reach the redirect_uri")
    # Without the verifier the code is useless (PKCE).
    st, _, body = http("POST", idp["issuer"] + "/token",
                       {"grant_type": "authorization_code", "code": code,
                        "redirect_uri": redirect_uri, "client_id": "cli",
                        "code_verifier": b64e(os.urandom(32)), "resource": "urn:phigate"})
    eq(st, 400, f"wrong PKCE verifier accepted: {body}")
    # A code is single-use (a failed redemption may burn it), so a second flow gets the token.
    return _finish_person(login, opener, redirect_uri)


def _finish_person(login, opener, redirect_uri):
    verifier = b64e(os.urandom(32))
    challenge = b64e(hashlib.sha256(verifier.encode()).digest())
    url = idp["issuer"] + "/auth?" + urllib.parse.urlencode({
        "client_id": "cli", "response_type": "code", "redirect_uri": redirect_uri,
        "scope": "openid db", "resource": "urn:phigate", "code_challenge": challenge,
        "code_challenge_method": "S256", "login_hint": login, "prompt": "login"})
    code = None
    for _ in range(10):
        st, headers, body = http("GET", url, opener=opener)
        check(st in (302, 303), f"authorization flow stopped at {st}: {body[:500]}")
        loc = headers.get("Location") or headers.get("location")
        if loc.startswith(redirect_uri):
            code = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["code"][0]
            break
        url = urllib.parse.urljoin(url, loc)
    check(code is not None, "second authorization flow did not reach the redirect_uri")
    st, _, body = http("POST", idp["issuer"] + "/token",
                       {"grant_type": "authorization_code", "code": code,
                        "redirect_uri": redirect_uri, "client_id": "cli",
                        "code_verifier": verifier, "resource": "urn:phigate"})
    eq(st, 200, f"authorization_code exchange: {body}")
    tok = json.loads(body)["access_token"]
    check(tok.count(".") == 2, "access token is not a JWT (resource indicator not applied?)")
    TOKENS.append(tok)
    return tok


def start_tls_provider(cert, key):
    port = harness.free_port()
    key_file = os.path.join(idp_dir(), f"k-tls-{port}.json")
    proc = start_provider(port, key_file, "RS256", tls=(cert, key))
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False  # the test client only; phigate's own check is what is tested
    return {"proc": proc, "port": port, "issuer": f"https://localhost:{port}", "tls": ctx}


def setup_module():
    global pg, gw, idp, idp_tls
    if shutil.which("node") is None:
        raise AssertionError("node is not installed (scripts/install-deps.sh installs nodejs)")
    ensure_node_modules()
    port = harness.free_port()
    k1 = os.path.join(idp_dir(), "k1.json")
    proc = start_provider(port, k1, "RS256")
    idp = {"proc": proc, "port": port, "issuer": f"http://127.0.0.1:{port}"}

    # An https provider whose certificate phigate trusts through the issuer's ca_file.
    cert, key = os.path.join(idp_dir(), "idp.crt"), os.path.join(idp_dir(), "idp.key")
    harness.make_cert(cert, key)
    idp_tls = start_tls_provider(cert, key)
    idp_tls["ca_file"] = cert

    pg = harness.start_postgres(patients=20)
    pg.add_database("billing")
    cfg = harness.default_config(pg)
    cfg["identity"]["issuers"].append({
        "name": "corp", "type": "oidc", "issuer": idp["issuer"], "audience": "phigate",
        "groups_claim": "realm_access.roles",
        # Every unknown kid may refetch at once: the rotation test then needs no waiting.
        "jwks_refresh_min_interval": "0s"})
    cfg["identity"]["issuers"].append({
        "name": "corp-tls", "type": "oidc", "issuer": idp_tls["issuer"], "audience": "phigate",
        "groups_claim": "realm_access.roles", "ca_file": idp_tls["ca_file"]})
    cfg["identity"]["group_roles"]["etl"] = ["etl"]
    cfg["resources"].append(harness.resource(pg, "billing"))
    cfg["roles"]["etl"] = {"resources": ["clinic", "billing"],
                           "rules": [{"match": {"statement": ["select"]}, "action": "allow"}]}
    gw = harness.start_phigate(pg, cfg)


def fatal(token, dbname="clinic"):
    fields, closed = pgwire.connect_error("127.0.0.1", gw.port, "tester", dbname, token)
    check(fields is not None, "connection was accepted")
    check(closed, "socket left open after FATAL")
    return fields


def expect_refused(token, reason, code="28P01", dbname="clinic"):
    f = fatal(token, dbname)
    eq(f.get("C"), code, f"SQLSTATE for {reason}: {f}")
    check(f"({reason})" in f.get("M", ""), f"message does not name '{reason}': {f}")
    for t in TOKENS + [token]:
        for part in t.split("."):
            if len(part) >= 16:
                check(part[:16] not in json.dumps(f), f"error echoes a token: {f}")


def session_record(sub, **match):
    rows = gw.audit_query("SELECT record FROM audit_events WHERE type='session_start' "
                          "AND sub=? ORDER BY seq DESC", (sub,))
    for (rec,) in rows:
        r = json.loads(rec)
        if all(r.get(k) == v for k, v in match.items()):
            return r
    raise AssertionError(f"no session_start for {sub} with {match}; have "
                         f"{[json.loads(x[0]) for x in rows][:3]}")


def test_worker_client_credentials_token():
    tok = worker_token()
    rc, out, err = gw.psql(tok, "SELECT current_database()", args=["-At"])
    eq((rc, out.strip()), (0, "clinic"), f"psql with a worker token: {err}")
    claims = json.loads(b64d(tok.split(".")[1]))
    r = session_record("worker")
    eq(r["issuer"], "corp")
    eq(r["groups"], ["etl"])
    eq(r["roles"], ["etl"])
    eq(r["jti"], claims["jti"])


def test_person_authorization_code_pkce():
    tok = person_token("alice")
    header = json.loads(b64d(tok.split(".")[0]))
    eq(header.get("typ"), "at+jwt", "RFC 9068 access token")
    rc, out, err = gw.psql(tok, "SELECT count(*) > 0 FROM patients", args=["-At"])
    eq((rc, out.strip()), (0, "t"), f"psql with alice's token: {err}")
    r = session_record("alice")
    eq((r["issuer"], r["groups"], r["roles"]), ("corp", ["analysts"], ["analyst"]))
    # A person whose groups map to no role is authenticated but reaches nothing.
    bob = person_token("bob")
    f = fatal(bob)
    eq(f.get("C"), "28000", f"{f}")


def test_forged_tokens_are_refused_with_their_reason():
    good = worker_token()
    h, p, s = good.split(".")
    header = json.loads(b64d(h))
    claims = json.loads(b64d(p))
    # alg none
    none_h = b64e(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    expect_refused(f"{none_h}.{p}.", "bad_signature")
    # HS256 keyed with the provider's published RSA key (modulus bytes and the JWK text)
    st, _, body = http("GET", idp["issuer"] + "/jwks")
    jwk = json.loads(body)["keys"][0]
    for secret in (b64d(jwk["n"]), json.dumps(jwk).encode()):
        hs_h = b64e(json.dumps({"alg": "HS256", "kid": header["kid"]}).encode())
        mac = hmac.new(secret, f"{hs_h}.{p}".encode(), hashlib.sha256).digest()
        expect_refused(f"{hs_h}.{p}.{b64e(mac)}", "bad_signature")
    # tampered payload: more groups
    claims2 = dict(claims, realm_access={"roles": ["etl", "security"]})
    expect_refused(f"{h}.{b64e(json.dumps(claims2).encode())}.{s}", "bad_signature")
    # unknown kid (a refresh happens; the key still is not published)
    kid_h = b64e(json.dumps(dict(header, kid="no-such-key")).encode())
    expect_refused(f"{kid_h}.{p}.{s}", "unknown_key")
    # an issuer phigate does not know
    evil = b64e(json.dumps(dict(claims, iss="http://127.0.0.1:1")).encode())
    expect_refused(f"{h}.{evil}.{s}", "unknown_issuer")
    # duplicate member names
    dup = b64e((json.dumps(claims)[:-1] + ', "sub": "admin"}').encode())
    expect_refused(f"{h}.{dup}.{s}", "malformed")
    # padding, whitespace, oversize
    expect_refused(f"{h}=.{p}.{s}", "malformed")
    expect_refused(f"{h}.{p} .{s}", "malformed")
    expect_refused(f"{h}.{p}.{s}" + "A" * 20000, "too_large")
    # the failures are audited with their reason class
    msgs = [json.loads(r[0])["message"] for r in gw.audit_query(
        "SELECT record FROM audit_events WHERE type='auth_failure'")]
    for reason in ("bad_signature", "unknown_key", "unknown_issuer", "malformed", "too_large"):
        check(any(m.startswith(reason + ":") for m in msgs), f"no audited failure {reason}: {msgs}")


def test_key_rotation_is_picked_up():
    global idp
    old = worker_token()
    rc, _, err = gw.psql(old, "SELECT 1", args=["-At"])
    eq(rc, 0, f"old-key token before rotation: {err}")
    # Rotate: the provider restarts with a new key (new kid) and now signs with PS256.
    idp["proc"].terminate()
    idp["proc"].wait(10)
    k2 = os.path.join(idp_dir(), "k2.json")
    idp["proc"] = start_provider(idp["port"], k2, "PS256")
    new = worker_token()
    eq(json.loads(b64d(new.split(".")[0]))["alg"], "PS256")
    check(json.loads(b64d(new.split(".")[0]))["kid"] != json.loads(b64d(old.split(".")[0]))["kid"],
          "rotation kept the kid")
    rc, out, err = gw.psql(new, "SELECT 2", args=["-At"])
    eq((rc, out.strip()), (0, "2"), f"new-key token after rotation: {err}")
    # The old key is no longer published: its (unexpired) tokens now fail closed.
    expect_refused(old, "unknown_key")


def test_token_exchange_narrows_a_workflow_token():
    wf = worker_token()
    base = ["token", "exchange", "--local", "--config", gw.config, "--subject-token", wf]
    rc, out, err = gw.cli(*base, "--roles", "etl", "--resource", "clinic", "--ttl", "5m",
                          "--task", "task-17", "--workflow", "wf-3", "--json")
    eq(rc, 0, f"token exchange: {err}")
    reply = json.loads(out)
    eq(reply["token_type"], "Bearer")
    eq(reply["scope"], "role:etl resource:clinic")
    check(0 < reply["expires_in"] <= 300, f"ttl not capped: {reply}")
    task = reply["access_token"]
    TOKENS.append(task)
    rc, out, err = gw.psql(task, "SELECT current_database()", args=["-At"])
    eq((rc, out.strip()), (0, "clinic"), f"task token on its resource: {err}")
    # The workflow token reaches billing; the task token does not.
    rc, _, err = gw.psql(wf, "SELECT 1", dbname="billing", args=["-At"])
    eq(rc, 0, f"workflow token on billing: {err}")
    f = fatal(task, "billing")
    eq(f.get("C"), "28000", f"task token on another resource: {f}")
    r = session_record("worker", task_id="task-17")
    eq((r["workflow_id"], r["act_sub"], r["issuer"], r["roles"]),
       ("wf-3", "worker", "local", ["etl"]))
    # Escalation is refused, without echoing the token.
    for args, err_code in ((["--roles", "analyst"], "invalid_scope"),
                           (["--resource", "nowhere"], "invalid_target")):
        rc, out, err = gw.cli(*base, *args)
        eq(rc, 1, f"escalation {args} accepted: {out}")
        check(err_code in err, f"{args}: {err}")
        check(wf.split(".")[2][:16] not in err + out, "error echoes the subject token")
    # A task token exchanged again stays inside its workflow and scope.
    rc, _, err = gw.cli("token", "exchange", "--local", "--config", gw.config,
                        "--subject-token", task, "--resource", "billing")
    eq(rc, 1, "a narrowed token was widened")
    check("invalid_target" in err, err)


def test_token_exchange_cli_posts_an_rfc8693_form_to_the_admin_api():
    """The CLI's side of POST /v1/token/exchange, against a stand-in admin server."""
    seen = []

    class Admin(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            seen.append({"path": self.path, "type": self.headers["Content-Type"],
                         "auth": self.headers["Authorization"],
                         "form": urllib.parse.parse_qs(body)})
            if urllib.parse.parse_qs(body).get("scope") == ["role:nope"]:
                code, reply = 400, {"error": "invalid_scope",
                                    "error_description": "role \"nope\" is not the subject's"}
            else:
                code, reply = 200, {"access_token": "aaa.bbb.ccc", "token_type": "Bearer",
                                    "issued_token_type":
                                        "urn:ietf:params:oauth:token-type:access_token",
                                    "expires_in": 300, "scope": "role:etl resource:clinic"}
            data = json.dumps(reply).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Admin)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    harness.on_exit(srv.shutdown)
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    subject = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3In0.c2ln"
    rc, out, err = gw.cli("token", "exchange", "--config", gw.config, "--admin", url,
                          "--subject-token", subject, "--roles", "etl", "--resource", "clinic",
                          "--resource", "billing", "--ttl", "5m", "--task", "t 9",
                          "--workflow", "wf-9")
    eq((rc, out.strip()), (0, "aaa.bbb.ccc"), f"exchange via the admin API: {err}")
    req = seen[-1]
    eq(req["path"], "/v1/token/exchange")
    eq(req["type"], "application/x-www-form-urlencoded")
    eq(req["auth"], "Bearer " + subject)
    eq(req["form"], {"grant_type": ["urn:ietf:params:oauth:grant-type:token-exchange"],
                     "subject_token": [subject],
                     "subject_token_type": ["urn:ietf:params:oauth:token-type:jwt"],
                     "scope": ["role:etl"], "resource": ["clinic", "billing"],
                     "ttl": ["5m"], "task_id": ["t 9"], "workflow_id": ["wf-9"]})
    rc, out, err = gw.cli("token", "exchange", "--config", gw.config, "--admin", url,
                          "--subject-token", subject, "--roles", "nope")
    eq(rc, 1, "a refused exchange exited 0")
    check("invalid_scope" in err and subject not in err, err)
    # The subject token never travels in clear to anything but loopback.
    rc, out, err = gw.cli("token", "exchange", "--config", gw.config, "--admin",
                          "http://192.0.2.1:1", "--subject-token", subject)
    eq(rc, 1, "a non-loopback http admin URL was used")
    check("plain http" in err, err)


def exchange_with_config(cfg, subject):
    """`token exchange --local` with another config (and data_dir): returns (rc, out, err)."""
    base, _, path, _ = harness.write_phigate_config(pg, cfg)
    return gw.cli("token", "exchange", "--local", "--config", path, "--subject-token", subject)


def tls_issuer_config(issuer, ca_file=None):
    cfg = harness.default_config(pg)
    entry = {"name": "corp-tls", "type": "oidc", "issuer": issuer, "audience": "phigate",
             "groups_claim": "realm_access.roles"}
    if ca_file:
        entry["ca_file"] = ca_file
    cfg["identity"]["issuers"].append(entry)
    cfg["identity"]["group_roles"]["etl"] = ["analyst"]
    return cfg


def test_https_issuer_certificates_are_verified():
    tok = worker_token(idp_tls)
    rc, out, err = gw.psql(tok, "SELECT 3", args=["-At"])
    eq((rc, out.strip()), (0, "3"), f"token from the https issuer: {err}")
    eq(session_record("worker", issuer="corp-tls")["groups"], ["etl"])
    # The same issuer without its CA: the certificate is not trusted, no key is loaded, and
    # the token fails closed.
    rc, out, err = exchange_with_config(tls_issuer_config(idp_tls["issuer"]), tok)
    eq(rc, 1, f"exchange with an untrusted issuer certificate succeeded: {out}")
    check("certificate verify failed" in err, f"no certificate error reported: {err}")
    check("(unknown_key)" in err, err)
    rc, out, err = exchange_with_config(tls_issuer_config(idp_tls["issuer"],
                                                          idp_tls["ca_file"]), tok)
    eq(rc, 0, f"exchange with the trusted issuer certificate: {err}")
    # A certificate from the trusted CA file but for another host name is refused too.
    other_crt = os.path.join(idp_dir(), "other.crt")
    other_key = os.path.join(idp_dir(), "other.key")
    harness.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", other_key,
                 "-out", other_crt, "-days", "2", "-subj", "/CN=other.example",
                 "-addext", "subjectAltName=DNS:other.example"], check=True)
    wrong = start_tls_provider(other_crt, other_key)
    tok2 = worker_token(wrong)
    rc, out, err = exchange_with_config(tls_issuer_config(wrong["issuer"], other_crt), tok2)
    eq(rc, 1, f"exchange with a certificate for another host succeeded: {out}")
    check("certificate verify failed" in err, f"no certificate error reported: {err}")
    wrong["proc"].terminate()


def test_no_token_in_audit_or_log_and_chain_verifies():
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"audit verify: {out} {err}")
    records = "\n".join(r[0] for r in gw.audit_query("SELECT record FROM audit_events"))
    with open(gw.log, errors="replace") as f:
        log = f.read()
    for t in TOKENS:
        sig = t.split(".")[2]
        check(sig[:24] not in records, "a token signature is in the audit log")
        check(sig[:24] not in log, "a token signature is in the gateway log")


if __name__ == "__main__":
    harness.main(globals())
