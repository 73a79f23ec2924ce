#!/usr/bin/env python3
"""pgbench point selects through phigate, simple and extended protocol, 4 concurrent clients:
no failed transaction, and every transaction left a statement record in an intact audit chain."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

pg = gw = None
TOKEN = None
total_tx = 0


def setup_module():
    global pg, gw, TOKEN
    pg = harness.start_postgres(load_demo=False)
    pg.add_database("bench")
    harness.run([harness.PGBENCH, "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", str(pg.port),
                 "-U", pg.user, "bench"], env=harness.clean_env(PGPASSWORD=pg.password),
                check=True, timeout=300)
    cfg = harness.default_config(pg)
    cfg["resources"] = [harness.resource(pg, "bench")]
    cfg["identity"]["group_roles"] = {"bench": ["bencher"]}
    cfg["roles"] = {"bencher": {"resources": ["bench"],
                                "rules": [{"match": {"statement": ["select"]},
                                           "action": "allow"}]}}
    gw = harness.start_phigate(pg, cfg)
    TOKEN = gw.token("bench-bot", ["bench"], ttl="1h")


def pgbench(mode, port, password, user, clients=4, secs=3):
    rc, out, err = harness.run(
        [harness.PGBENCH, "-n", "-S", "-M", mode, "-c", str(clients), "-j", "2", "-T", str(secs),
         "-h", "127.0.0.1", "-p", str(port), "-U", user, "bench"],
        env=harness.clean_env(PGPASSWORD=password), timeout=secs + 120)
    m = re.search(r"number of transactions actually processed: (\d+)", out)
    f = re.search(r"number of failed transactions: (\d+)", out)
    tps = re.search(r"tps = ([\d.]+)", out)
    return rc, out, err, int(m.group(1)) if m else None, int(f.group(1)) if f else None, \
        float(tps.group(1)) if tps else None


def run_mode(mode):
    global total_tx
    rc, out, err, n, failed, tps = pgbench(mode, gw.port, TOKEN, "bench-client")
    check(rc == 0, f"pgbench -M {mode} via phigate rc={rc}\n{out}\n{err[-3000:]}")
    check(n and n > 0, f"no transactions processed:\n{out}")
    eq(failed, 0, f"failed transactions in -M {mode}:\n{out}")
    total_tx += n
    print(f"  -M {mode}: {n} transactions, {tps} tps via phigate")


def test_simple():
    run_mode("simple")


def test_extended():
    run_mode("extended")


def test_prepared():
    # named prepared statements (Parse once, Bind/Execute many) — pgJDBC-style reuse
    run_mode("prepared")


def test_audit_counts():
    rc, out, err = gw.audit_verify()
    eq(rc, 0, f"audit verify after pgbench: {out}{err}")
    counts = gw.audit_counts()
    print(f"  audit: {counts}; verify says: {out.strip()}")
    check(counts.get("statement", 0) >= total_tx,
          f"{counts.get('statement', 0)} statement records < {total_tx} transactions")


if __name__ == "__main__":
    harness.main(globals())
