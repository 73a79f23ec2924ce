#!/usr/bin/env python3
"""Retention (audit.retention, issue 6): pruning a prefix of the audit log at a signed checkpoint
keeps what remains verifiable (`phigate audit verify` passes), records the prune in the chain,
removes capture packs no retained record names, refuses to prune a tampered prefix, and a tampered
retention anchor is detected. The gateway prunes by itself on its timer; `phigate audit prune`
refuses to run beside it.

Cutoffs are explicit (`--before T`, T between two workloads), not "older than N seconds", so the
test does not depend on how fast the machine runs it."""
import glob
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = cfg = None
ANALYST = None
STATE = {}


def setup_module():
    global pg, gw, cfg
    pg = harness.start_postgres(patients=30)
    cfg = harness.default_config(pg)
    cfg["audit"]["checkpoint"] = {"every_events": 10, "every": "1s"}
    gw = harness.start_phigate(pg, cfg)


def db():
    return sqlite3.connect(os.path.join(gw.data_dir, "phigate.db"), timeout=10)


def one(sql, args=()):
    c = db()
    try:
        return c.execute(sql, args).fetchone()
    finally:
        c.close()


def packs():
    return sorted(glob.glob(os.path.join(gw.data_dir, "blobs", "*.pack")))


def prune(*args):
    return gw.cli("audit", "prune", "--config", gw.config, *args, timeout=120)


def test_two_runs_then_dry_run():
    tok = gw.token("alice", ["analysts"])
    sql = "".join(f"SELECT mrn FROM patients WHERE id = {i};\n" for i in range(1, 16))
    eq(gw.psql(tok, input=sql)[0], 0, "first workload")
    gw.stop()  # shutdown checkpoint at the end of run 1
    STATE["run1_last"] = one("SELECT max(seq) FROM audit_events")[0]
    STATE["run1_packs"] = packs()
    check(STATE["run1_packs"], "run 1 wrote capture packs")
    time.sleep(0.05)
    STATE["cutoff"] = str(time.time())  # unix seconds with a fraction, between the two runs
    time.sleep(0.05)
    gw.start()
    tok = gw.token("bob", ["analysts"])
    eq(gw.psql(tok, input="SELECT 'run2' AS r;\nSELECT mrn FROM patients WHERE id = 20;\n")[0], 0,
       "second workload")
    # A gateway is running: pruning by hand is refused, a dry run is not.
    rc, out, err = prune("--before", iso(STATE["cutoff"]))
    check(rc == 1 and "running gateway" in err, f"prune beside a gateway: rc={rc} {err}")
    gw.stop()
    STATE["run2_session"] = one("SELECT session_id FROM audit_events WHERE sub = 'bob' "
                                "ORDER BY seq DESC LIMIT 1")[0]
    before = one("SELECT count(*), min(seq) FROM audit_events")
    rc, out, err = prune("--dry-run", "--json", "--before", iso(STATE["cutoff"]))
    eq(rc, 0, f"dry run: {err}")
    j = json.loads(out)
    check(j["dry_run"] and j["pruned"] and j["last_seq"] <= STATE["run1_last"],
          f"a dry run names what would go: {j}")
    eq(one("SELECT count(*), min(seq) FROM audit_events"), before, "a dry run deletes nothing")


def test_prune_at_checkpoint_then_verify():
    rc, out, err = prune("--json", "--before", iso(STATE["cutoff"]))
    eq(rc, 0, f"prune failed: {out}\n{err}")
    j = json.loads(out)
    print(f"  {out.strip()}")
    check(j["pruned"], f"something was pruned: {j}")
    n = j["last_seq"]
    check(n <= STATE["run1_last"], f"only run-1 records pruned ({n} <= {STATE['run1_last']})")
    cp = one("SELECT count(*) FROM audit_checkpoints WHERE tree_size = ?", (n,))[0]
    eq(cp, 1, "the prune ends at a signed checkpoint")
    eq(one("SELECT min(seq) FROM audit_events")[0], n + 1, "records 1..n are gone")
    anchor = json.loads(one("SELECT record FROM audit_anchors ORDER BY tree_size DESC")[0])
    eq(anchor["tree_size"], n, "anchor tree_size")
    rec = json.loads(one("SELECT record FROM audit_events ORDER BY seq DESC LIMIT 1")[0])
    eq(rec["type"], "retention_prune", "the prune is the newest record")
    eq(rec["ref_seq"], n, "it names the anchor")
    check(anchor["last_hash"] in rec["message"], f"and the chain anchor: {rec['message']}")
    STATE["n"] = n
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"verify after prune: {out}\n{err}")
    print(f"  {out.strip()}")
    # Run 1's capture packs are no longer named by any record; run 2's still are.
    if n == STATE["run1_last"]:
        for p in STATE["run1_packs"]:
            check(not os.path.exists(p), f"unreferenced pack {p} removed")
    check(packs(), "run 2's pack kept")
    rc, out, err = gw.cli("replay", STATE["run2_session"], "--config", gw.config)
    eq(rc, 0, f"replay of a retained session: {err}")
    check("run2" in out, f"captured rows still readable: {out}")


