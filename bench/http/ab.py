#!/usr/bin/env python3
"""Two phigate binaries on the bench/http workload, alternating. For each of PAIRS pairs, a fresh
gateway of A then one of B (the same nginx origin and the same config as run.py's phigate leg) get
one DUR-second wrk run each; prints rps, p99, the machine's idle share and the gateway's CPU per
request, then the means and how many pairs A won. For a change against its parent on a busy
2-core machine, where only alternation shares the noise fairly.
Usage: DUR=8 bench/http/ab.py BIN_A BIN_B [PAIRS]"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (its harness import may re-execute this under Debian's python3)
from run import h, k  # noqa: E402


def one(binary, port):
    os.environ["PHIGATE_BIN"] = binary
    gw = h.start_phigate(None, run.phigate_config(port))
    try:
        tok = gw.token("bench", ["bench"], ttl="1h")
        rps, p99, non2xx, cpu, idle, _ = run.wrk(f"http://127.0.0.1:{gw.port}/api/bundle.json",
                                                 tok, [gw.proc.pid])
    finally:
        gw.stop()
    if non2xx:
        raise AssertionError(f"{binary}: {non2xx} non-2xx responses")
    return rps, p99, idle, cpu[0]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bins = {"A": os.path.abspath(sys.argv[1]), "B": os.path.abspath(sys.argv[2])}
    pairs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    port, _ = k.start_nginx({"api/bundle.json": run.BODY})
    res = {"A": [], "B": []}
    for i in range(pairs):
        for label in ("A", "B"):
            res[label].append(one(bins[label], port))
            rps, p99, idle, cpu = res[label][-1]
            print(f"pair {i + 1} {label} rps={rps:.0f} p99={p99:.2f}ms idle={100 * idle:.1f}% "
                  f"cpu={cpu:.1f}us/req", flush=True)
    for label in ("A", "B"):
        v = res[label]
        print(f"{label} {bins[label]}: mean {statistics.mean(x[0] for x in v):.0f} rps, "
              f"{statistics.mean(x[3] for x in v):.1f} us/req, "
              f"idle {100 * statistics.mean(x[2] for x in v):.1f}%")
    wins = sum(a[0] > b[0] for a, b in zip(res["A"], res["B"]))
    ratio = statistics.mean(x[0] for x in res["A"]) / statistics.mean(x[0] for x in res["B"])
    print(f"A/B rps {ratio:.3f}; A faster in {wins} of {pairs} pairs")
    h._run_cleanups()


if __name__ == "__main__":
    main()
