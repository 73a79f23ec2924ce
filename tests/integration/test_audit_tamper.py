#!/usr/bin/env python3
"""Tampering with the audit log (issue 6), attacked the way an insider with write access to the
SQLite store or to an export would: edit a field, delete a record, swap two, truncate the tail,
rewrite a record with its hash recomputed, rewrite the whole chain after a deletion, insert a forged
record, replace a checkpoint. `phigate audit verify` must detect each and name the record (seq) or
checkpoint and what is wrong. Also: `audit export` (jsonl + ocsf) and `verify --from-export` round
trip with only the public key, and `audit prove` / `audit verify-proof` (a tampered proof refused)."""
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
N_STATEMENTS = 40
RECORDS = 0
CHECKPOINTS = []
PUBKEY = None


def setup_module():
    global pg, gw, RECORDS, CHECKPOINTS, PUBKEY
    pg = harness.start_postgres(patients=20)
    cfg = harness.default_config(pg)
    cfg["audit"]["checkpoint"] = {"every_events": 10, "every": "1h"}
    gw = harness.start_phigate(pg, cfg)
    token = gw.token("alice", ["analysts"])
    sql = "".join(f"SELECT {i} AS n;\n" for i in range(N_STATEMENTS))
    rc, out, err = gw.psql(token, input=sql)
    eq(rc, 0, f"psql failed: {err}")
    eq(gw.stop(), 0, "clean shutdown signs the final checkpoint")
    db = sqlite3.connect(os.path.join(gw.data_dir, "phigate.db"))
    RECORDS = db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    CHECKPOINTS = [r[0] for r in db.execute("SELECT tree_size FROM audit_checkpoints "
                                            "ORDER BY tree_size")]
    db.close()
    check(RECORDS >= 2 * N_STATEMENTS, f"records: {RECORDS}")
    check(len(CHECKPOINTS) >= 4 and CHECKPOINTS[-1] == RECORDS, f"checkpoints: {CHECKPOINTS}")
    PUBKEY = os.path.join(gw.base, "audit.pub.json")
    rc, out, err = gw.cli("audit", "pubkey", "--config", gw.config, "--json")
    eq(rc, 0, err)
    with open(PUBKEY, "w") as f:
        f.write(out)


# -- helpers -----------------------------------------------------------------------------------

def copy_store():
    """A private copy of the pristine gateway (config + data) to tamper with."""
    d = harness.tmpdir("tamper")
    shutil.copytree(gw.data_dir, os.path.join(d, "data"))
    with open(gw.config) as f:
        text = f.read().replace(gw.data_dir, os.path.join(d, "data"))
    cfg = os.path.join(d, "phigate.yaml")
    with open(cfg, "w") as f:
        f.write(text)
    return cfg, sqlite3.connect(os.path.join(d, "data", "phigate.db"))


def verify(cfg, *extra):
    rc, out, err = harness.run([harness.phigate_bin(), "audit", "verify", "--config", cfg] +
                               list(extra), env=gw.env, timeout=120)
    return rc, out.strip() + err.strip()


