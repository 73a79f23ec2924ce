#!/usr/bin/env python3
"""Result capture, `phigate sessions list`, `phigate replay` and `phigate report hipaa` (issue 6)
against a real PostgreSQL and the real gateway.

- Every statement that returns rows gets a content-addressed blob with its first rows as the client
  received them (RowDescription names included), capped by audit.capture rows/bytes; the result
  record names it by SHA-256 and the blob's bytes hash to that name.
- `replay` prints the SQL timeline of a session (statement, decision, rows, captured table) and
  `--json` parses; `sessions list` filters by identity / resource / task / workflow / time.
- `report hipaa` counts a known workload exactly (its own gateway and data_dir)."""
import glob
import hashlib
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
ROWS, BYTES = 5, 2048


def setup_module():
    global pg, gw
    pg = harness.start_postgres(patients=50)
    cfg = harness.default_config(pg)
    cfg["audit"]["capture"] = {"enabled": True, "rows": ROWS, "bytes": "2KiB"}
    gw = harness.start_phigate(pg, cfg)


def blobs(data_dir):
    """Every blob in data_dir/blobs/*.pack, parsed independently of phigate: {hash: bytes}."""
    out = {}
    for p in sorted(glob.glob(os.path.join(data_dir, "blobs", "*.pack"))):
        with open(p, "rb") as f:
            data = f.read()
        at = 0
        while at < len(data):
            nl = data.index(b"\n", at)
            magic, h, n = data[at:nl].split(b" ")
            eq(magic, b"phigate-blob", f"pack header in {p}")
            n = int(n)
            out[h.decode()] = data[nl + 1:nl + 1 + n]
            eq(data[nl + 1 + n:nl + 2 + n], b"\n", "entry terminator")
            at = nl + 2 + n
    return out


def records(g, where="1=1", args=()):
    rows = g.audit_query(f"SELECT record FROM audit_events WHERE {where} ORDER BY seq", args)
    return [json.loads(r[0]) for r in rows]


def result_of(g, sql_text):
    """The result record of the (only) statement record whose text is sql_text."""
    stmts = [r for r in records(g, "type = 'statement'") if r["action"] == sql_text]
    check(len(stmts) == 1, f"expected one statement record for {sql_text!r}, got {len(stmts)}")
    res = [r for r in records(g, "type = 'result'") if r["ref_seq"] == stmts[0]["seq"]]
    eq(len(res), 1, f"result records for {sql_text!r}")
    return stmts[0], res[0]


def test_capture_rows_cap_and_hash():
    tok = gw.token("alice", ["analysts"])
    sql = "SELECT mrn, first_name FROM patients ORDER BY id LIMIT 12"
    rc, out, err = gw.psql(tok, sql=sql, args=["-A", "-t", "-F", "|"])
    eq(rc, 0, f"psql: {err}")
    sent = [line.split("|") for line in out.strip().splitlines()]
    eq(len(sent), 12, "rows psql received")
    _, res = result_of(gw, sql)
    eq(res["rows"], 12, "rows in the result record")
    check(re.fullmatch(r"[0-9a-f]{64}", res.get("capture", "")), f"capture hash: {res}")
    store = blobs(gw.data_dir)
    check(res["capture"] in store, "the blob named by the record exists")
    content = store[res["capture"]]
    eq(hashlib.sha256(content).hexdigest(), res["capture"], "blob content hashes to its name")
    blob = json.loads(content)
    eq(len(blob["results"]), 1, "one result set")
    eq(blob["results"][0]["columns"], ["mrn", "first_name"], "RowDescription names")
    eq(blob["results"][0]["rows"], sent[:ROWS], "the first rows exactly as the client got them")
    eq(blob["truncated"], True, "12 rows > rows limit")


def test_capture_bytes_cap():
    tok = gw.token("alice", ["analysts"])
    sql = "SELECT g, repeat('x', 900) AS pad FROM generate_series(1, 4) g"
    rc, out, err = gw.psql(tok, sql=sql)
    eq(rc, 0, f"psql: {err}")
    _, res = result_of(gw, sql)
    blob = json.loads(blobs(gw.data_dir)[res["capture"]])
    rows = blob["results"][0]["rows"]
    total = sum(len(v) for r in rows for v in r if v is not None)
    check(total <= BYTES, f"captured {total} bytes > limit {BYTES}")
    # 1+900 bytes per row: two rows fit whole, the third is cut at the limit, the fourth is out.
    eq(len(rows), 3, "rows captured under the byte limit")
    eq(rows[0], ["1", "x" * 900], "first row whole")
    eq(total, BYTES, "the byte budget is used up exactly")
    eq(blob["truncated"], True, "byte limit reached")


