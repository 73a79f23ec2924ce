#!/usr/bin/env python3
"""`phigate login` for people against a real OpenID Connect provider (npm oidc-provider, the
provider test_oidc.py uses): authorization code + PKCE with the loopback redirect and the device
authorization grant, this test acting as the person's browser. The stored token is 0600, verified,
and opens psql through phigate with the printed psql line; a forged callback (wrong state) is
refused without ending the login; a denied device login fails with a clear error."""
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import test_oidc as oidc  # noqa: E402  (provider start-up and HTTP helpers, no tests run)
from harness import check, eq  # noqa: E402

pg = gw = None
idp = None


def setup_module():
    global pg, gw, idp
    if shutil.which("node") is None:
        raise AssertionError("node is not installed (scripts/install-deps.sh installs nodejs)")
    oidc.ensure_node_modules()
    port = harness.free_port()
    proc = oidc.start_provider(port, os.path.join(oidc.idp_dir(), "login-k.json"), "RS256")
    idp = {"proc": proc, "port": port, "issuer": f"http://127.0.0.1:{port}"}
    pg = harness.start_postgres(patients=20)
    cfg = harness.default_config(pg)
    cfg["identity"]["issuers"].append({
        "name": "corp", "type": "oidc", "issuer": idp["issuer"], "audience": "phigate",
        "groups_claim": "realm_access.roles", "client_id": "login",
        # "db" is the provider's API scope: the access token is then an RFC 9068 JWT for
        # audience "phigate", the token phigate verifies.
        "scopes": ["openid", "db"]})
    gw = harness.start_phigate(pg, cfg)


class Login:
    """`phigate login` as a subprocess whose stdout is read line by line while it waits."""

    def __init__(self, *args, env=None):
        self.proc = subprocess.Popen(
            [harness.phigate_bin(), "login", "--config", gw.config, "--no-browser", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env or gw.env)
        harness.on_exit(lambda: self.proc.poll() is None and (self.proc.kill(), self.proc.wait()))
        self.lines = []
        self.err = ""

        def drain_err():
            self.err = self.proc.stderr.read()
        self.t = threading.Thread(target=drain_err, daemon=True)
        self.t.start()

    def field(self, name):
        """Reads stdout until a `name: value` line; returns the value."""
        while True:
            line = self.proc.stdout.readline()
            if line == "":
                raise AssertionError(f"phigate login ended before printing {name}: "
                                     f"{self.lines} {self.finish(5)[2]}")
            self.lines.append(line.rstrip("\n"))
            if line.startswith(name + ": "):
                return line[len(name) + 2:].strip()

    def finish(self, timeout=60):
        try:
            rest = self.proc.stdout.read()  # until phigate exits and closes stdout
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"phigate login did not finish: {self.lines}")
        self.t.join(5)
        self.lines += rest.splitlines()
        return self.proc.returncode, self.lines, self.err


def browser():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()),
                                       oidc._NoRedirect())


def follow_to_callback(url, opener):
    """Follows the provider's redirects (auto-login interaction) until the loopback callback."""
    for _ in range(10):
        st, headers, body = oidc.http("GET", url, opener=opener)
        check(st in (302, 303), f"authorization flow stopped at {st}: {body[:500]}")
        loc = headers.get("Location") or headers.get("location")
        if loc.startswith("http://127.0.0.1:") and "/callback" in loc:
            return loc
        url = urllib.parse.urljoin(url, loc)
    raise AssertionError("the provider never redirected to the loopback callback")


def deliver(url):
    """The browser's request to phigate's loopback listener: (status, body)."""
    return oidc.http("GET", url, opener=urllib.request.build_opener())[::2]


def token_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def run_printed_psql(line, sql):
    check(line.startswith('psql "'), f"not a psql line: {line}")
    env = harness.clean_env(PATH=harness.PG_BINDIR + ":" + os.environ.get("PATH", ""))
    return harness.run(["bash", "-c", f"{line} -X -At -c {shlex.quote(sql)}"], env=env)


