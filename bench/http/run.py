#!/usr/bin/env python3
"""HTTP data path benchmark: wrk against nginx directly, through nginx proxy_pass, and through
phigate (bearer token auth, a policy decision per request, JSON masking with detectors and a path
rule, strict audit: a durable request record before forwarding plus a result record), in one run,
alternating targets per round; plus deployment settings and what each feature costs
(phigate-pinned: io threads pinned one per CPU; phigate-async: `durability: async`; phigate-bare:
no masking and no audit store; LEGS=0 skips them) and, when built, the reference relay of
bench/http/relay_floor.cc (what the topology leaves for a proxy that does nothing). Prints rps
medians, ratios, p99 latency, the machine's idle share, CPU per request of nginx's worker and of
each proxy process, and the per-request budget to match nginx-proxy; then, with h2load at a fixed
request rate every target sustains (RATE, 10000/s; 0 skips), latency percentiles at equal load,
where the saturated p99 of the wrk rounds is mostly queueing for a CPU; writes last-run.txt."""
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))
import harness as h  # noqa: E402
import httpkit as k  # noqa: E402

R = int(os.environ.get("R", "3"))
DUR = int(os.environ.get("DUR", "10"))
CONN = int(os.environ.get("CONN", "16"))
RATE = int(os.environ.get("RATE", "10000"))  # the fixed-rate latency phase (h2load); 0 skips it
LAT_DUR = int(os.environ.get("LAT_DUR", "5"))
THREADS = int(os.environ.get("WRK_THREADS", "2"))
GW_THREADS = int(os.environ.get("GW_THREADS", "0"))
PIN = os.environ.get("PIN", "0") == "1"  # gateway.cpu_affinity

BODY = json.dumps({"resourceType": "Bundle", "entry": [
    {"id": i, "name": f"Patient {i}", "ssn": "412-39-7710", "email": f"p{i}@example.org",
     "note": "stable, follow up in 2 weeks", "score": i * 1.5} for i in range(8)]}).encode()