def test_no_capture_without_rows():
    tok = gw.token("alice", ["analysts"])
    sql = "SELECT mrn FROM patients WHERE false"
    rc, _, err = gw.psql(tok, sql=sql)
    eq(rc, 0, f"psql: {err}")
    _, res = result_of(gw, sql)
    check("capture" not in res, f"no rows, no capture: {res}")
    rc, out, _ = gw.audit_verify()
    eq(rc, 0, f"records with and without the capture field verify: {out}")


def session_of(g, sql_text):
    stmts = [r for r in records(g, "type = 'statement'") if r["action"] == sql_text]
    check(stmts, f"no statement {sql_text!r}")
    return stmts[-1]["session_id"]


def test_replay_timeline():
    tok = gw.token("alice", ["analysts"])
    script = ("SELECT mrn FROM patients ORDER BY id LIMIT 2;\n"
              "DELETE FROM visits;\n"
              "SELECT 'replay-marker' AS tag;\n")
    rc, out, err = gw.psql(tok, input=script)
    check("bulk change" in err, f"the DELETE was denied: {err}")
    sid = session_of(gw, "SELECT 'replay-marker' AS tag;")
    rc, out, err = gw.cli("replay", sid, "--config", gw.config)
    eq(rc, 0, f"replay failed: {err}")
    print(out)
    check("SELECT mrn FROM patients ORDER BY id LIMIT 2;" in out, "statement text")
    check("[allow" in out and "[deny" in out, f"decisions: {out}")
    check("bulk change" in out, "the denial's message")
    check("MRN-00000001" in out and "MRN-00000002" in out, "captured rows shown")
    check("replay-marker" in out and "| tag " in out, "captured column name")
    check("2 rows" in out, "row count")
    rc, jout, err = gw.cli("replay", sid, "--config", gw.config, "--json")
    eq(rc, 0, f"replay --json failed: {err}")
    j = json.loads(jout)
    eq(j["session_id"], sid, "session id")
    eq(j["sub"], "alice", "identity")
    stmts = [t for t in j["timeline"] if t["type"] == "statement"]
    eq([t["decision"] for t in stmts], ["allow", "deny", "allow"], "decisions in order")
    eq(stmts[0]["result"]["rows"], 2, "rows")
    eq(stmts[0]["captured"]["results"][0]["rows"], [["MRN-00000001"], ["MRN-00000002"]],
       "captured rows in JSON")
    eq(stmts[1]["rule"] != "", True, "denial names its rule")
    rc, _, err = gw.cli("replay", "no-such-session", "--config", gw.config)
    check(rc != 0 and "no audit records" in err, f"unknown session: rc={rc} {err}")


def test_sessions_list_filters():
    marks = {}
    for sub, task, wf, act in (("bob", "t-1", "wf-a", "hannah"), ("bob", "t-2", "wf-a", "hannah"),
                               ("carol", "t-3", "wf-b", None)):
        tok = gw.token(sub, ["analysts"], task=task, workflow=wf, act=act)
        rc, _, err = gw.psql(tok, sql=f"SELECT '{task}'")
        eq(rc, 0, f"psql: {err}")
        marks[task] = session_of(gw, f"SELECT '{task}'")
    time.sleep(0.05)
    after = time.time()

    def ids(*args):
        rc, out, err = gw.cli("sessions", "list", "--config", gw.config, "--json", *args)
        eq(rc, 0, f"sessions list {args}: {err}")
        return [s["session_id"] for s in json.loads(out)], json.loads(out)

    got, full = ids("--identity", "bob")
    eq(sorted(got), sorted([marks["t-1"], marks["t-2"]]), "--identity bob")
    got, _ = ids("--identity", "hannah")
    eq(sorted(got), sorted([marks["t-1"], marks["t-2"]]), "--identity matches the acting human")
    got, _ = ids("--task", "t-3")
    eq(got, [marks["t-3"]], "--task")
    got, _ = ids("--workflow", "wf-a")
    eq(sorted(got), sorted([marks["t-1"], marks["t-2"]]), "--workflow")
    got, _ = ids("--resource", "no-such-resource")
    eq(got, [], "--resource that matches nothing")
    got, _ = ids("--resource", "clinic", "--task", "t-1")
    eq(got, [marks["t-1"]], "--resource + --task")
    got, _ = ids("--since", str(int(after) + 1))
    eq(got, [], "--since after every session")
    got, _ = ids("--until", "2000-01-01")
    eq(got, [], "--until before every session")
    got, _ = ids("--since", "1h")
    check(set(marks.values()) <= set(got), "--since 1h (ago) includes them")
    s = [x for x in full if x["session_id"] == marks["t-1"]][0]
    eq((s["sub"], s["task_id"], s["workflow_id"], s["act_sub"], s["resource"]),
       ("bob", "t-1", "wf-a", "hannah", "clinic"), "identity chain")
    eq((s["statements"], s["denied"]), (1, 0), "counts")
    check(s["client_addr"].startswith("127.0.0.1"), f"client address: {s}")
    check(s["end"] is not None, "ended session has an end time")
    rc, out, err = gw.cli("sessions", "list", "--config", gw.config, "--task", "t-2")
    eq(rc, 0, err)
    lines = out.strip().splitlines()
    eq(len(lines), 1, f"text: one line per session: {out}")
    check(marks["t-2"] in lines[0] and "bob task=t-2 workflow=wf-a act=hannah" in lines[0]
          and "statements=1 denied=0" in lines[0], f"text line: {lines[0]}")
    rc, _, err = gw.cli("sessions", "list", "--config", gw.config, "--since", "yesterday-ish")
    check(rc == 2 and "cannot read" in err, f"bad time is a clear error: {rc} {err}")