def iso(unix_text):
    t = float(unix_text)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1e6):06d}Z"


def test_gateway_continues_after_prune():
    gw.start()  # the log reopens from the anchor (chain hash + Merkle frontier)
    tok = gw.token("carol", ["analysts"])
    eq(gw.psql(tok, sql="SELECT 'after prune'")[0], 0, "statement after the prune")
    gw.stop()
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"verify with checkpoints after the anchor: {out}\n{err}")


def test_tampered_anchor_detected():
    c = db()
    try:
        (orig,) = c.execute("SELECT record FROM audit_anchors ORDER BY tree_size DESC").fetchone()
        a = json.loads(orig)
        n = a["tree_size"]

        def put(rec):
            c.execute("UPDATE audit_anchors SET record = ? WHERE tree_size = ?", (rec, n))
            c.commit()

        bad = dict(a, last_hash=("0" if a["last_hash"][0] != "0" else "1") + a["last_hash"][1:])
        put(json.dumps(bad))
        rc, out, _ = gw.audit_verify()
        check(rc != 0 and "retention anchor" in out, f"edited anchor hash: {out}")
        print(f"  {out.strip()}")
        f0 = a["frontier"][0]
        bad = dict(a, frontier=[("0" if f0[0] != "0" else "1") + f0[1:]] + a["frontier"][1:])
        put(json.dumps(bad))
        rc, out, _ = gw.audit_verify()
        check(rc != 0 and "frontier" in out, f"edited frontier: {out}")
        print(f"  {out.strip()}")
        c.execute("DELETE FROM audit_anchors")
        c.commit()
        rc, out, _ = gw.audit_verify()
        check(rc != 0 and f"seq {n + 1}" in out, f"deleted anchor: {out}")
        print(f"  {out.strip()}")
        c.execute("INSERT INTO audit_anchors (tree_size, record) VALUES (?, ?)", (n, orig))
        c.commit()
        rc, out, _ = gw.audit_verify()
        eq(rc, 0, f"restored anchor verifies: {out}")
    finally:
        c.close()


def test_tampered_prefix_is_not_pruned():
    c = db()
    try:
        seq, orig = c.execute("SELECT seq, record FROM audit_events WHERE type = 'statement' "
                              "ORDER BY seq LIMIT 1").fetchone()
        c.execute("UPDATE audit_events SET record = ? WHERE seq = ?",
                  (orig.replace("SELECT", "SELECt", 1), seq))
        c.commit()
        try:
            before = c.execute("SELECT count(*) FROM audit_events").fetchone()
            rc, out, err = prune("--before", "now")
            check(rc != 0 and "tampered" in (out + err) and f"seq {seq}" in err,
                  f"tampered prefix refused, naming the record: rc={rc} {err}")
            eq(c.execute("SELECT count(*) FROM audit_events").fetchone(), before,
               "nothing deleted")
        finally:
            c.execute("UPDATE audit_events SET record = ? WHERE seq = ?", (orig, seq))
            c.commit()
    finally:
        c.close()
    rc, out, _ = gw.audit_verify()
    eq(rc, 0, f"restored: {out}")


def test_gateway_prunes_on_its_timer():
    # Same data_dir, retention switched on: the gateway prunes shortly after start by itself.
    c2 = json.loads(json.dumps(cfg))
    c2["audit"]["retention"] = "1ms"
    harness.write_phigate_config(pg, c2, base=gw.base, port=gw.port)
    before = one("SELECT count(*) FROM audit_anchors")[0]
    gw.start()
    deadline = time.time() + 60
    while time.time() < deadline and one("SELECT count(*) FROM audit_anchors")[0] == before:
        time.sleep(0.2)
    check(one("SELECT count(*) FROM audit_anchors")[0] > before,
          f"the gateway pruned on its own; log:\n{gw.log_tail()}")
    gw.stop()
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"verify after the timer's prune: {out}\n{err}")
    types = [r[0] for r in sql_rows("SELECT type FROM audit_events WHERE type = 'retention_prune'")]
    check(len(types) >= 1, "the timer's prune is on the record")


def sql_rows(sql):
    c = db()
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


if __name__ == "__main__":
    harness.main(globals())
