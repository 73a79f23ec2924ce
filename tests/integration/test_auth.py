#!/usr/bin/env python3
"""Authentication at the PostgreSQL listener: every bad credential is a FATAL with the right
SQLSTATE and no session; failures are audited; the audit chain verifies, and tampering with it is
detected. Tokens never land in the audit store or the log."""
import base64
import json
import os
import re
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
GOOD = None
failures_expected = 0


def setup_module():
    global pg, gw, GOOD
    pg = harness.start_postgres(patients=50)
    pg.add_database("billing")
    cfg = harness.default_config(pg)
    cfg["identity"]["clock_skew"] = "1s"  # so that a 1s token is really expired 3s later
    cfg["identity"]["group_roles"]["billers"] = ["biller"]
    cfg["resources"].append(harness.resource(pg, "billing"))
    cfg["roles"]["biller"] = {"resources": ["billing"],
                              "rules": [{"match": {"statement": ["select"]}, "action": "allow"}]}
    gw = harness.start_phigate(pg, cfg)
    GOOD = gw.token("alice", ["analysts"])


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def attempt(token, dbname="clinic", user="tester"):
    return pgwire.connect_error("127.0.0.1", gw.port, user, dbname, token)


def expect_fatal(token, code, what, dbname="clinic", codes=None):
    global failures_expected
    fields, closed = attempt(token, dbname)
    check(fields is not None, f"{what}: connection was accepted")
    check(fields.get("V", fields.get("S")) == "FATAL", f"{what}: severity {fields}")
    ok = (codes or [code])
    check(fields.get("C") in ok, f"{what}: SQLSTATE {fields.get('C')} not in {ok}; {fields}")
    check(closed, f"{what}: server kept the socket open after FATAL")
    check(GOOD.split(".")[2] not in json.dumps(fields), f"{what}: error echoes a token")
    return fields


def test_good_token_works():
    fields, _ = attempt(GOOD)
    check(fields is None, f"valid token refused: {fields}")
    rc, out, err = gw.psql(GOOD, "SELECT current_database(), current_user", args=["-At"])
    eq((rc, out.strip()), (0, "clinic|phigate_clinic"), f"psql with a valid token: {err}")


def test_tampered_signature():
    global failures_expected
    h, p, s = GOOD.split(".")
    i = len(s) // 2
    s2 = s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
    expect_fatal(f"{h}.{p}.{s2}", "28P01", "tampered signature")
    failures_expected += 1


def test_tampered_payload():
    global failures_expected
    h, p, s = GOOD.split(".")
    claims = json.loads(b64d(p))
    claims["groups"] = ["dbas"]
    claims["sub"] = "mallory"
    expect_fatal(f"{h}.{b64e(json.dumps(claims).encode())}.{s}", "28P01", "tampered payload")
    failures_expected += 1


