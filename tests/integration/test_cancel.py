#!/usr/bin/env python3
"""Query cancel through phigate: libpq's CancelRequest (to the gateway, with the key the gateway
handed out) stops the upstream query quickly with 57014; a CancelRequest with a wrong key cancels
nothing."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgwire  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
TOKEN = None


def setup_module():
    global pg, gw, TOKEN
    pg = harness.start_postgres(patients=20)
    gw = harness.start_phigate(pg)
    TOKEN = gw.token("alice", ["analysts"])


def upstream_sleepers():
    rc, out, err = harness.psql(pg.dsn(), args=["-At"], sql=(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND query LIKE 'SELECT pg_sleep%'"))
    eq(rc, 0, err)
    return int(out)


def test_psycopg2_cancel():
    conn = gw.connect(TOKEN)
    conn.autocommit = True
    cur = conn.cursor()
    timer = threading.Timer(1.0, conn.cancel)
    timer.start()
    t0 = time.time()
    try:
        e = harness.pg_error(lambda: cur.execute("SELECT pg_sleep(30)"))
    finally:
        timer.cancel()
    took = time.time() - t0
    eq(e.pgcode, "57014", f"cancelled query error ({e})")
    check(took < 10, f"cancel took {took:.1f}s")
    print(f"  cancelled after {took:.2f}s")
    check(pgwire.wait_until(lambda: upstream_sleepers() == 0, 5),
          "upstream query still running after cancel")
    cur.execute("SELECT 'usable'")
    eq(cur.fetchone()[0], "usable", "session after cancel")
    conn.close()


def test_cancel_in_transaction():
    conn = gw.connect(TOKEN)
    cur = conn.cursor()
    cur.execute("SELECT 1")
    timer = threading.Timer(1.0, conn.cancel)
    timer.start()
    e = harness.pg_error(lambda: cur.execute("SELECT pg_sleep(30)"))
    timer.cancel()
    eq(e.pgcode, "57014", f"cancel inside a transaction ({e})")
    e = harness.pg_error(lambda: cur.execute("SELECT 1"))
    eq(e.pgcode, "25P02", "transaction aborted by the cancel")
    conn.rollback()
    cur.execute("SELECT 2")
    eq(cur.fetchone()[0], 2, "after rollback")
    conn.close()


def test_wrong_key_cancels_nothing():
    c = pgwire.Conn("127.0.0.1", gw.port)
    status, fields = c.startup("tester", "clinic", TOKEN)
    eq(status, "ok", f"startup: {fields}")
    check(c.pid is not None, "gateway sent no BackendKeyData")
    c.query("SELECT pg_sleep(2.5), 'finished'")
    t0 = time.time()
    time.sleep(0.5)
    pgwire.send_cancel("127.0.0.1", gw.port, c.pid, (c.key + 1) & 0xFFFFFFFF)
    pgwire.send_cancel("127.0.0.1", gw.port, c.pid ^ 0x5A5A, c.key)
    res = c.collect()
    took = time.time() - t0
    eq(res["errors"], [], "a wrong-key CancelRequest cancelled the query")
    eq(res["rows"], [["", "finished"]], "rows")
    check(took >= 2.0, f"query returned early ({took:.1f}s)")
    # and the right key does cancel
    c.query("SELECT pg_sleep(30)")
    time.sleep(0.5)
    pgwire.send_cancel("127.0.0.1", gw.port, c.pid, c.key)
    res = c.collect()
    eq([e.get("C") for e in res["errors"]], ["57014"], "right-key cancel")
    c.close()


if __name__ == "__main__":
    harness.main(globals())
