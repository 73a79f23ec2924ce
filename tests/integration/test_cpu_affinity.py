#!/usr/bin/env python3
"""gateway.cpu_affinity on a running gateway: each io thread (named io-N) may run on exactly one
CPU of the process's affinity mask, thread i on the i-th (wrapping when there are more threads
than CPUs), the audit threads stay free, and statements flow. Without it, every thread floats."""
import os

import harness as h  # first: re-executes under Debian's python3 that has psycopg2

pg = None


def setup_module():
    global pg
    pg = h.start_postgres(patients=3)


def thread_cpus(pid):
    """{thread name: [allowed CPUs]} of a process, from /proc."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            name = f.read().strip()
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            mask = next(line.split(":", 1)[1].strip() for line in f
                        if line.startswith("Cpus_allowed_list"))
        cpus = []
        for part in mask.split(","):
            lo, _, hi = part.partition("-")
            cpus += range(int(lo), int(hi or lo) + 1)
        out.setdefault(name, []).append(cpus)
    return out


def run_gateway(pin):
    allowed = sorted(os.sched_getaffinity(0))
    cfg = h.default_config(pg)
    cfg["gateway"]["threads"] = len(allowed) + 1
    cfg["gateway"]["cpu_affinity"] = pin
    gw = h.start_phigate(pg, cfg)
    c = gw.connect(gw.token("rob", "analysts"))
    cur = c.cursor()
    cur.execute("SELECT count(*) FROM patients")
    h.eq(cur.fetchone()[0], 3)
    c.close()
    threads = thread_cpus(gw.proc.pid)
    gw.stop()
    return allowed, threads


# A thread an io thread starts (Asio's resolver thread of its context) inherits its name and its
# CPU, hence "every thread named io-N".
def test_pinned_io_threads():
    allowed, threads = run_gateway(True)
    for i in range(len(allowed) + 1):
        got = threads.get(f"io-{i}", [])
        h.check(got, f"no thread io-{i}: {sorted(threads)}")
        h.eq(got, [[allowed[i % len(allowed)]]] * len(got), f"io-{i}")
    h.eq(threads.get("audit-ingest"), [allowed])
    h.eq(threads.get("audit-writer"), [allowed])


def test_floating_io_threads_by_default():
    allowed, threads = run_gateway(False)
    for i in range(len(allowed) + 1):
        got = threads.get(f"io-{i}", [])
        h.check(got, f"no thread io-{i}: {sorted(threads)}")
        h.eq(got, [allowed] * len(got), f"io-{i}")


if __name__ == "__main__":
    h.main(globals())
