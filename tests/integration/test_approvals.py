#!/usr/bin/env python3
"""In-line JIT approval (issue 4) against a real PostgreSQL and the real gateway: a `review`
statement is held (NoticeResponse with the request id), a reviewer approves or denies it with the
CLI, the exact held statement runs on the live session or ends in 42501, timeouts, four-eyes,
`approve:` scoping, binding to one statement and its parameters, held sessions with pipelined
messages while other sessions keep working, admin API auth errors, webhooks with retries, and JIT
access windows (request, approve, use, expiry on an open session)."""
import http.client
import http.server
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402  (first: re-executes under Debian's python3 with psycopg2)
import pgwire as w  # noqa: E402

pg = gw = None
ADMIN = 0
HOOK = None
TOK = {}
UPDATE = "UPDATE patients SET first_name = %s WHERE id = %s"


class Hook(http.server.BaseHTTPRequestHandler):
    """Webhook receiver that fails the first two attempts of every delivery (to show the retry)."""
    lock = threading.Lock()
    received = []  # (event, delivery id, json body), successful deliveries only
    attempts = []  # delivery ids of every attempt

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Hook.lock:
            delivery = self.headers.get("X-Phigate-Delivery")
            Hook.attempts.append(delivery)
            fail = Hook.attempts.count(delivery) <= 2
            if not fail:
                Hook.received.append((self.headers.get("X-Phigate-Event"),
                                      self.headers.get("X-Phigate-Delivery"), json.loads(body)))
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def config(pg, admin_port, timeout="10m", hook_port=None):
    cfg = h.default_config(pg)
    cfg["gateway"]["listen"]["admin"] = f"127.0.0.1:{admin_port}"
    cfg["identity"]["group_roles"].update(
        {"security": ["reviewer"], "archive-sec": ["archive-reviewer"], "nobody": []})
    cfg["resources"].append(h.resource(pg, name="archive", database="clinic"))
    cfg["roles"]["analyst"]["rules"] = list(h.ANALYST_RULES) + [
        {"match": {"statement": ["insert", "update", "delete"]}, "action": "review"}]
    cfg["roles"]["reviewer"] = {"approve": ["clinic", "archive"]}
    cfg["roles"]["archive-reviewer"] = {"approve": ["archive"]}
    cfg["roles"]["writer"] = {"resources": ["clinic"], "rules": [
        {"match": {"statement": ["select", "ddl", "insert", "update", "delete"]},
         "action": "allow"}]}
    cfg["roles"]["archivist"] = {"resources": ["archive"], "rules": [
        {"match": {"statement": ["select"]}, "action": "allow"}]}
    cfg["approvals"] = {"timeout": timeout}
    if hook_port:
        cfg["approvals"]["notify"] = [{"webhook": f"http://127.0.0.1:{hook_port}/hook"}]
    return cfg


def setup_module():
    global pg, gw, ADMIN, HOOK
    pg = h.start_postgres(patients=20)
    HOOK = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=HOOK.serve_forever, daemon=True).start()
    h.on_exit(HOOK.shutdown)
    ADMIN = h.free_port()
    gw = h.start_phigate(pg, config(pg, ADMIN, hook_port=HOOK.server_address[1]))
    h.check(h.wait_port(ADMIN, gw.proc), "admin API not listening")
    for name, groups in (("alice", "analysts"), ("bob", "security"), ("carol", "analysts,security"),
                         ("dave", "archive-sec"), ("erin", "analysts"), ("frank", "analysts")):
        TOK[name] = gw.token(name, groups)
    TOK["carol-task"] = gw.token("carol-bot", "security", act="carol")
    h.on_failure(deny_all_pending)


# -- helpers


def cli(*args, token=None, g=None):
    g = g or gw
    extra = ["--token", token] if token else []
    rc, out, err = g.cli(*args, "--config", g.config, *extra)
    return rc, out, err


def cli_json(*args, token, g=None):
    rc, out, err = cli(*args, "--json", token=token, g=g)
    return rc, (json.loads(out) if out.strip() else None), err


def api(method, path, token=None, body=None, raw=None, port=None):
    c = http.client.HTTPConnection("127.0.0.1", port or ADMIN, timeout=30)
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if data is not None:
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read()
    c.close()
    return r.status, (json.loads(text) if text.strip() else None)