def test_alg_none():
    global failures_expected
    _, p, _ = GOOD.split(".")
    claims = json.loads(b64d(p))
    claims["groups"] = ["dbas"]
    h = b64e(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    expect_fatal(f"{h}.{b64e(json.dumps(claims).encode())}.", "28P01", "alg=none token")
    failures_expected += 1


def test_expired_token():
    global failures_expected
    short = gw.token("bob", ["analysts"], ttl="1s")
    time.sleep(3.5)
    f = expect_fatal(short, "28P01", "expired token")
    check("expire" in f.get("M", "").lower() or "token" in f.get("M", "").lower(),
          f"message should say why: {f}")
    failures_expected += 1


def test_garbage_tokens():
    global failures_expected
    for tok in ["not-a-token", "a.b.c", "x" * 5000, "eyJhbGciOiJFZERTQSJ9..", "\u00e9\u00e9.\u00e9"]:
        expect_fatal(tok, "28P01", f"garbage token {tok[:20]!r}")
        failures_expected += 1


def test_psql_shows_fatal():
    rc, out, err = gw.psql("not-a-token", "SELECT 1")
    check(rc != 0, "psql with a garbage token succeeded")
    check("FATAL" in err, f"psql should show the FATAL: {err!r}")


def test_role_without_resource():
    billing = gw.token("carol", ["billers"])
    expect_fatal(billing, "28000", "role without the resource")
    # the same token is fine for its own resource
    rc, out, err = gw.psql(billing, "SELECT current_database()", dbname="billing", args=["-At"])
    eq((rc, out.strip()), (0, "billing"), f"biller on billing: {err}")
    no_roles = gw.token("dave", ["no-such-group"])
    expect_fatal(no_roles, "28000", "token whose groups map to no role")


def test_unknown_resource():
    # a server says 3D000 for an unknown database; 28000 (no such resource for you) is also fine
    f = expect_fatal(GOOD, "3D000", "unknown resource", dbname="nosuch", codes=["3D000", "28000"])
    print(f"  unknown resource -> {f.get('C')}: {f.get('M')}")


def test_audit_records_auth_failures_and_verifies():
    before = sum(gw.audit_counts().values())
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"audit verify failed: {out}\n{err}")
    print(f"  audit verify: {out.strip()}")
    counts = gw.audit_counts()
    print(f"  audit event counts: {counts}")
    n = sum(v for k, v in counts.items() if "auth" in k and "fail" in k)
    check(n >= failures_expected,
          f"expected >= {failures_expected} auth_failure records, found {n} ({counts})")
    after = sum(counts.values())
    nums = [int(x) for x in re.findall(r"\d+", out)]
    check(any(before <= x <= after for x in nums),
          f"audit verify should print the record count ({before}..{after}): {out!r}")


def test_tokens_never_stored():
    gw_sig = GOOD.split(".")[2].encode()
    for root, _, files in os.walk(gw.data_dir):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                check(gw_sig not in f.read(), f"token signature found in {fn}")
    with open(gw.log, "rb") as f:
        check(gw_sig not in f.read(), "token signature found in the gateway log")
    with open(gw.log, "rb") as f:
        check(pg.password.encode() not in f.read(), "upstream password found in the gateway log")


def test_graceful_shutdown():
    rc = gw.stop()
    eq(rc, 0, f"phigate exit status on SIGTERM; log:\n{gw.log_tail(20)}")


def verify_output():
    rc, out, err = gw.audit_verify()
    return rc, out + err


def test_audit_tamper_detected():
    # edit the store behind the (stopped) gateway's back
    gw.stop()
    path = os.path.join(gw.data_dir, "phigate.db")
    db = sqlite3.connect(path)
    try:
        (last,) = db.execute("SELECT max(seq) FROM audit_events").fetchone()
        check(last and last >= 5, f"too few audit records to tamper with: {last}")
        seq = last // 2
        (rec,) = db.execute("SELECT record FROM audit_events WHERE seq = ?", (seq,)).fetchone()
        obj = json.loads(rec)
        for key in ("sub", "session_id", "resource", "client_addr", "type"):
            if isinstance(obj.get(key), str) and obj[key]:
                obj[key] = "mallory-" + obj[key]
                break
        else:
            raise AssertionError(f"no string field to tamper with in {rec}")
        db.execute("UPDATE audit_events SET record = ? WHERE seq = ?",
                   (json.dumps(obj, separators=(",", ":")), seq))
        db.commit()
        rc, out = verify_output()
        check(rc != 0, f"audit verify missed a modified record (seq {seq}): {out}")
        check(str(seq) in out, f"audit verify should name seq {seq}: {out!r}")

        db.execute("UPDATE audit_events SET record = ? WHERE seq = ?", (rec, seq))
        db.commit()
        rc, out = verify_output()
        eq(rc, 0, f"restored log should verify again: {out}")

        (last,) = db.execute("SELECT max(seq) FROM audit_events").fetchone()
        mid = (1 + last) // 2
        db.execute("DELETE FROM audit_events WHERE seq = ?", (mid,))
        db.commit()
        rc, out = verify_output()
        check(rc != 0, f"audit verify missed a deleted record (seq {mid}): {out}")
        check(str(mid) in out or str(mid + 1) in out, f"should name seq {mid}: {out!r}")
    finally:
        db.close()


if __name__ == "__main__":
    harness.main(globals())
