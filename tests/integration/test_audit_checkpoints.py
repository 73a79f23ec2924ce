#!/usr/bin/env python3
"""Signed Merkle checkpoints (DESIGN.md §7, issue 6): the gateway signs the audit log's Merkle root
every N events and at shutdown; `phigate audit verify` checks every checkpoint's signature and
recomputes its root over the stored records; a restart resumes the tree from the frontier stored
with the last checkpoint; an edited checkpoint is detected and named;
`phigate audit pubkey` prints the verifying key."""
import base64
import json
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
ANALYST = None
EVERY = 10


def setup_module():
    global pg, gw, ANALYST
    pg = harness.start_postgres(patients=50)
    cfg = harness.default_config(pg)
    cfg["audit"]["checkpoint"] = {"every_events": EVERY, "every": "1s"}
    gw = harness.start_phigate(pg, cfg)
    ANALYST = gw.token("alice", ["analysts"])


def db_path():
    return os.path.join(gw.data_dir, "phigate.db")


def checkpoints():
    db = sqlite3.connect(f"file:{db_path()}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT tree_size, record FROM audit_checkpoints "
                          "ORDER BY tree_size").fetchall()
    finally:
        db.close()


def test_statements_then_shutdown_checkpoint():
    # 30 statements in one psql session: each is a statement + result record pair.
    sql = "".join(f"SELECT {i} AS n;\n" for i in range(30))
    rc, out, err = gw.psql(ANALYST, input=sql)
    eq(rc, 0, f"psql failed: {err}")
    rc = gw.stop()  # SIGTERM: close() drains and signs the final checkpoint
    eq(rc, 0, f"phigate exit code on SIGTERM; log:\n{gw.log_tail()}")
    cps = checkpoints()
    check(len(cps) >= 2, f"expected several checkpoints, got {cps}")
    db = sqlite3.connect(f"file:{db_path()}?mode=ro", uri=True)
    (count,) = db.execute("SELECT count(*) FROM audit_events").fetchone()
    db.close()
    check(count >= 60, f"expected >= 60 records (30 statements + results), got {count}")
    eq(cps[-1][0], count, "the shutdown checkpoint covers every record")
    for size, rec in cps:
        c = json.loads(rec)
        eq(c["tree_size"], size, "tree_size column")
        eq(c["node_id"], "gw-test", "node_id")
        check(re.fullmatch(r"[0-9a-f]{64}", c["root_hex"]), f"root_hex: {c}")


def test_verify_reports_checkpoints():
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"audit verify failed: {out}\n{err}")
    n = len(checkpoints())
    m = re.search(r"audit log intact: (\d+) records, (\d+) checkpoints", out)
    check(m, f"unexpected verify output: {out!r}")
    eq(int(m.group(2)), n, f"checkpoints verified: {out!r}")
    print(f"  {out.strip()}")


def test_pubkey():
    rc, out, err = gw.cli("audit", "pubkey", "--config", gw.config)
    eq(rc, 0, f"audit pubkey failed: {err}")
    rc, jout, err = gw.cli("audit", "pubkey", "--config", gw.config, "--json")
    eq(rc, 0, f"audit pubkey --json failed: {err}")
    j = json.loads(jout)
    eq(len(base64.b64decode(j["public_key_b64"])), 32, "raw Ed25519 public key")
    check(j["public_key_b64"] in out and j["key_id"] in out, f"text output: {out!r}")
    # Every stored checkpoint names this key.
    for _, rec in checkpoints():
        eq(json.loads(rec)["key_id"], j["key_id"], "checkpoint key_id")
    key = os.path.join(gw.data_dir, "keys", "audit_ed25519.pem")
    eq(os.stat(key).st_mode & 0o777, 0o600, "key file mode")


def test_restart_resumes_from_frontier():
    # The shutdown checkpoint carries the Merkle frontier (one hash per set bit of tree_size), and
    # a restart resumes the tree from it instead of reading every record again.
    db = sqlite3.connect(f"file:{db_path()}?mode=ro", uri=True, timeout=10)
    try:
        size, flen = db.execute("SELECT tree_size, length(frontier) FROM audit_checkpoints "
                                "ORDER BY tree_size DESC LIMIT 1").fetchone()
    finally:
        db.close()
    eq(flen, 32 * bin(size).count("1"), f"frontier bytes of checkpoint {size}")
    gw.start()
    rc, out, err = gw.psql(ANALYST, input="SELECT 1 AS n;\n")
    eq(rc, 0, f"psql after restart failed: {err}")
    eq(gw.stop(), 0, f"phigate exit code on SIGTERM; log:\n{gw.log_tail()}")
    with open(gw.log, errors="replace") as f:
        log = f.read()
    check(f"resumed at tree_size {size} + 0 records read" in log,
          f"restart did not resume from checkpoint {size}; log:\n{gw.log_tail()}")
    check(checkpoints()[-1][0] > size, "the restarted gateway signed the records it added")
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"audit verify after restart failed: {out}\n{err}")


def test_tampered_checkpoint_is_named():
    cps = checkpoints()
    size, rec = cps[len(cps) // 2]
    c = json.loads(rec)
    orig = rec
    c["root_hex"] = ("0" if c["root_hex"][0] != "0" else "1") + c["root_hex"][1:]
    db = sqlite3.connect(db_path(), timeout=10)
    try:
        db.execute("UPDATE audit_checkpoints SET record = ? WHERE tree_size = ?",
                   (json.dumps(c, separators=(",", ":"), sort_keys=True), size))
        db.commit()
        rc, out, err = gw.audit_verify()
        check(rc != 0, f"audit verify missed an edited checkpoint: {out}")
        check(f"tree_size {size}" in out, f"verify should name checkpoint {size}: {out!r}")
        print(f"  {out.strip()}")
        db.execute("UPDATE audit_checkpoints SET record = ? WHERE tree_size = ?", (orig, size))
        db.commit()
        rc, out, err = gw.audit_verify()
        eq(rc, 0, f"restored checkpoint should verify again: {out}")
        # A deleted tail is invisible to the hash chain but not to the last checkpoint.
        last = cps[-1][0]
        db.execute("DELETE FROM audit_events WHERE seq = ?", (last,))
        db.commit()
        rc, out, err = gw.audit_verify()
        check(rc != 0, f"audit verify missed a truncated tail: {out}")
        check(f"tree_size {last}" in out, f"verify should name checkpoint {last}: {out!r}")
    finally:
        db.close()


if __name__ == "__main__":
    harness.main(globals())