def pending_for(sub, needle=None, token=None, timeout=30, port=None):
    """Waits for a pending statement request of `sub` (whose summary contains needle)."""
    found = {}

    def look():
        st, body = api("GET", "/v1/approvals?state=pending", token=token or TOK["bob"], port=port)
        h.eq(st, 200, f"list: {body}")
        for r in body["approvals"]:
            if r["requester"]["sub"] == sub and (needle is None or needle in r["summary"]):
                found["r"] = r
                return True
        return False

    h.check(w.wait_until(look, timeout), f"no pending approval for {sub} / {needle!r}")
    return found["r"]


def deny_all_pending():
    """After a failed test: its held statements are denied so their threads and connections end."""
    st, body = api("GET", "/v1/approvals?state=pending", token=TOK["bob"])
    for r in body.get("approvals", []) if st == 200 else []:
        api("POST", f"/v1/approvals/{r['id']}/deny", token=TOK["bob"],
            body={"reason": "test failed"})


def state_of(rid, token=None):
    st, body = api("GET", f"/v1/approvals/{rid}", token=token or TOK["bob"])
    h.eq(st, 200, f"get {rid}: {body}")
    return body["state"]


class Bg:
    """Runs fn in a thread; .join() returns its result or re-raises."""

    def __init__(self, fn):
        self.res = self.exc = None
        self.t = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.t.start()

    def _run(self, fn):
        try:
            self.res = fn()
        except BaseException as e:  # noqa: BLE001
            self.exc = e

    def join(self, timeout=60):
        self.t.join(timeout)
        h.check(not self.t.is_alive(), "background statement did not finish")
        if self.exc:
            raise self.exc
        return self.res


def first_name(pid):
    return pg.admin(f"SELECT first_name FROM patients WHERE id = {pid}", dbname="clinic").strip()


def wire(token, dbname="clinic"):
    c = w.Conn("127.0.0.1", gw.port)
    h.on_exit(c.close)
    h.eq(c.startup("wire", dbname, token)[0], "ok")
    return c


# -- tests


def test_approve_runs_the_held_statement_on_the_live_session():
    c = gw.connect(TOK["alice"])
    c.autocommit = True
    cur = c.cursor()
    job = Bg(lambda: cur.execute(UPDATE, ("Approved", 1)) or cur.rowcount)
    r = pending_for("alice", "'Approved'")
    h.eq(r["resource"], "clinic")
    h.eq(first_name(1) != "Approved", True, "statement ran before approval")
    rc, out, err = cli("approvals", "list", token=TOK["bob"])
    h.eq(rc, 0, err)
    h.check(r["id"] in out, f"`approvals list` does not show {r['id']}:\n{out}")
    rc, out, err = cli("approvals", "approve", r["id"], "--reason", "ticket 42", token=TOK["bob"])
    h.eq(rc, 0, f"approve failed: {out} {err}")
    h.eq(job.join(), 1)
    h.eq(first_name(1), "Approved")
    h.check(any(r["id"] in n and "approvals approve" in n for n in c.notices),
            f"no NoticeResponse naming the request: {c.notices}")
    cur.execute("SELECT 1")  # session still usable
    h.eq(cur.fetchone()[0], 1)
    h.eq(state_of(r["id"]), "approved")
    # Decided once: a second decision is a conflict, not a second run.
    st, body = api("POST", f"/v1/approvals/{r['id']}/approve", token=TOK["bob"], body={})
    h.eq(st, 409, str(body))
    c.close()


def test_notice_arrives_while_held():
    c = wire(TOK["alice"])
    c.query("UPDATE patients SET first_name = 'Noticed' WHERE id = 2")
    typ, p = c.read()  # the first thing the client hears, before any decision
    h.eq(typ, b"N")
    note = w.parse_fields(p)
    r = pending_for("alice", "'Noticed'")
    h.check(r["id"] in note["M"], f"notice does not name {r['id']}: {note}")
    rc, _, err = cli("approvals", "deny", r["id"], "--reason", "not today", token=TOK["bob"])
    h.eq(rc, 0, err)
    res = c.collect()
    h.eq([e["C"] for e in res["errors"]], ["42501"])
    h.check("not today" in res["errors"][0]["M"] and "bob" in res["errors"][0]["M"],
            str(res["errors"]))
    h.check(first_name(2) != "Noticed", "denied statement ran")
    c.query("SELECT 1")
    h.eq(c.collect()["rows"], [["1"]])