def test_report_hipaa_known_workload():
    pg2 = pg
    cfg = harness.default_config(pg2)
    g = harness.start_phigate(pg2, cfg)
    start = "1h"
    alice = g.token("alice", ["analysts"])
    dan = g.token("dan", ["dbas"], task="nightly", workflow="etl", act="erin")
    eq(g.psql(alice, sql="SELECT 1")[0], 0, "alice 1")
    rc, _, _ = g.psql(alice, input="SELECT 2;\nDELETE FROM visits;\nSELECT 3;\n")
    eq(g.psql(dan, sql="SELECT count(*) FROM patients")[0], 0, "dan")
    rc, _, err = g.psql("not-a-token", sql="SELECT 1")
    check(rc != 0, "bad token refused")
    rc, _, err = g.psql(g.token("mallory", ["nobody"]), sql="SELECT 1")
    check(rc != 0, "no role refused")
    g.stop()  # shutdown checkpoint covers everything
    html = os.path.join(g.base, "report.html")
    rc, out, err = g.cli("report", "hipaa", "--config", g.config, "--from", start, "--to", "now",
                         "--json", "--html", html)
    eq(rc, 0, f"report failed: {err}")
    j = json.loads(out)
    c = j["counts"]
    eq(c["sessions"], 3, "sessions")
    eq(c["distinct_identities"], 2, "identities")
    eq(c["identities"], ["alice", "dan"], "identity names")
    eq(c["acting_humans"], ["erin"], "act.sub")
    eq(c["sessions_with_task"], 1, "per-task sessions")
    eq((c["statements"], c["allowed"], c["denied"], c["held"]), (5, 4, 1, 0), "decisions")
    eq(c["auth_failures_total"], 2, "auth failures")
    eq(sorted(c["auth_failures"].keys())[0].split()[0] in ("28000", "28P01"), True, "reasons")
    eq(sum(c["auth_failures"].values()), 2, "failures by reason add up")
    check(any(k.startswith("28P01") for k in c["auth_failures"]), "bad token reason")
    check(any(k.startswith("28000") for k in c["auth_failures"]), "no-role reason")
    eq((c["client_tls"], c["client_plain"]), (0, 3), "transport")
    eq(c["upstream_tls"], {"disable:plain": 3}, "upstream TLS mode")
    eq(j["verification"]["intact"], True, "verification")
    check(j["checkpoint"] and j["checkpoint"]["tree_size"] >= c["last_seq"],
          f"covering checkpoint: {j['checkpoint']}")
    ids = [s["id"] for s in j["safeguards"]]
    eq(ids, ["164.312(a)(1)", "164.312(a)(2)(i)", "164.312(b)", "164.312(c)(1)", "164.312(d)",
             "164.312(e)(1)"], "sections")
    with open(html) as f:
        page = f.read()
    check(page.startswith("<!DOCTYPE html>") and "164.312(e)(1)" in page and "<script" not in page,
          "self-contained HTML")
    rc, text, err = g.cli("report", "hipaa", "--config", g.config, "--from", start, "--to", "now")
    eq(rc, 0, err)
    check("distinct identities: 2" in text and "denied: 1" in text, f"text report: {text}")
    rc, _, err = g.cli("report", "hipaa", "--config", g.config, "--from", "now", "--to", "1h")
    check(rc == 2 and "before" in err, "from after to is refused")


if __name__ == "__main__":
    harness.main(globals())
