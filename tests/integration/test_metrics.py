#!/usr/bin/env python3
"""GET /metrics on the admin listener (Prometheus text format) against a real PostgreSQL, a real
HTTP upstream, psql and curl: the counters follow what was audited (decisions, results, masked
values, durations), failed tokens are counted by reason, the log's own counters match the audit
store, and the page carries no identity or statement text."""
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402  (first: re-executes under Debian's python3 with psycopg2)
import httpkit as k  # noqa: E402

S = {}


def setup_module():
    pg = h.start_postgres(patients=5)
    rec = k.start_recorder()
    cfg = h.default_config(pg)
    S["admin"], S["http"] = h.free_port(), h.free_port()
    cfg["gateway"]["listen"]["admin"] = f"127.0.0.1:{S['admin']}"
    cfg["gateway"]["listen"]["http"] = f"127.0.0.1:{S['http']}"
    cfg["masking"] = {"phi": {"detectors": ["US_SSN"],
                              "columns": [{"column": "patients.ssn", "action": "redact"}]}}
    cfg["roles"]["analyst"]["masking"] = "phi"
    cfg["resources"].append({"name": "labs", "type": "http", "upstream": f"http://127.0.0.1:{rec.port}",
                             "http": {"mask": {"detectors": ["US_SSN", "EMAIL_ADDRESS"]}}})
    cfg["roles"]["analyst"]["resources"].append("labs")
    cfg["roles"]["analyst"]["rules"] = list(h.ANALYST_RULES) + [
        {"match": {"methods": ["GET"]}, "action": "allow"}]
    gw = h.start_phigate(pg, cfg)
    h.check(h.wait_port(S["admin"], gw.proc), "admin API not listening")
    S.update(gw=gw, tok=gw.token("alice-metrics", "analysts"))


def scrape():
    """{(name, frozenset(labels)): value} and the raw page; fails unless 200 text/plain 0.0.4."""
    with urllib.request.urlopen(f"http://127.0.0.1:{S['admin']}/metrics", timeout=10) as r:
        h.eq(r.status, 200)
        h.check(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                r.headers["Content-Type"])
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-z_]+)(?:\{(.*)\})? (\S+)', line)
        h.check(m is not None, f"not an exposition line: {line!r}")
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out, text


def scrape_settled(want):
    """Scrapes until `want` (name, labels dict, value) holds: records written fire-and-forget
    (a refused token's, a result's) are committed a moment after the response."""
    deadline = time.time() + 10
    while True:
        m, text = scrape()
        if all(val(m, n, **lb) == v for n, lb, v in want) or time.time() > deadline:
            return m, text
        time.sleep(0.1)


def val(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0.0)


def curl(path, token):
    rc, out, _ = k.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                         f"Authorization: Bearer {token}", f"http://127.0.0.1:{S['http']}{path}"])
    return out


def test_counters_follow_the_audit_log():
    before, _ = scrape()
    gw, tok = S["gw"], S["tok"]
    rc, out, err = gw.psql(tok, "SELECT id, ssn FROM patients ORDER BY id LIMIT 3")
    h.eq(rc, 0, err)
    h.check("[" in out, f"ssn not masked: {out}")
    rc, out, err = gw.psql(tok, "DELETE FROM patients")
    h.check(rc != 0 and "bulk change" in err, err)
    h.eq(curl("/labs/json/patient", tok), "200")
    h.eq(curl("/labs/v1/echo", "not.a.jwt"), "401")
    gw.stop()  # everything committed; the counters of a restarted gateway start again at 0
    gw.start()
    h.check(h.wait_port(S["admin"], gw.proc), "admin API not listening after restart")
    zero, _ = scrape()
    h.eq(val(zero, "phigate_audit_records_total"), 0.0, "counters are per process")
    rc, out, err = gw.psql(tok, "SELECT id, ssn FROM patients ORDER BY id LIMIT 3")
    h.eq(rc, 0, err)
    rc, out, err = gw.psql(tok, "DELETE FROM patients")
    h.check(rc != 0, err)
    h.eq(curl("/labs/json/patient", tok), "200")
    h.eq(curl("/labs/v1/echo", "not.a.jwt"), "401")
    h.eq(curl("/labs/v1/echo", tok[:-4] + "AAAA"), "401")
    m, text = scrape_settled([
        ("phigate_results_total", {"protocol": "http", "resource": "labs", "status": "denied"}, 2.0),
        ("phigate_results_total", {"protocol": "http", "resource": "labs", "status": "ok"}, 1.0),
        ("phigate_audit_events_total", {"type": "session_end"}, 2.0)])
    h.eq(val(m, "phigate_decisions_total", protocol="postgres", resource="clinic",
             decision="allow"), 1.0, text)
    h.eq(val(m, "phigate_decisions_total", protocol="postgres", resource="clinic",
             decision="deny"), 1.0, text)
    h.eq(val(m, "phigate_decisions_total", protocol="http", resource="labs", decision="allow"),
         1.0, text)
    h.eq(val(m, "phigate_results_total", protocol="http", resource="labs", status="ok"), 1.0, text)
    h.check(val(m, "phigate_masked_values_total", protocol="postgres", resource="clinic") >= 3,
            text)
    h.check(val(m, "phigate_masked_values_total", protocol="http", resource="labs") >= 1, text)
    # A refused token is on the record as auth_failure plus a `denied` result (401).
    h.eq(val(m, "phigate_results_total", protocol="http", resource="labs", status="denied"), 2.0,
         text)
    h.eq(val(m, "phigate_result_duration_seconds_count", protocol="http"), 3.0, text)
    h.eq(val(m, "phigate_result_duration_seconds_bucket", protocol="http", le="+Inf"), 3.0, text)
    h.eq(val(m, "phigate_result_duration_seconds_count", protocol="postgres"),
         val(m, "phigate_audit_events_total", type="result"), text)
    # Each scrape is an admin API call, and those are all on the record too.
    h.check(val(m, "phigate_audit_events_total", type="admin_request") >= 1, text)
    h.eq(val(m, "phigate_auth_failures_total", reason="malformed"), 1.0, text)
    h.eq(val(m, "phigate_auth_failures_total", reason="bad_signature"), 1.0, text)
    h.eq(val(m, "phigate_audit_failed"), 0.0)
    # Every committed record is counted once by type (the two are read a moment apart, and this
    # scrape's own admin_request record may commit in between).
    by_type = sum(v for (n, _), v in m.items() if n == "phigate_audit_events_total")
    h.check(abs(by_type - val(m, "phigate_audit_records_total")) <= 1,
            f"{by_type} records by type vs {val(m, 'phigate_audit_records_total')}")
    # Counts only: no identity, no statement text, no token.
    for secret in ("alice-metrics", "DELETE", "patients", tok[:20]):
        h.check(secret not in text, f"{secret!r} on the metrics page")


def test_needs_no_token_and_is_read_only():
    req = urllib.request.Request(f"http://127.0.0.1:{S['admin']}/metrics", method="POST", data=b"")
    try:
        urllib.request.urlopen(req, timeout=10)
        h.check(False, "POST /metrics answered")
    except urllib.error.HTTPError as e:
        h.eq(e.code, 405)


if __name__ == "__main__":
    h.main(globals())