def test_deny_inside_transaction_keeps_state_truthful():
    c = gw.connect(TOK["alice"])
    cur = c.cursor()
    cur.execute("SELECT 1")  # opens the transaction block (psycopg2 default)
    job = Bg(lambda: cur.execute(UPDATE, ("TxDenied", 3)))
    r = pending_for("alice", "'TxDenied'")
    rc, _, err = cli("approvals", "deny", r["id"], "--reason", "no", token=TOK["bob"])
    h.eq(rc, 0, err)
    e = h.pg_error(job.join)
    h.eq(e.pgcode, "42501")
    e = h.pg_error(lambda: cur.execute("SELECT 1"))
    h.eq(e.pgcode, "25P02")  # aborted block, as after any server error
    c.rollback()
    cur.execute("SELECT 2")
    h.eq(cur.fetchone()[0], 2)
    c.close()


def test_self_approval_refused():
    c = gw.connect(TOK["carol"])
    c.autocommit = True
    cur = c.cursor()
    job = Bg(lambda: cur.execute(UPDATE, ("Carol", 4)))
    r = pending_for("carol", "'Carol'")
    rc, out, err = cli("approvals", "approve", r["id"], token=TOK["carol"])
    h.eq(rc, 1, f"self-approval accepted: {out}")
    h.check("four-eyes" in err, err)
    st, body = api("POST", f"/v1/approvals/{r['id']}/approve", token=TOK["carol-task"], body={})
    h.eq(st, 403, f"a task acting for the requester approved: {body}")
    h.eq(state_of(r["id"]), "pending")
    h.check(first_name(4) != "Carol", "ran on a self-approval")
    rc, _, err = cli("approvals", "approve", r["id"], token=TOK["bob"])
    h.eq(rc, 0, err)
    job.join()
    h.eq(first_name(4), "Carol")
    c.close()


def test_reviewer_without_approve_for_the_resource_is_refused():
    c = gw.connect(TOK["alice"])
    c.autocommit = True
    cur = c.cursor()
    job = Bg(lambda: cur.execute(UPDATE, ("Scoped", 5)))
    r = pending_for("alice", "'Scoped'")
    st, body = api("POST", f"/v1/approvals/{r['id']}/approve", token=TOK["dave"], body={})
    h.eq(st, 403, str(body))
    h.eq(body["error"], "forbidden")
    # An analyst with no approve: role at all cannot even see it.
    st, body = api("POST", f"/v1/approvals/{r['id']}/approve", token=TOK["erin"], body={})
    h.eq(st, 404, str(body))
    h.eq(state_of(r["id"]), "pending")
    api("POST", f"/v1/approvals/{r['id']}/deny", token=TOK["bob"], body={"reason": "cleanup"})
    h.eq(h.pg_error(job.join).pgcode, "42501")
    c.close()


def extended_update(c, name, pid):
    w.send_raw(c, w.parse_msg("", "UPDATE patients SET first_name = $1 WHERE id = $2") +
               w.bind_msg("", "", [name, str(pid)]) + w.execute_msg() + w.sync_msg())


def test_approval_binds_to_one_statement_and_its_parameters():
    x, y = wire(TOK["alice"]), wire(TOK["alice"])
    extended_update(x, "Bound", 6)
    rx = pending_for("alice", "$1=Bound")
    extended_update(y, "Other", 6)  # same text, other parameters
    ry = pending_for("alice", "$1=Other")
    h.check(rx["id"] != ry["id"] and rx["fingerprint"] != ry["fingerprint"], f"{rx} {ry}")
    rc, _, err = cli("approvals", "approve", rx["id"], token=TOK["bob"])
    h.eq(rc, 0, err)
    msgs = w.read_until_ready(x)
    h.eq(w.errors_of(msgs), [])
    h.check(b"C" in [t for t, _ in msgs], w.types_of(msgs))
    h.eq(first_name(6), "Bound")
    # The other one is still held: nothing rode on the first approval.
    h.eq(state_of(ry["id"]), "pending")
    h.eq(first_name(6), "Bound")
    # A different simple-protocol statement on the approved session is held afresh.
    x.query("UPDATE patients SET first_name = 'Sneaky' WHERE id = 6")
    rs = pending_for("alice", "'Sneaky'")
    h.check(rs["id"] not in (rx["id"], ry["id"]), "reused an approval")
    for rid in (ry["id"], rs["id"]):
        rc, _, err = cli("approvals", "deny", rid, "--reason", "no", token=TOK["bob"])
        h.eq(rc, 0, err)
    h.eq([e["C"] for e in w.errors_of(w.read_until_ready(y))], ["42501"])
    h.eq([e["C"] for e in x.collect()["errors"]], ["42501"])
    h.eq(first_name(6), "Bound")


