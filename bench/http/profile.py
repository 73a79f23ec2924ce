#!/usr/bin/python3
"""User-space instructions per proxied request, deterministic enough to compare two commits on a
busy machine (wall-clock rps is not): the bench/http setup with phigate's `serve` under valgrind
callgrind, a warm-up, counters zeroed, wrk for DUR seconds, a dump, then Ir per request in total
and for the main stages. Kernel time is not counted, and SHA-256 runs without SHA-NI under
valgrind, so the audit share is over-weighted. Knobs: DUR (8), MASK (1), AUDIT_OFF (0: 1 runs
`serve --bench-audit-discard`). Needs valgrind."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# The harness may re-exec this script under /usr/bin/python3: the wrapper is made once.
OUT = os.environ.get("PHIGATE_CALLGRIND_OUT")
if not OUT:
    REAL_BIN = os.path.abspath(os.environ.get("PHIGATE_BIN") or os.path.join(
        HERE, "..", "..", "build", "release", "src", "phigate"))
    OUT = os.environ["PHIGATE_CALLGRIND_OUT"] = tempfile.mkdtemp(prefix="phigate-callgrind-")
    off = os.environ.get("AUDIT_OFF") == "1"
    with open(os.path.join(OUT, "phigate"), "w") as f:
        f.write("#!/bin/sh\n"
                'if [ "$1" = serve ]; then\n'
                + ("  export PHIGATE_BENCHMARK_ONLY=audit-off\n" if off else "")
                + f'  exec valgrind --tool=callgrind --callgrind-out-file={OUT}/cg.%p '
                f'"{REAL_BIN}" "$@"' + (" --bench-audit-discard" if off else "")
                + "\nfi\n" + f'exec "{REAL_BIN}" "$@"\n')
    os.chmod(os.path.join(OUT, "phigate"), 0o755)
    os.environ["PHIGATE_BIN"] = os.path.join(OUT, "phigate")
sys.path.insert(0, HERE)
import run as b  # noqa: E402

STAGES = ["HttpSession::handle_one", "HttpSession::relay_response", "Log::append_now",
          "JsonStreamMasker::feed", "SqliteAuditStore::ingest", "http::RequestParser::feed",
          "http::ResponseParser::feed", "HttpSession::record_result", "operator new(unsigned long)"]


def main():
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed")
    dur = int(os.environ.get("DUR", "8"))
    port, _, gw, token = b.start(mask=os.environ.get("MASK", "1") == "1")
    url = f"http://127.0.0.1:{gw.port}/api/bundle.json"
    wrk = ["wrk", "-t1", "-c4", "-H", f"Authorization: Bearer {token}", url]
    subprocess.run(wrk[:3] + ["-d3s"] + wrk[3:], capture_output=True, timeout=120)
    subprocess.run(["callgrind_control", "-z", str(gw.proc.pid)], capture_output=True, timeout=60)
    out = subprocess.run(wrk[:3] + [f"-d{dur}s"] + wrk[3:], capture_output=True, text=True,
                         timeout=dur + 120).stdout
    n = int(re.search(r"(\d+) requests in", out).group(1))
    subprocess.run(["callgrind_control", "-d", str(gw.proc.pid)], capture_output=True, timeout=60)
    dumps = sorted(p for p in os.listdir(OUT) if re.fullmatch(rf"cg\.{gw.proc.pid}\.\d+", p))
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                          os.path.join(OUT, dumps[-1])], capture_output=True, text=True).stdout
    rows = [(int(m.group(1).replace(",", "")), m.group(2)) for m in
            re.finditer(r"^\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", ann, re.M)]
    print(f"requests={n} Ir/request={rows[0][0] // n}")
    for stage in STAGES:
        hit = next((ir for ir, name in rows if stage in name), None)
        if hit is not None:
            print(f"  {stage:32s} {hit // n:>9d}")
    print(f"callgrind output: {OUT}")
    b.h._run_cleanups()


if __name__ == "__main__":
    main()