def canonical(rec):
    body = {k: v for k, v in rec.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rehash(rec):
    """What an attacker does to make an edited record's own hash check out (canonical.h rule)."""
    rec["hash"] = hashlib.sha256((rec["prev_hash"] + "\n" + canonical(rec)).encode()).hexdigest()
    return rec


def line(rec):
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record(db, seq):
    return json.loads(db.execute("SELECT record FROM audit_events WHERE seq = ?",
                                 (seq,)).fetchone()[0])


def put(db, key, rec):
    db.execute("UPDATE audit_events SET record = ?, hash = ?, time_ns = ?, session_id = ?, "
               "type = ?, sub = ?, resource = ? WHERE seq = ?",
               (line(rec), rec["hash"], rec["time_ns"], rec["session_id"], rec["type"],
                rec["sub"], rec["resource"], key))


def expect_tampered(cfg, db, pattern):
    db.commit()
    db.close()
    rc, out = verify(cfg)
    eq(rc, 1, f"verify must fail: {out}")
    check(re.search(pattern, out), f"verify output should match {pattern!r}:\n{out}")
    print(f"  {out}")


def statement_seq(db, n):
    (seq,) = db.execute("SELECT seq FROM audit_events WHERE type = 'statement' AND record LIKE ?",
                        (f'%"action":"SELECT {n} AS n;"%',)).fetchone()
    return seq


# -- the store -----------------------------------------------------------------------------------

def test_pristine_log_verifies():
    cfg, db = copy_store()
    db.close()
    rc, out = verify(cfg)
    eq(rc, 0, out)
    check(f"audit log intact: {RECORDS} records, {len(CHECKPOINTS)} checkpoints" in out, out)


def test_edited_field_is_named():
    cfg, db = copy_store()
    seq = statement_seq(db, 17)
    db.execute("UPDATE audit_events SET record = replace(record, 'SELECT 17 AS n', "
               "'SELECT 71 AS n') WHERE seq = ?", (seq,))
    expect_tampered(cfg, db, rf"seq {seq}: hash mismatch .* record edited")


def test_edited_indexed_column_is_named():
    cfg, db = copy_store()
    seq = statement_seq(db, 3)
    db.execute("UPDATE audit_events SET sub = 'mallory' WHERE seq = ?", (seq,))
    expect_tampered(cfg, db, rf"seq {seq}: indexed column sub differs from record")


def test_deleted_record_is_named():
    cfg, db = copy_store()
    seq = statement_seq(db, 20)
    db.execute("DELETE FROM audit_events WHERE seq = ?", (seq,))
    expect_tampered(cfg, db, rf"seq {seq}: missing .* deleted")


def test_swapped_records_are_named():
    cfg, db = copy_store()
    a = statement_seq(db, 25)
    ra, rb = record(db, a), record(db, a + 1)
    put(db, a, rb)
    put(db, a + 1, ra)
    expect_tampered(cfg, db, rf"seq {a}: filed as seq {a} but holds the record of seq {a + 1} .* "
                             r"reordered")


def test_truncated_tail_is_named():
    cfg, db = copy_store()
    db.execute("DELETE FROM audit_events WHERE seq > ?", (RECORDS - 3,))
    first = next(c for c in CHECKPOINTS if c > RECORDS - 3)
    expect_tampered(cfg, db, rf"checkpoint tree_size {first}: log holds only {RECORDS - 3} "
                             rf"records \(truncated: seq {RECORDS - 2}(\.\.{first})? deleted\)")


def test_rewritten_record_with_recomputed_hash_is_named():
    cfg, db = copy_store()
    seq = statement_seq(db, 9)
    rec = record(db, seq)
    rec["sub"] = "someone-else"
    put(db, seq, rehash(rec))
    expect_tampered(cfg, db, rf"seq {seq + 1}: prev_hash does not match seq {seq} .* rewritten")


def test_deletion_with_whole_chain_recomputed_is_caught_by_checkpoint():
    # The strongest attack without the signing key: delete a record, renumber everything after it
    # and recompute every hash. The chain is then perfect; only the signed Merkle roots can tell.
    cfg, db = copy_store()
    victim = statement_seq(db, 30)
    rows = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit_events ORDER BY seq")]
    kept = [r for r in rows if r["seq"] != victim]
    prev = "0" * 64
    db.execute("DELETE FROM audit_events")
    for i, rec in enumerate(kept, start=1):
        rec["seq"] = i
        if rec.get("ref_seq", 0) > victim:
            rec["ref_seq"] -= 1
        rec["prev_hash"] = prev
        rehash(rec)
        prev = rec["hash"]
        db.execute("INSERT INTO audit_events (seq, time_ns, session_id, type, sub, resource, "
                   "record, hash) VALUES (?,?,?,?,?,?,?,?)",
                   (i, rec["time_ns"], rec["session_id"], rec["type"], rec["sub"],
                    rec["resource"], line(rec), rec["hash"]))
    first_cp = next(c for c in CHECKPOINTS if c >= victim)
    expect_tampered(cfg, db, rf"checkpoint tree_size {first_cp}: Merkle root .* rewritten")


def test_forged_record_before_the_first_is_named():
    cfg, db = copy_store()
    rec = record(db, 1)
    rec["seq"] = 0
    db.execute("INSERT INTO audit_events (seq, time_ns, session_id, type, sub, resource, record, "
               "hash) VALUES (0,?,?,?,?,?,?,?)",
               (rec["time_ns"], rec["session_id"], rec["type"], rec["sub"], rec["resource"],
                line(rehash(rec)), rec["hash"]))
    expect_tampered(cfg, db, r"seq 0: forged record before the first one")


def test_replaced_checkpoint_is_named():
    cfg, db = copy_store()
    size = CHECKPOINTS[1]
    (text,) = db.execute("SELECT record FROM audit_checkpoints WHERE tree_size = ?",
                         (size,)).fetchone()
    c = json.loads(text)
    # A root that matches a rewritten log, with the old signature: the signature gives it away.
    c["root_hex"] = hashlib.sha256(b"forged").hexdigest()
    db.execute("UPDATE audit_checkpoints SET record = ? WHERE tree_size = ?", (line(c), size))
    expect_tampered(cfg, db, rf"checkpoint tree_size {size}: .*forged or replaced")


def test_checkpoint_signed_by_another_key_is_named():
    cfg, db = copy_store()
    size = CHECKPOINTS[0]
    (text,) = db.execute("SELECT record FROM audit_checkpoints WHERE tree_size = ?",
                         (size,)).fetchone()
    c = json.loads(text)
    c["key_id"] = "0123456789abcdef"
    db.execute("UPDATE audit_checkpoints SET record = ? WHERE tree_size = ?", (line(c), size))
    expect_tampered(cfg, db, rf"checkpoint tree_size {size}: checkpoint was signed by key "
                             r"0123456789abcdef, not by the audit key")


# -- export ------------------------------------------------------------------------------------

def export(fmt="jsonl", *extra):
    out = os.path.join(gw.base, f"export-{fmt}-{len(extra)}.jsonl")
    rc, _, err = gw.cli("audit", "export", "--config", gw.config, "--format", fmt, "--output", out,
                        *extra)
    eq(rc, 0, f"export failed: {err}")
    with open(out) as f:
        return out, f.read().splitlines()


def verify_export(path):
    # No config: only the export and the public key.
    rc, out, err = harness.run([harness.phigate_bin(), "audit", "verify", "--from-export", path,
                                "--pubkey", PUBKEY], env=gw.env)
    return rc, (out + err).strip()


def test_export_jsonl_round_trip():
    path, lines = export()
    recs = [json.loads(ln) for ln in lines]
    events = [r for r in recs if r.get("type") != "checkpoint"]
    cps = [r for r in recs if r.get("type") == "checkpoint"]
    eq(len(events), RECORDS, "every record exported")
    eq([c["tree_size"] for c in cps], CHECKPOINTS, "every checkpoint exported")
    # Each checkpoint comes right after the record that completes its tree.
    for i, r in enumerate(recs):
        if r.get("type") == "checkpoint":
            eq(recs[i - 1]["seq"], r["tree_size"], "checkpoint position")
    # Record lines are the stored lines, byte for byte.
    db = sqlite3.connect(f"file:{os.path.join(gw.data_dir, 'phigate.db')}?mode=ro", uri=True)
    stored = [r[0] for r in db.execute("SELECT record FROM audit_events ORDER BY seq")]
    db.close()
    eq([ln for ln in lines if ln.startswith('{"act_sub"')], stored, "exported lines")
    rc, out = verify_export(path)
    eq(rc, 0, out)
    check(f"audit log intact: {RECORDS} records, {len(CHECKPOINTS)} checkpoints" in out, out)


def test_tampered_export_is_named():
    path, lines = export()
    idx = next(i for i, ln in enumerate(lines) if '"action":"SELECT 12 AS n;"' in ln)
    seq = json.loads(lines[idx])["seq"]
    cases = {
        "edit": (lines[:idx] + [lines[idx].replace("SELECT 12", "SELECT 21")] + lines[idx + 1:],
                 rf"seq {seq}: hash mismatch"),
        "drop": (lines[:idx] + lines[idx + 1:], rf"seq {seq}: missing .* deleted"),
        "swap": (lines[:idx] + [lines[idx + 1], lines[idx]] + lines[idx + 2:],
                 rf"seq {seq}: out of order .* found after seq {seq + 1} \(records reordered\)"),
        "truncate": ([ln for ln in lines if not ln.startswith('{"act_sub"') or
                      json.loads(ln)["seq"] <= RECORDS - 2],
                     rf"checkpoint tree_size \d+: log holds only {RECORDS - 2} records"),
        "garbage": (lines[:3] + ["not json"] + lines[3:], r"line 4: neither an audit record"),
    }
    for name, (content, pattern) in cases.items():
        bad = path + "." + name
        with open(bad, "w") as f:
            f.write("\n".join(content) + "\n")
        rc, out = verify_export(bad)
        eq(rc, 1, f"{name}: verify must fail: {out}")
        check(re.search(pattern, out), f"{name}: expected {pattern!r} in:\n{out}")
        print(f"  {name}: {out}")
    # Without the right key the checkpoints cannot be trusted.
    other = os.path.join(gw.base, "other.pub")
    with open(other, "w") as f:
        f.write("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n")  # not our key
    rc, out, err = harness.run([harness.phigate_bin(), "audit", "verify", "--from-export", path,
                                "--pubkey", other], env=gw.env)
    check(rc != 0, f"a foreign key must not verify our checkpoints: {out}{err}")


def test_export_ocsf():
    _, lines = export("ocsf")
    objs = [json.loads(ln) for ln in lines]
    eq(len(objs), RECORDS + len(CHECKPOINTS), "one OCSF object per record and checkpoint")
    by_class = {}
    for o in objs:
        eq(o["type_uid"], o["class_uid"] * 100 + o["activity_id"], "type_uid")
        check(o["metadata"]["product"]["name"] == "phigate", o)
        by_class.setdefault(o["class_uid"], []).append(o)
    check(3002 in by_class and 6005 in by_class and 0 in by_class, f"classes: {by_class.keys()}")
    q = [o for o in by_class[6005] if o.get("query_info", {}).get("query_string") == "SELECT 5 AS n;"]
    check(q and q[0]["activity_name"] == "Query" and q[0]["actor"]["user"]["name"] == "alice", q)
    # raw_data keeps the stored line, so the chain stays checkable from OCSF too.
    raw = json.loads(q[0]["raw_data"])
    eq(raw["seq"], q[0]["unmapped"]["seq"], "raw_data is the record")


def test_export_since_and_bad_input():
    _, lines = export("jsonl", "--since", "2000-01-01T00:00:00Z")
    eq(len([ln for ln in lines if ln.startswith('{"act_sub"')]), RECORDS, "since 2000")
    _, lines = export("jsonl", "--since", "4000000000")
    eq(lines, [], "nothing after the year 2096")
    rc, out, err = gw.cli("audit", "export", "--config", gw.config, "--since", "yesterday-ish")
    eq(rc, 2, f"bad --since: {out}{err}")
    check("--since" in err, err)


# -- proofs ------------------------------------------------------------------------------------

def test_prove_and_verify_proof():
    seq = 7
    proof = os.path.join(gw.base, "proof.json")
    rc, out, err = gw.cli("audit", "prove", str(seq), "--config", gw.config, "--output", proof)
    eq(rc, 0, f"prove failed: {err}")
    doc = json.load(open(proof))
    eq(doc["seq"], seq, "seq")
    eq(doc["tree_size"], CHECKPOINTS[-1], "default: the newest checkpoint")
    rc, out, err = harness.run([harness.phigate_bin(), "audit", "verify-proof", proof, "--pubkey",
                                PUBKEY], env=gw.env)
    eq(rc, 0, f"verify-proof: {out}{err}")
    check(f"proof valid: seq {seq}" in out, out)
    # Against an older checkpoint too.
    rc, out, err = gw.cli("audit", "prove", str(seq), "--checkpoint", str(CHECKPOINTS[0]),
                          "--config", gw.config)
    eq(rc, 0, err)
    eq(json.loads(out)["tree_size"], CHECKPOINTS[0], "--checkpoint")
    rc, out, err = gw.cli("audit", "prove", str(CHECKPOINTS[0] + 1), "--checkpoint",
                          str(CHECKPOINTS[0]), "--config", gw.config)
    eq(rc, 1, f"a checkpoint that does not cover the record: {out}")

    def tampered(mutate, name):
        d = json.loads(json.dumps(doc))
        mutate(d)
        p = os.path.join(gw.base, f"proof-{name}.json")
        json.dump(d, open(p, "w"))
        rc, out, err = harness.run([harness.phigate_bin(), "audit", "verify-proof", p,
                                    "--pubkey", PUBKEY], env=gw.env)
        eq(rc, 1, f"{name}: a tampered proof must be refused: {out}{err}")
        check("NOT valid" in out, out)
        print(f"  {name}: {out.strip()}")

    tampered(lambda d: d.update(leaf=d["leaf"].replace('"sub":"alice"', '"sub":"bob"')), "leaf")
    tampered(lambda d: d.update(leaf=line(rehash(dict(json.loads(d["leaf"]), sub="bob")))),
             "leaf-rehashed")
    tampered(lambda d: d["path"].__setitem__(0, "00" * 32), "path")
    tampered(lambda d: d.update(seq=seq + 1, leaf_index=seq), "index")
    tampered(lambda d: d["checkpoint"].update(tree_size=d["tree_size"] + 1), "checkpoint")


if __name__ == "__main__":
    harness.main(globals())