def test_busy_session_keeps_order_and_others_keep_working():
    c = wire(TOK["alice"])
    # Three statements in one write: the middle one is held, the third must wait behind it.
    w.send_raw(c, w.frame(b"Q", b"SELECT 'before'\0") +
               w.frame(b"Q", b"UPDATE patients SET first_name = 'Busy' WHERE id = 7\0") +
               w.frame(b"Q", b"SELECT first_name FROM patients WHERE id = 7\0"))
    first = w.read_until_ready(c)
    h.eq(w.rows_of(first), [["before"]])
    r = pending_for("alice", "'Busy'")
    # The hold notice may overtake the first statement's results (it is asynchronous, §55.2.7).
    if b"N" not in [t for t, _ in first]:
        typ, _ = c.read()
        h.eq(typ, b"N")
    # Other sessions on the gateway (both io threads) are unaffected while it waits.
    for _ in range(6):
        other = gw.connect(TOK["erin"])
        cur = other.cursor()
        cur.execute("SELECT count(*) FROM patients")
        h.check(cur.fetchone()[0] > 0, "other session got nothing")
        other.close()
    c.sock.settimeout(0.3)
    try:
        early = c.sock.recv(1)
    except socket.timeout:
        early = b""
    c.sock.settimeout(15)
    h.eq(early, b"", "held session answered the pipelined statement before the decision")
    rc, _, err = cli("approvals", "approve", r["id"], token=TOK["bob"])
    h.eq(rc, 0, err)
    upd = c.collect()
    h.eq(upd["tags"], ["UPDATE 1"])
    after = c.collect()
    h.eq(after["rows"], [["Busy"]])


def test_client_disconnect_cancels_the_hold():
    c = wire(TOK["alice"])
    c.query("UPDATE patients SET first_name = 'Gone' WHERE id = 8")
    r = pending_for("alice", "'Gone'")
    c.close()
    h.check(w.wait_until(lambda: state_of(r["id"]) == "cancelled", 30),
            f"hold not cancelled: {state_of(r['id'])}")
    st, body = api("POST", f"/v1/approvals/{r['id']}/approve", token=TOK["bob"], body={})
    h.eq(st, 409, str(body))
    h.check(first_name(8) != "Gone", "cancelled statement ran")


def test_cancel_request_withdraws_the_hold():
    c = wire(TOK["alice"])
    c.query("UPDATE patients SET first_name = 'Cancelled' WHERE id = 10")
    r = pending_for("alice", "'Cancelled'")
    w.send_cancel("127.0.0.1", gw.port, c.pid, c.key)
    res = c.collect()
    h.eq([e["C"] for e in res["errors"]], ["57014"])
    h.eq(state_of(r["id"]), "cancelled")
    h.check(first_name(10) != "Cancelled", "cancelled statement ran")
    c.query("SELECT 1")
    h.eq(c.collect()["rows"], [["1"]])


