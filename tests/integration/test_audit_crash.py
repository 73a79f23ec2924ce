#!/usr/bin/env python3
"""kill -9 under load (issue 6): 55 concurrent sessions run reads and writes through the gateway
with strict durability; the gateway is SIGKILLed mid-load and restarted. Then `phigate audit
verify` passes, and every statement PostgreSQL itself logged (log_statement=all) has its audit
record: strict durability means the record is durable before the statement is forwarded, so a
crash at any moment can lose a statement, never its record."""
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402
import psycopg2  # noqa: E402  (after harness: it picks the interpreter that has it)

SESSIONS = 55
pg = gw = None
TOKEN = None


def setup_module():
    global pg, gw, TOKEN
    pg = harness.start_postgres(patients=20, extra_conf={"log_statement": "'all'",
                                                         "max_connections": "120"})
    pg.admin("CREATE TABLE crash_log (tag text PRIMARY KEY);", dbname="clinic")
    pg.admin("ALTER TABLE crash_log OWNER TO phigate_clinic;", dbname="clinic")
    cfg = harness.default_config(pg)
    cfg["audit"]["checkpoint"] = {"every_events": 200, "every": "1s"}
    gw = harness.start_phigate(pg, cfg)
    TOKEN = gw.token("dan", ["dbas"])


def worker(n, stop, done, errors):
    try:
        conn = psycopg2.connect(gw.dsn(TOKEN))
        conn.autocommit = True
        cur = conn.cursor()
    except psycopg2.Error as e:
        errors.append(f"session {n} could not connect: {e}")
        return
    i = 0
    try:
        while not stop.is_set():
            tag = f"ct-{n}-{i}"
            # Reads and writes alternate, each its own Query message with a unique tag.
            if i % 2:
                cur.execute(f"INSERT INTO crash_log VALUES ('{tag}')")
            else:
                cur.execute(f"SELECT '{tag}' AS tag")
                cur.fetchall()
            with done[1]:
                done[0] += 1
            i += 1
    except psycopg2.Error:
        pass  # the gateway was killed under us
    finally:
        try:
            conn.close()
        except psycopg2.Error:
            pass


def pg_logged_tags():
    tags = set()
    with open(pg.log, errors="replace") as f:
        for line in f:
            if "statement: " in line:
                tags.update(re.findall(r"'(ct-\d+-\d+)'", line.split("statement: ", 1)[1]))
    return tags


def audit_tags():
    rc, out, err = gw.cli("audit", "export", "--config", gw.config, timeout=120)
    eq(rc, 0, err)
    tags = set()
    for line in out.splitlines():
        rec = json.loads(line)
        if rec.get("type") == "statement":
            tags.update(re.findall(r"'(ct-\d+-\d+)'", rec["action"]))
    return tags


def test_kill_9_mid_load_then_verify_and_match_postgres_log():
    stop = threading.Event()
    done = [0, threading.Lock()]
    errors = []
    threads = [threading.Thread(target=worker, args=(n, stop, done, errors), daemon=True)
               for n in range(SESSIONS)]
    for t in threads:
        t.start()
    # Kill once the load is well under way: every session has run statements.
    deadline = time.time() + 120
    while done[0] < SESSIONS * 20:
        check(time.time() < deadline, f"load did not get going: {done[0]} statements, {errors}")
        check(not errors, f"sessions failed: {errors[:3]}")
        time.sleep(0.05)
    gw.proc.kill()  # SIGKILL: no shutdown, no final checkpoint, journal not ingested
    gw.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(30)
    print(f"  killed after {done[0]} completed statements from {SESSIONS} sessions")

    gw.start()  # recovers the journal
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"audit verify after kill -9: {out}{err}")
    print(f"  {out.strip()}")

    logged = pg_logged_tags()
    check(len(logged) >= done[0], f"postgres logged {len(logged)} < {done[0]} completed")
    audited = audit_tags()
    missing = logged - audited
    eq(sorted(missing)[:20], [], f"statements PostgreSQL ran without an audit record "
                                 f"({len(missing)} of {len(logged)})")
    print(f"  all {len(logged)} statements in PostgreSQL's log are among the {len(audited)} "
          f"audited")
    # And the gateway goes on working, continuing the chain.
    rc, out, err = gw.psql(TOKEN, "SELECT 'after-restart'")
    eq(rc, 0, err)
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"verify after more traffic: {out}{err}")


if __name__ == "__main__":
    harness.main(globals())
