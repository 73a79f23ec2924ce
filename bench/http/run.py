#!/usr/bin/env python3
"""HTTP data path benchmark: wrk against nginx directly, through nginx proxy_pass, and through
phigate (bearer token auth, a policy decision per request, JSON masking with detectors and a path
rule, strict audit: a durable request record before forwarding plus a result record), in one run,
alternating targets per round. Prints rps medians, ratios and p99 latency; writes last-run.txt."""
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import harness as h  # noqa: E402
import httpkit as k  # noqa: E402

R = int(os.environ.get("R", "3"))
DUR = int(os.environ.get("DUR", "10"))
CONN = int(os.environ.get("CONN", "16"))
THREADS = int(os.environ.get("WRK_THREADS", "2"))
GW_THREADS = int(os.environ.get("GW_THREADS", "0"))

BODY = json.dumps({"resourceType": "Bundle", "entry": [
    {"id": i, "name": f"Patient {i}", "ssn": "412-39-7710", "email": f"p{i}@example.org",
     "note": "stable, follow up in 2 weeks", "score": i * 1.5} for i in range(8)]}).encode()


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wrk(url, token=None, pid=None):
    """rps, p99 ms, non-2xx count, and the CPU µs per request spent by `pid` (None: not asked)."""
    before = cpu_ticks(pid) if pid else 0
    cmd = ["wrk", "-t", str(THREADS), "-c", str(CONN), "-d", f"{DUR}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=DUR + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    cpu = None
    if pid:
        n = int(re.search(r"(\d+) requests in", out).group(1))
        cpu = (cpu_ticks(pid) - before) * 1e6 / os.sysconf("SC_CLK_TCK") / max(n, 1)
    return rps, p99, int(errors.group(1)) if errors else 0, cpu


def start(mask=True):
    """nginx (origin + proxy_pass location) and phigate in front of it, configured as benchmarked.
    Returns (nginx port, gateway, token)."""
    port, _ = k.start_nginx({"api/bundle.json": BODY})
    http = {"mask": {"detectors": ["US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"],
                     "fields": [{"path": "$.entry[*].ssn", "action": "redact"}]}}
    cfg = k.http_config(
        [{"name": "api", "type": "http", "upstream": f"http://127.0.0.1:{port}/api",
          **({"http": http} if mask else {})}],
        {"client": {"resources": ["api"],
                    "rules": [{"match": {"methods": ["GET"], "paths": ["/bundle*"]},
                               "action": "allow"}]}},
        {"bench": ["client"]},
        extra_gateway={"threads": GW_THREADS} if GW_THREADS else None)
    gw = h.start_phigate(None, cfg)
    return port, gw, gw.token("bench", ["bench"], ttl="1h")


def main():
    port, gw, token = start()
    targets = {
        "direct": (f"http://127.0.0.1:{port}/api/bundle.json", None),
        "nginx-proxy": (f"http://127.0.0.1:{port}/proxy/api/bundle.json", None),
        "phigate": (f"http://127.0.0.1:{gw.port}/api/bundle.json", token),
    }
    # Sanity: the proxied body is masked, nginx's is not.
    rc, out, _ = k.curl(["-H", f"Authorization: Bearer {token}", targets["phigate"][0]])
    assert "412-39-7710" not in out and "[ssn]" in out, out[:200]
    rc, out, _ = k.curl([targets["nginx-proxy"][0]])
    assert "412-39-7710" in out, out[:200]
    res = {t: [] for t in targets}
    for r in range(R):
        for name, (url, tok) in targets.items():
            res[name].append(wrk(url, tok, gw.proc.pid if name == "phigate" else None))
            cpu = res[name][-1][3]
            print(f"round {r + 1} {name:12s} rps={res[name][-1][0]:.0f} "
                  f"p99={res[name][-1][1]:.2f}ms non2xx={res[name][-1][2]}"
                  + (f" phigate-cpu={cpu:.1f}us/req" if cpu is not None else ""), flush=True)
    rc, out, err = gw.audit_verify()
    load = open("/proc/loadavg").read().split()[:3]
    lines = [f"bench/http: R={R} DUR={DUR}s wrk -t{THREADS} -c{CONN}, body {len(BODY)} bytes, "
             f"load avg before/after {' '.join(load)}",
             f"{'target':12s} {'rps median':>10s} {'vs direct':>9s} {'vs nginx':>9s} "
             f"{'p99 ms':>7s} {'non2xx':>6s}"]
    med = {t: statistics.median(x[0] for x in v) for t, v in res.items()}
    for t, v in res.items():
        lines.append(f"{t:12s} {med[t]:10.0f} {med[t] / med['direct']:8.2f}x "
                     f"{med[t] / med['nginx-proxy']:8.2f}x "
                     f"{statistics.median(x[1] for x in v):7.2f} {sum(x[2] for x in v):6d}")
    cpus = [x[3] for x in res["phigate"]]
    lines.append(f"phigate CPU per request (all threads, user+sys): median "
                 f"{statistics.median(cpus):.1f} us")
    lines.append(f"audit verify: rc={rc} {out.strip().splitlines()[-1] if out.strip() else err.strip()}")
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(HERE, "last-run.txt"), "w") as f:
        f.write(report + "\n")
    h._run_cleanups()


if __name__ == "__main__":
    main()