def test_timeout_denies_and_session_stays_usable():
    admin2 = h.free_port()
    g2 = h.start_phigate(pg, config(pg, admin2, timeout="1s"))
    h.check(h.wait_port(admin2, g2.proc), "admin API not listening")
    tok = g2.token("alice", "analysts")
    c = g2.connect(tok)
    c.autocommit = True
    cur = c.cursor()
    e = h.pg_error(lambda: cur.execute(UPDATE, ("Late", 9)))
    h.eq(e.pgcode, "42501")
    h.check("timed out" in str(e), str(e))
    h.check(first_name(9) != "Late", "timed-out statement ran")
    cur.execute("SELECT 1")
    h.eq(cur.fetchone()[0], 1)
    rc, body, err = cli_json("approvals", "list", "--state", "timed_out",
                             token=g2.token("bob", "security"), g=g2)
    h.eq(rc, 0, err)
    h.eq(len(body["approvals"]), 1)
    c.close()
    # Decisions are durable: a restarted gateway lists the same outcome.
    g2.restart()
    h.check(h.wait_port(admin2, g2.proc), "admin API not listening after restart")
    rc, body, err = cli_json("approvals", "list", "--state", "all",
                             token=g2.token("bob", "security"), g=g2)
    h.eq(rc, 0, err)
    h.eq([r["state"] for r in body["approvals"]], ["timed_out"])
    g2.stop()


def test_admin_api_over_tls():
    import ssl
    d = h.tmpdir("admin-tls")
    crt, key = os.path.join(d, "gw.crt"), os.path.join(d, "gw.key")
    h.make_cert(crt, key, cn="localhost")
    admin3 = h.free_port()
    g3 = h.start_phigate(pg, config(pg, admin3), tls=(crt, key))
    h.check(h.wait_port(admin3, g3.proc), "admin API not listening")
    bob = g3.token("bob", "security")
    rc, body, err = cli_json("approvals", "list", token=bob, g=g3)  # trusts gateway.tls.cert
    h.eq((rc, body), (0, {"approvals": []}), err)
    ctx = ssl.create_default_context(cafile=crt)
    ctx.check_hostname = False
    c = http.client.HTTPSConnection("127.0.0.1", admin3, timeout=30, context=ctx)
    c.request("GET", "/v1/approvals")
    r = c.getresponse()
    h.eq((r.status, json.loads(r.read())["error"]), (401, "unauthorized"))
    c.close()
    # Plain HTTP to the TLS port gets no answer in clear.
    try:
        st, _ = api("GET", "/v1/health", port=admin3)
    except (http.client.HTTPException, OSError):
        st = None
    h.eq(st, None, "admin API answered plain HTTP on its TLS port")
    g3.stop()


def test_admin_api_auth_and_errors():
    st, body = api("GET", "/v1/health")
    h.eq((st, body["status"]), (200, "ok"))
    st, body = api("GET", "/v1/approvals")
    h.eq((st, body["error"]), (401, "unauthorized"))
    st, body = api("GET", "/v1/approvals", token="not-a-token")
    h.eq((st, body["error"]), (401, "unauthorized"))
    h.check(body["message"], "401 without a message")
    st, body = api("GET", "/v1/approvals", token=TOK["bob"][:-4] + "AAAA")  # bad signature
    h.eq(st, 401)
    st, body = api("POST", "/v1/approvals/x/deny", token=TOK["bob"], raw=b"{not json")
    h.eq((st, body["error"]), (400, "bad_json"))
    st, body = api("POST", "/v1/approvals/x/deny", token=TOK["bob"],
                   raw=b'{"reason": "' + b"x" * 200000 + b'"}')
    h.eq(st, 413)
    st, body = api("DELETE", "/v1/approvals", token=TOK["bob"])
    h.eq(st, 405)
    st, body = api("GET", "/v1/nope", token=TOK["bob"])
    h.eq(st, 404)
    st, body = api("GET", "/v1/approvals?state=bogus", token=TOK["bob"])
    h.eq(st, 400)
    st, body = api("POST", "/v1/approvals/x/deny", token=TOK["bob"], body={"reason": 5})
    h.eq(st, 400)
    rc, out, err = cli("approvals", "list")  # no token anywhere
    h.eq(rc, 2, out + err)
    rc, out, err = cli("approvals", "list", token="garbage")
    h.eq(rc, 1)
    h.check("HTTP 401" in err, err)