def cpu_ticks(pid, tid=None):
    """utime + stime of a process (or of its thread `tid`), in clock ticks."""
    with open(f"/proc/{pid}" + (f"/task/{tid}" if tid else "") + "/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def machine_ticks():
    """(idle + iowait, total) clock ticks of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        t = [int(x) for x in f.readline().split()[1:]]
    return t[3] + t[4], sum(t)


def wrk(url, token=None, pids=()):
    """rps, p99 ms, non-2xx count, the CPU µs per request spent by each of `pids`, the share of
    the machine's CPU time left idle during the run (0..1), and the number of requests."""
    before = [cpu_ticks(p) for p in pids]
    idle0, total0 = machine_ticks()
    cmd = ["wrk", "-t", str(THREADS), "-c", str(CONN), "-d", f"{DUR}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=DUR + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    n = max(int(re.search(r"(\d+) requests in", out).group(1)), 1)
    cpu = [(cpu_ticks(p) - b) * 1e6 / os.sysconf("SC_CLK_TCK") / n for p, b in zip(pids, before)]
    idle1, total1 = machine_ticks()
    idle = (idle1 - idle0) / max(total1 - total0, 1)
    return rps, p99, int(errors.group(1)) if errors else 0, cpu, idle, n


def nginx_worker(nginx_dir):
    """The pid of the (single) worker of the nginx started in `nginx_dir`."""
    conf = os.path.join(nginx_dir, "nginx.conf")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
            with open(f"/proc/{pid}/stat") as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
            with open(f"/proc/{ppid}/cmdline", "rb") as f:
                parent = f.read().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cmd.startswith("nginx: worker") and conf in parent:
            return int(pid)
    raise AssertionError("no nginx worker found for " + nginx_dir)


def start_relay(origin_port, features=False):
    """The reference relay (bench/http/relay_floor.cc) in front of nginx, when it is built next
    to phigate; None otherwise. With `features`, the feature floor (bench/http/floor_features.h:
    masking + hash-chained audit records stored in SQLite, nothing else)."""
    exe = os.path.join(os.path.dirname(os.path.dirname(os.environ.get("PHIGATE_BIN", ""))),
                       "bench", "http_relay_floor")
    if not os.path.exists(exe):
        return None
    port = h.free_port()
    args = [exe, str(port), str(origin_port)]
    if features:
        db_dir = tempfile.mkdtemp(prefix="phigate-floor-")
        h.on_exit(lambda: shutil.rmtree(db_dir, ignore_errors=True))
        args += ["0", os.path.join(db_dir, "floor.db")]
    proc = subprocess.Popen(args)
    proc.db = args[-1] if features else None
    h.on_exit(proc.kill)
    assert h.wait_port(port, proc, timeout=10), "relay_floor did not start"
    return port, proc


def phigate_config(port, mask=True, durability="strict", pin=PIN):
    """The benchmarked configuration: one http resource in front of nginx, a GET rule, JSON
    masking (detectors + a path rule) unless `mask` is off; io threads pinned when `pin`."""
    http = {"mask": {"detectors": ["US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"],
                     "fields": [{"path": "$.entry[*].ssn", "action": "redact"}]}}
    cfg = k.http_config(
        [{"name": "api", "type": "http", "upstream": f"http://127.0.0.1:{port}/api",
          **({"http": http} if mask else {})}],
        {"client": {"resources": ["api"],
                    "rules": [{"match": {"methods": ["GET"], "paths": ["/bundle*"]},
                               "action": "allow"}]}},
        {"bench": ["client"]},
        extra_gateway={**({"threads": GW_THREADS} if GW_THREADS else {}),
                       **({"cpu_affinity": True} if pin else {})} or None)
    cfg["audit"]["durability"] = durability
    return cfg


def start(mask=True):
    """nginx (origin + proxy_pass location) and phigate in front of it, configured as benchmarked.
    Returns (nginx port, nginx dir, gateway, token)."""
    port, nginx_dir = k.start_nginx({"api/bundle.json": BODY})
    gw = h.start_phigate(None, phigate_config(port, mask))
    return port, nginx_dir, gw, gw.token("bench", ["bench"], ttl="1h")


def start_legs(port):
    """The cost of each feature, measured in the same run: phigate with its io threads pinned one
    per CPU (`gateway.cpu_affinity`, a deployment setting, off by default), phigate with the audit
    record written asynchronously (`durability: async`, a user setting), and phigate with neither
    masking nor an audit store (records still built and hashed, then dropped: the benchmark-only
    `--bench-audit-discard`). {name: (gateway, token)}; empty when LEGS=0."""
    if os.environ.get("LEGS", "1") == "0":
        return {}
    legs = {}
    if not PIN:
        gw = h.start_phigate(None, phigate_config(port, pin=True))
        legs["phigate-pinned"] = (gw, gw.token("bench", ["bench"], ttl="1h"))
    gw = h.start_phigate(None, phigate_config(port, durability="async"))
    legs["phigate-async"] = (gw, gw.token("bench", ["bench"], ttl="1h"))
    gw = h.start_phigate(None, phigate_config(port, mask=False),
                         env={"PHIGATE_BENCHMARK_ONLY": "audit-off"},
                         serve_args=["--bench-audit-discard"])
    legs["phigate-bare"] = (gw, gw.token("bench", ["bench"], ttl="1h"))
    return legs


def h2load(url, token=None):
    """At RATE requests/s (CONN clients, each --rps RATE/CONN) for LAT_DUR s: (achieved rps,
    p50, p99, p99.9 in ms, non-200 count), from h2load's per-request log."""
    log = tempfile.NamedTemporaryFile(prefix="phigate-h2load-", delete=False)
    log.close()
    try:
        cmd = ["h2load", "--h1", "-c", str(CONN), "-t", str(THREADS), "--rps",
               str(max(1, RATE // CONN)), "-D", str(LAT_DUR), "--log-file", log.name, url]
        if token:
            cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
        subprocess.run(cmd, capture_output=True, text=True, timeout=LAT_DUR + 60, check=True)
        ok, bad = [], 0
        with open(log.name) as f:
            for line in f:
                parts = line.split("\t")
                if len(parts) != 3:
                    continue
                if parts[1] == "200":
                    ok.append(int(parts[2]))
                else:
                    bad += 1
    finally:
        os.unlink(log.name)
    ok.sort()
    pct = [ok[min(len(ok) - 1, int(len(ok) * q))] / 1000.0 for q in (0.5, 0.99, 0.999)]
    return (len(ok) + bad) / LAT_DUR, *pct, bad


def latency_lines(targets):
    """The fixed-rate phase: every target in turn, R rounds, medians of each percentile."""
    if RATE <= 0 or not shutil.which("h2load"):
        return [f"latency at a fixed rate: skipped ({'RATE=0' if RATE <= 0 else 'no h2load'})"]
    lat = {t: [] for t in targets}
    for r in range(R):
        for name, (url, tok, _) in targets.items():
            lat[name].append(h2load(url, tok))
            rps, p50, p99, p999, bad = lat[name][-1]
            print(f"latency round {r + 1} {name:14s} rps={rps:.0f} p50={p50:.3f}ms "
                  f"p99={p99:.3f}ms p99.9={p999:.3f}ms non200={bad}", flush=True)
    med = {t: [statistics.median(x[i] for x in v) for i in range(4)] for t, v in lat.items()}
    lines = [f"latency at a fixed {RATE} requests/s (h2load --h1 -c{CONN} -t{THREADS}, "
             f"{LAT_DUR}s, medians of {R} rounds):",
             f"  {'target':14s} {'rps':>7s} {'p50 ms':>7s} {'p99 ms':>7s} {'p99.9 ms':>8s} "
             f"{'p99 vs nginx-proxy':>18s} {'non200':>6s}"]
    for t, (rps, p50, p99, p999) in med.items():
        lines.append(f"  {t:14s} {rps:7.0f} {p50:7.3f} {p99:7.3f} {p999:8.3f} "
                     f"{p99 / med['nginx-proxy'][2]:17.2f}x {sum(x[4] for x in lat[t]):6d}")
    return lines


def budget_lines(res, med):
    """What a proxy process may cost per request to match nginx-proxy's rps on this machine,
    derived from the relay leg. With the machine saturated (idle ~0), each request costs
    cores x 1e6 / rps µs of CPU in all: the relay's own CPU plus what wrk, the origin and the
    kernel spend for it. That rest barely depends on the proxy, so subtracting it from nginx-proxy's
    per-request time leaves the budget. An estimate, printed so every run restates the ceiling."""
    if "asio-relay" not in res:
        return []
    cores = os.cpu_count() or 1
    relay_own = statistics.median(x[3][1] for x in res["asio-relay"])
    rest = cores * 1e6 / med["asio-relay"] - relay_own
    budget = cores * 1e6 / med["nginx-proxy"] - rest
    own = statistics.median(x[3][1] for x in res["phigate"])
    return [f"budget: to match nginx-proxy a proxy process may spend {budget:.1f} us CPU per "
            f"request here (the rest of the machine spends {rest:.1f} us per request, from the "
            f"relay leg); phigate spends {own:.1f} us"]


def floor_lines(proc, requests):
    """What the feature floor's SQLite ingest thread cost per request, and proof that it stored
    every record (2 per request; the +1 request is the sanity curl)."""
    time.sleep(0.5)  # the ingest thread commits every 20 ms
    ingest = 0
    for task in os.listdir(f"/proc/{proc.pid}/task"):
        with open(f"/proc/{proc.pid}/task/{task}/comm") as f:
            if f.read().strip() == "floor-ingest":
                ingest = cpu_ticks(proc.pid, task)
    con = sqlite3.connect(proc.db)
    rows = con.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    con.close()
    us = ingest * 1e6 / os.sysconf("SC_CLK_TCK") / requests
    return [f"feature floor (relay + masking + hash-chained records stored in SQLite; no token, "
            f"policy or durable-before-forward): SQLite ingest thread {us:.1f} us per request, "
            f"stored {rows} records for {requests} requests"]


def main():
    port, nginx_dir, gw, token = start()
    worker = nginx_worker(nginx_dir)
    # (url, token, the proxy's pid or None); nginx's worker CPU is measured in every target.
    targets = {
        "direct": (f"http://127.0.0.1:{port}/api/bundle.json", None, None),
        "nginx-proxy": (f"http://127.0.0.1:{port}/proxy/api/bundle.json", None, None),
        "phigate": (f"http://127.0.0.1:{gw.port}/api/bundle.json", token, gw.proc.pid),
    }
    for name, (g, tok) in start_legs(port).items():
        targets[name] = (f"http://127.0.0.1:{g.port}/api/bundle.json", tok, g.proc.pid)
    relay = start_relay(port)
    if relay:
        targets["asio-relay"] = (f"http://127.0.0.1:{relay[0]}/api/bundle.json", None,
                                 relay[1].pid)
    floor = start_relay(port, features=True) if relay and os.environ.get("LEGS", "1") != "0" \
        else None
    if floor:
        targets["feature-floor"] = (f"http://127.0.0.1:{floor[0]}/api/bundle.json", None,
                                    floor[1].pid)
    # Sanity: the proxied body is masked, nginx's is not.
    rc, out, _ = k.curl(["-H", f"Authorization: Bearer {token}", targets["phigate"][0]])
    assert "412-39-7710" not in out and "[ssn]" in out, out[:200]
    rc, out, _ = k.curl([targets["nginx-proxy"][0]])
    assert "412-39-7710" in out, out[:200]
    rc, out, _ = k.curl([targets["asio-relay"][0]]) if relay else (0, "412-39-7710", "")
    assert "412-39-7710" in out, out[:200]
    if floor:
        rc, out, _ = k.curl([targets["feature-floor"][0]])
        assert "412-39-7710" not in out and "[ssn]" in out, out[:200]
    res = {t: [] for t in targets}
    for r in range(R):
        for name, (url, tok, pid) in targets.items():
            res[name].append(wrk(url, tok, [worker] + ([pid] if pid else [])))
            rps, p99, non2xx, cpu, idle, _ = res[name][-1]
            print(f"round {r + 1} {name:14s} rps={rps:.0f} p99={p99:.2f}ms non2xx={non2xx} "
                  f"idle={100 * idle:.0f}% nginx-cpu={cpu[0]:.1f}us/req"
                  + (f" proxy-cpu={cpu[1]:.1f}us/req" if pid else ""), flush=True)
    rc, out, err = gw.audit_verify()
    load = open("/proc/loadavg").read().split()[:3]
    lines = [f"bench/http: R={R} DUR={DUR}s wrk -t{THREADS} -c{CONN}, body {len(BODY)} bytes, "
             f"load avg before/after {' '.join(load)}",
             f"{'target':14s} {'rps median':>10s} {'vs direct':>9s} {'vs nginx':>9s} "
             f"{'p99 ms':>7s} {'non2xx':>6s} {'idle':>5s}"]
    med = {t: statistics.median(x[0] for x in v) for t, v in res.items()}
    for t, v in res.items():
        lines.append(f"{t:14s} {med[t]:10.0f} {med[t] / med['direct']:8.2f}x "
                     f"{med[t] / med['nginx-proxy']:8.2f}x "
                     f"{statistics.median(x[1] for x in v):7.2f} {sum(x[2] for x in v):6d} "
                     f"{100 * statistics.median(x[4] for x in v):4.0f}%")
    # CPU µs per request (user+sys, all threads), medians of the rounds: the nginx worker in every
    # target (origin only for direct, phigate and the relay; origin + proxy for nginx-proxy), and
    # the proxy process for phigate and the relay.
    lines.append("CPU per request, us (user+sys, all threads; medians):")
    for t, v in res.items():
        ngx = statistics.median(x[3][0] for x in v)
        own = statistics.median(x[3][1] for x in v) if len(v[0][3]) > 1 else None
        lines.append(f"  {t:14s} nginx worker {ngx:5.1f}"
                     + (f"   {t} process {own:5.1f}" if own is not None else ""))
    lines += budget_lines(res, med)
    if floor:
        lines += floor_lines(floor[1], sum(x[5] for x in res["feature-floor"]) + 1)
    lines += latency_lines(targets)
    lines.append(f"audit verify: rc={rc} {out.strip().splitlines()[-1] if out.strip() else err.strip()}")
    report = "\n".join(lines)
    print(report)
    with open(os.path.join(HERE, "last-run.txt"), "w") as f:
        f.write(report + "\n")
    h._run_cleanups()


if __name__ == "__main__":
    main()