def test_auth_code_pkce_loopback():
    out_dir = harness.tmpdir("login")
    token_file = os.path.join(out_dir, "sub", "token")
    login = Login("--issuer", "corp", "--output", token_file)
    url = login.field("authorization_url")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    eq(q.get("code_challenge_method"), ["S256"], "PKCE method")
    eq(q.get("client_id"), ["login"], "client_id")
    check(re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", q["redirect_uri"][0]),
          f"loopback redirect_uri: {q['redirect_uri']}")
    check(len(q["state"][0]) >= 16 and len(q["nonce"][0]) >= 16, "state and nonce are random")
    callback = follow_to_callback(url, browser())

    # A callback whose state is not this login's is refused, and the login keeps waiting.
    cq = urllib.parse.parse_qs(urllib.parse.urlparse(callback).query)
    forged = callback.split("?")[0] + "?" + urllib.parse.urlencode(
        {"code": cq["code"][0], "state": "forged-state"})
    st, body = deliver(forged)
    eq(st, 400, f"forged callback: {body}")
    check("Refused" in body, body)
    check(login.proc.poll() is None, "a forged callback ended the login")

    st, body = deliver(callback)
    eq(st, 200, f"callback: {body}")
    rc, lines, err = login.finish()
    eq(rc, 0, f"phigate login failed: {lines} {err}")
    check("refused a callback with a wrong state" in err, f"no warning about the forgery: {err}")
    check(os.path.isfile(token_file), "token file missing")
    eq(token_mode(token_file), 0o600, "token file mode")
    eq(token_mode(os.path.dirname(token_file)), 0o700, "created directory mode")
    text = "\n".join(lines)
    check("Logged in as alice" in text and "roles: analyst" in text, text)
    tok = open(token_file).read().strip()
    check(tok.count(".") == 2, "stored token is not a JWT")

    psql_line = next((x for x in lines if x.startswith("psql ")), None)
    check(psql_line is not None, f"no psql line: {text}")
    eq(psql_line, f'psql "host=127.0.0.1 port={gw.port} dbname=clinic user=alice '
                  f"password=$(cat '{token_file}')\"", "printed psql line")
    rc, out, err = run_printed_psql(psql_line, "SELECT count(*) > 0 FROM patients")
    eq((rc, out.strip()), (0, "t"), f"the printed psql line: {err}")
    rc, out, err = gw.psql(tok, "SELECT current_database()", args=["-At"])
    eq((rc, out.strip()), (0, "clinic"), f"psql with the stored token: {err}")


def test_refuses_group_writable_token_file():
    d = harness.tmpdir("login-perm")
    path = os.path.join(d, "token")
    with open(path, "w") as f:
        f.write("old\n")
    os.chmod(path, 0o664)
    login = Login("--issuer", "corp", "--output", path)
    deliver(follow_to_callback(login.field("authorization_url"), browser()))
    rc, lines, err = login.finish()
    check(rc != 0, "wrote the token into a group-writable file")
    check("group- or world-writable" in err, err)
    eq(open(path).read(), "old\n", "file left untouched")


def device_confirm(uri_complete, action):
    """As the browser at verification_uri_complete: confirm (or abort) the user code."""
    opener = browser()
    st, headers, body = oidc.http("GET", uri_complete, opener=opener)
    eq(st, 200, f"device page: {body[:300]}")
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', body).group(1)
    user_code = re.search(r'name="user_code" value="([^"]+)"', body).group(1)
    base = uri_complete.split("?")[0]
    st, headers, body = oidc.http("POST", base, {"xsrf": xsrf, "user_code": user_code,
                                                 action: "yes"}, opener=opener)
    url = base
    for _ in range(10):
        if st not in (302, 303):
            return st, body
        url = urllib.parse.urljoin(url, headers.get("Location") or headers.get("location"))
        st, headers, body = oidc.http("GET", url, opener=opener)
    raise AssertionError("device flow redirect loop")


def test_device_flow():
    xdg = harness.tmpdir("login-xdg")
    env = dict(gw.env, XDG_CONFIG_HOME=xdg)
    login = Login("--issuer", "corp", "--device", env=env)
    uri = login.field("verification_uri")
    code = login.field("user_code")
    complete = login.field("verification_uri_complete")
    check(uri.startswith(idp["issuer"]) and code, f"{uri} {code}")
    st, body = device_confirm(complete, "confirm")
    eq(st, 200, f"device confirmation: {body[:300]}")
    rc, lines, err = login.finish(90)
    eq(rc, 0, f"device login failed: {lines} {err}")
    path = os.path.join(xdg, "phigate", "token")
    eq(token_mode(path), 0o600, "default token file mode")
    rc, out, err = gw.psql(open(path).read().strip(), "SELECT 1", args=["-At"])
    eq((rc, out.strip()), (0, "1"), f"psql with the device-flow token: {err}")


def test_device_flow_denied():
    out = os.path.join(harness.tmpdir("login-denied"), "token")
    login = Login("--issuer", "corp", "--device", "--output", out)
    login.field("user_code")
    complete = login.field("verification_uri_complete")
    device_confirm(complete, "abort")
    rc, lines, err = login.finish(90)
    check(rc != 0, "a denied device login succeeded")
    check("denied" in err, f"unclear error: {err}")
    check(not os.path.exists(out), "a token file was written")


def test_device_flow_expires():
    # Nobody confirms: phigate's own bound (--timeout) ends the polling with a clear error.
    login = Login("--issuer", "corp", "--device", "--timeout", "3",
                  "--output", os.path.join(harness.tmpdir("login-exp"), "token"))
    login.field("user_code")
    rc, lines, err = login.finish(60)
    check(rc != 0, "an expired device login succeeded")
    check("expired" in err, f"unclear error: {err}")


if __name__ == "__main__":
    harness.main(globals())