def test_access_window_request_approve_use_expire():
    c = gw.connect(TOK["erin"])
    c.autocommit = True
    cur = c.cursor()
    e = h.pg_error(lambda: cur.execute("CREATE TABLE jit_a (a int)"))
    h.eq(e.pgcode, "42501")
    rc, req, err = cli_json("access", "request", "--resource", "clinic", "--role", "writer",
                            "--for", "6s", "--reason", "fix ticket 7", token=TOK["erin"])
    h.eq(rc, 0, err)
    h.eq((req["state"], req["kind"]), ("pending", "access"))
    st, body = api("POST", f"/v1/approvals/{req['id']}/approve", token=TOK["erin"], body={})
    h.eq(st, 403, "approved own access request")
    rc, out, err = cli("access", "approve", req["id"], token=TOK["bob"])
    h.eq(rc, 0, err)
    cur.execute("CREATE TABLE jit_a (a int)")  # same open session, now with the role
    rc, lst, err = cli_json("access", "list", token=TOK["erin"])
    h.eq(rc, 0, err)
    mine = [r for r in lst["requests"] if r["id"] == req["id"]]
    h.eq(mine[0]["state"], "approved")
    # Expiry applies to the open session at its next statement.
    h.check(w.wait_until(lambda: not [r for r in cli_json("access", "list", token=TOK["erin"])[1]
                                      ["requests"] if r["id"] == req["id"]][0]["active"], 60),
            "grant never expired")
    e = h.pg_error(lambda: cur.execute("CREATE TABLE jit_b (a int)"))
    h.eq(e.pgcode, "42501")
    c.close()


def test_access_window_grants_a_resource_at_connect():
    dsn_err = None
    try:
        gw.connect(TOK["frank"], dbname="archive")
    except Exception as e:  # noqa: BLE001
        dsn_err = str(e)
    h.check(dsn_err and "28000" in dsn_err or "no role" in (dsn_err or ""), f"{dsn_err}")
    rc, req, err = cli_json("access", "request", "--resource", "archive", "--role", "archivist",
                            "--for", "1h", "--reason", "audit", token=TOK["frank"])
    h.eq(rc, 0, err)
    # dave may approve archive (and only archive).
    rc, _, err = cli("approvals", "approve", req["id"], token=TOK["dave"])
    h.eq(rc, 0, err)
    c = gw.connect(TOK["frank"], dbname="archive")
    cur = c.cursor()
    cur.execute("SELECT count(*) FROM patients")
    h.check(cur.fetchone()[0] > 0, "no rows")
    c.close()
    # Bad requests are refused with a reason.
    st, body = api("POST", "/v1/access/requests", token=TOK["frank"],
                   body={"resource": "clinic", "role": "archivist", "duration": "1h",
                         "reason": "x"})
    h.eq(st, 400, str(body))
    st, body = api("POST", "/v1/access/requests", token=TOK["frank"],
                   body={"resource": "archive", "role": "archivist", "duration": "99y",
                         "reason": "x"})
    h.eq(st, 400, str(body))


def test_webhooks_retried_and_audit_recorded():
    def delivered():
        with Hook.lock:
            return ({e for e, _, _ in Hook.received} >= {"approval_request", "approval_decision"})
    h.check(w.wait_until(delivered, 60), f"webhooks not delivered: {Hook.received}")
    with Hook.lock:
        events = list(Hook.received)
        attempts = list(Hook.attempts)
    # Every delivery that got through did so on its third attempt, after two HTTP 500s.
    for _, d, _ in events:
        h.eq(attempts.count(d), 3, f"delivery {d} attempts")
    req = [b for e, _, b in events if e == "approval_request"][0]
    h.check(req["id"] and req["state"] == "pending" and "how_to_approve" in req, str(req))
    counts = gw.audit_counts()
    h.check(counts.get("approval_request", 0) >= 5 and counts.get("approval_decision", 0) >= 5,
            str(counts))
    rows = gw.audit_query("SELECT record FROM audit_events WHERE type = 'approval_decision'")
    decided = [json.loads(r[0]) for r in rows]
    h.check(any(d["approver"] == "bob" and d["decision"] == "approved" and d["approval_id"]
                for d in decided), str(decided[:3]))
    ran = gw.audit_query("SELECT record FROM audit_events WHERE type = 'statement' AND "
                         "record LIKE '%\"approval_id\"%' AND record LIKE '%\"decision\":\"allow\"%'")
    h.check(ran, "no statement record carries the approval that let it run")
    rc, out, err = gw.audit_verify()
    h.eq(rc, 0, out + err)


if __name__ == "__main__":
    h.main(globals())
