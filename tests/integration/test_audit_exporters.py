#!/usr/bin/env python3
"""Audit exporters against real receivers (issue 6): a real rsyslog from Debian (imudp + imtcp ->
omfile, started here as a foreground process on free loopback ports), an HTTP collector in this
process speaking the Splunk HEC shape, and a rotating JSONL file. Every committed record and every
signed checkpoint must arrive; with the receivers down for a while nothing is lost, and duplicates
stay within at-least-once (a re-sent batch at most); a restart resumes from the persisted cursors;
the rotated JSONL files, concatenated, verify with `audit verify --from-export`."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, eq  # noqa: E402

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
HEC_TOKEN = "test-hec-token-123"
BATCH = 20
pg = gw = rsyslog = hec = None
ANALYST = None
JSONL = None


# -- receivers -------------------------------------------------------------------------------

def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rsyslog:
    """rsyslogd -n (no fork) with a private config: UDP and TCP inputs, each to its own file with
    the MSGID and MSG of every message on one line."""

    def __init__(self):
        self.dir = harness.tmpdir("rsyslog")
        self.udp_port, self.tcp_port = free_udp_port(), harness.free_port()
        self.udp_log = os.path.join(self.dir, "udp.log")
        self.tcp_log = os.path.join(self.dir, "tcp.log")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        with open(self.conf, "w") as f:
            f.write(f"""
global(workDirectory="{self.dir}" maxMessageSize="256k")
module(load="imudp")
module(load="imtcp")
template(name="raw" type="string" string="%msgid% %msg%\\n")
ruleset(name="udp") {{ action(type="omfile" file="{self.udp_log}" template="raw") }}
ruleset(name="tcp") {{ action(type="omfile" file="{self.tcp_log}" template="raw") }}
input(type="imudp" address="127.0.0.1" port="{self.udp_port}" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}" ruleset="tcp")
""")
        self.proc = None
        harness.on_exit(self.stop)

    def start(self):
        log = open(os.path.join(self.dir, "rsyslogd.out"), "ab")
        self.proc = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", self.conf, "-i", os.path.join(self.dir, "rsyslogd.pid")],
            stdout=log, stderr=subprocess.STDOUT, env=harness.clean_env(),
            preexec_fn=harness._die_with_parent(signal.SIGKILL))
        log.close()
        if not harness.wait_port(self.tcp_port, self.proc, timeout=30):
            raise AssertionError("rsyslogd did not start:\n" +
                                 harness.tail(os.path.join(self.dir, "rsyslogd.out")))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)

    @staticmethod
    def read(path):
        """[(msgid, record dict)] in arrival order."""
        out = []
        if not os.path.exists(path):
            return out
        with open(path, errors="replace") as f:
            for line in f:
                msgid, _, msg = line.rstrip("\n").partition(" ")
                msg = msg.lstrip().lstrip("\ufeff")
                try:
                    out.append((msgid, json.loads(msg)))
                except ValueError:
                    raise AssertionError(f"rsyslog got a line that is not a JSON record: {line!r}")
        return out


class Hec:
    """An HTTP collector in the Splunk HEC shape; it can be taken down and brought back."""

    def __init__(self):
        self.port = harness.free_port()
        self.events, self.auth = [], set()
        self.lock = threading.Lock()
        self.server = None
        harness.on_exit(self.stop)

    def start(self):
        hec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                dec, pos, got = json.JSONDecoder(), 0, []
                while pos < len(body):
                    while pos < len(body) and body[pos] in " \r\n\t":
                        pos += 1
                    if pos >= len(body):
                        break
                    obj, pos = dec.raw_decode(body, pos)
                    got.append(obj)
                with hec.lock:
                    hec.auth.add(self.headers.get("Authorization"))
                    hec.events.extend(got)
                reply = b'{"text":"Success","code":0}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# -- setup ---------------------------------------------------------------------------------

def setup_module():
    global pg, gw, rsyslog, hec, ANALYST, JSONL
    if not os.path.exists(RSYSLOGD):
        raise AssertionError("rsyslogd not installed (scripts/install-deps.sh installs rsyslog)")
    pg = harness.start_postgres(patients=20)
    rsyslog = Rsyslog()
    rsyslog.start()
    hec = Hec()
    hec.start()
    cfg = harness.default_config(pg)
    JSONL = "@DIR@/export/audit.jsonl"
    cfg["audit"]["checkpoint"] = {"every_events": 25, "every": "1h"}
    common = {"batch": BATCH, "backoff_max": "500ms"}
    cfg["audit"]["export"] = [
        dict(type="syslog", name="syslog-udp", address=f"udp://127.0.0.1:{rsyslog.udp_port}",
             **common),
        dict(type="syslog", name="syslog-tcp", address=f"tcp://127.0.0.1:{rsyslog.tcp_port}",
             **common),
        dict(type="jsonl", name="file", path=JSONL, max_size="16KiB", keep=1000, **common),
        dict(type="webhook", name="hec", url=f"http://127.0.0.1:{hec.port}/services/collector",
             token_env="HEC_TOKEN", format="ocsf", **common),
    ]
    gw = harness.start_phigate(pg, cfg, env={"HEC_TOKEN": HEC_TOKEN})
    JSONL = JSONL.replace("@DIR@", gw.base)
    ANALYST = gw.token("alice", ["analysts"])


def run_statements(first, n):
    sql = "".join(f"SELECT {i} AS n;\n" for i in range(first, first + n))
    rc, out, err = gw.psql(ANALYST, input=sql)
    eq(rc, 0, f"psql failed: {err}")


def stored():
    """(max seq, [tree_size]) from the store, through the CLI's own reader (journal included)."""
    rc, out, err = gw.cli("audit", "export", "--config", gw.config)
    eq(rc, 0, err)
    recs = [json.loads(ln) for ln in out.splitlines()]
    seqs = [r["seq"] for r in recs if r.get("type") != "checkpoint"]
    eq(seqs, list(range(1, len(seqs) + 1)), "store is contiguous")
    return len(seqs), [r["tree_size"] for r in recs if r.get("type") == "checkpoint"]


def received():
    """{receiver: ([record seqs in arrival order], [checkpoint tree_sizes])}."""
    out = {}
    for name, path in (("syslog-udp", rsyslog.udp_log), ("syslog-tcp", rsyslog.tcp_log)):
        seqs, cps = [], []
        for msgid, rec in Rsyslog.read(path):
            if msgid == "checkpoint":
                cps.append(rec["tree_size"])
            else:
                eq(msgid, rec["type"], "syslog MSGID is the record type")
                seqs.append(rec["seq"])
        out[name] = (seqs, cps)
    seqs, cps = [], []
    for line in jsonl_lines():
        rec = json.loads(line)
        (cps if rec.get("type") == "checkpoint" else seqs).append(
            rec["tree_size"] if rec.get("type") == "checkpoint" else rec["seq"])
    out["file"] = (seqs, cps)
    seqs, cps = [], []
    with hec.lock:
        events = list(hec.events)
    for ev in events:
        eq(ev["sourcetype"], "phigate:ocsf", "HEC sourcetype")
        eq(ev["host"], "gw-test", "HEC host")
        o = ev["event"]
        if o["unmapped"]["type"] == "checkpoint":
            cps.append(o["unmapped"]["tree_size"])
        else:
            seqs.append(o["unmapped"]["seq"])
    out["hec"] = (seqs, cps)
    return out


def jsonl_files():
    """The rotated files oldest first, then the live one."""
    rotated = sorted(glob.glob(JSONL + ".*"), key=lambda p: -int(p.rsplit(".", 1)[1]))
    return rotated + ([JSONL] if os.path.exists(JSONL) else [])


def jsonl_lines():
    lines = []
    for p in jsonl_files():
        with open(p) as f:
            lines += f.read().splitlines()
    return lines


def wait_delivered(receivers, what):
    """Waits until each receiver holds every stored record and checkpoint; returns the store's
    (count, checkpoints). The deadline only guards against a hang."""
    deadline = time.time() + 60
    while True:
        n, cps = stored()
        got = received()
        missing = {r: (sorted(set(range(1, n + 1)) - set(got[r][0]))[:10],
                       sorted(set(cps) - set(got[r][1])))
                   for r in receivers}
        if all(not m and not c for m, c in missing.values()):
            return n, cps, got
        if time.time() > deadline:
            raise AssertionError(f"{what}: not delivered after 60s (of {n} records, {cps} "
                                 f"checkpoints), missing: {missing}\n{gw.log_tail()}")
        time.sleep(0.2)


def duplicates(seqs):
    return len(seqs) - len(set(seqs))


# -- tests ---------------------------------------------------------------------------------

def test_every_receiver_gets_every_record_and_checkpoint():
    run_statements(0, 30)
    n, cps, got = wait_delivered(["syslog-udp", "syslog-tcp", "file", "hec"], "first batch")
    check(n >= 60 and cps, f"records {n}, checkpoints {cps}")
    for r, (seqs, _) in got.items():
        eq(duplicates(seqs), 0, f"{r}: no duplicates while the receiver is up")
        eq(seqs, sorted(seqs), f"{r}: delivered in order")
    eq(hec.auth, {f"Splunk {HEC_TOKEN}"}, "HEC Authorization header")
    print(f"  {n} records, {len(cps)} checkpoints at each of 4 receivers")


def test_receivers_down_then_up_nothing_lost():
    # UDP is fire-and-forget by nature (nothing to acknowledge): only the acknowledged transports
    # are held to "nothing lost" while their receiver is down.
    before, _ = stored()
    rsyslog.stop()
    hec.stop()
    run_statements(100, 40)
    after, _ = stored()
    check(after > before + 40, f"records while down: {before} -> {after}")
    # The gateway kept serving with its receivers down, and says it is failing.
    deadline = time.time() + 30
    while "audit export syslog-tcp to syslog" not in harness.tail(gw.log, 400):
        check(time.time() < deadline, f"no export failure logged:\n{gw.log_tail()}")
        time.sleep(0.1)
    check("audit export hec to webhook" in harness.tail(gw.log, 400), gw.log_tail())
    tcp_seen = max(received()["syslog-tcp"][0])
    check(tcp_seen < after, "nothing can have reached a stopped rsyslog")
    rsyslog.start()
    hec.start()
    n, cps, got = wait_delivered(["syslog-tcp", "file", "hec"], "after the receivers came back")
    for r in ("syslog-tcp", "hec", "file"):
        check(duplicates(got[r][0]) <= BATCH,
              f"{r}: {duplicates(got[r][0])} duplicates, more than one batch")
    print("  duplicates after the outage: " +
          ", ".join(f"{r}={duplicates(got[r][0])}" for r in ("syslog-tcp", "hec", "file")))


def test_jsonl_rotation_keeps_a_verifiable_stream():
    files = jsonl_files()
    check(len(files) >= 3, f"expected rotation at 16KB, files: {files}")
    for p in files[:-1]:
        check(os.path.getsize(p) <= 16 * 1024 + 64 * 1024, f"{p} far larger than max_size")
    # Rotated files oldest first, concatenated, are the export stream: it verifies offline.
    cat = os.path.join(gw.base, "rotated-concat.jsonl")
    with open(cat, "w") as f:
        for line in jsonl_lines():
            f.write(line + "\n")
    rc, out, err = gw.cli("audit", "verify", "--config", gw.config, "--from-export", cat)
    eq(rc, 0, f"rotated JSONL must verify: {out}{err}")
    print(f"  {len(files)} files; {out.strip()}")


def test_restart_resumes_from_cursors():
    n0, _ = stored()
    before = {r: len(v[0]) for r, v in received().items()}
    eq(gw.stop(), 0, "clean stop")
    for name in ("syslog-udp", "syslog-tcp", "file", "hec"):
        cur = json.load(open(os.path.join(gw.data_dir, f"export-{name}.cursor")))
        check(cur["seq"] >= n0 - BATCH and cur["seq"] <= n0, f"{name} cursor {cur} vs {n0}")
    gw.start()
    run_statements(200, 10)
    n, cps, got = wait_delivered(["syslog-udp", "syslog-tcp", "file", "hec"], "after restart")
    for r, (seqs, _) in got.items():
        # Re-sent after the restart: at most the batch in flight when the gateway stopped.
        check(len(seqs) - before[r] <= (n - n0) + BATCH, f"{r}: too many re-sent after restart")


def test_export_since_is_the_tail_of_the_full_export():
    # `audit export --since T` starts its read near T (a time search over the store) instead of at
    # seq 1; what it writes must still be exactly the full export from the first record at or
    # after T on, checkpoints included, with the live gateway's journal tail merged in.
    run_statements(300, 5)
    time.sleep(1.1)  # records in at least two different seconds: a --since between them
    run_statements(310, 5)

    def export(*args):
        rc, out, err = gw.cli("audit", "export", "--config", gw.config, *args)
        eq(rc, 0, err)
        return out.splitlines()

    full = export()
    rec_times = [(i, json.loads(ln)["time_ns"]) for i, ln in enumerate(full)
                 if ln.startswith('{"act_sub"')]
    secs = sorted({t // 10**9 for _, t in rec_times})
    check(len(secs) >= 2, f"records span {secs}")
    for since in [secs[0] - 3600] + secs + [secs[-1] + 1]:
        start = next((i for i, t in rec_times if t >= since * 10**9), len(full))
        got = export("--since", str(since))
        eq(export(), full, "nothing was written meanwhile")
        eq(got, full[start:], f"--since {since}: the full export from line {start} on")


def test_bad_exporter_configs_are_refused():
    cases = [
        ({"type": "syslog", "address": "127.0.0.1:514"}, "udp://host:port or tcp://host:port"),
        ({"type": "jsonl", "path": "x.jsonl", "format": "xml"}, "format 'xml'"),
        ({"type": "jsonl", "path": "x.jsonl", "max_size": "huge"}, "max_size 'huge'"),
        ({"type": "webhook", "url": "https://siem.example/hec"}, "http://"),
        ({"type": "jsonl", "path": "x.jsonl", "name": "a/b"}, "name 'a/b'"),
        ({"type": "kafka"}, "'kafka' is not one of"),
    ]
    for entry, want in cases:
        cfg = harness.default_config(pg)
        cfg["audit"]["export"] = [entry]
        _, _, path, _ = harness.write_phigate_config(pg, cfg)
        rc, out, err = gw.cli("config", "check", path)
        check(rc != 0 and want in out + err, f"{entry}: expected {want!r}, got rc={rc} {out}{err}")
    # A webhook whose token cannot be read: serve refuses to start (fail closed).
    cfg = harness.default_config(pg)
    cfg["audit"]["export"] = [{"type": "webhook", "url": "http://127.0.0.1:9/x",
                               "token_env": "PHIGATE_TEST_UNSET_TOKEN"}]
    _, _, path, _ = harness.write_phigate_config(pg, cfg)
    rc, out, err = gw.cli("serve", "--config", path, timeout=30)
    check(rc != 0 and "PHIGATE_TEST_UNSET_TOKEN is not set" in out + err, f"rc={rc} {out}{err}")


def test_benchmark_only_audit_discard_is_refused_in_normal_use():
    # The hidden flag behind bench/audit/run.sh's "audit off" leg: without the benchmark
    # environment variable, or on a data_dir that holds an audit store, serve refuses to start.
    rc, out, err = gw.cli("serve", "--bench-audit-discard", "--config", gw.config, timeout=30)
    check(rc != 0 and "PHIGATE_BENCHMARK_ONLY=audit-off" in out + err, f"rc={rc} {out}{err}")
    env = dict(gw.env, PHIGATE_BENCHMARK_ONLY="audit-off")
    rc, out, err = harness.run([harness.phigate_bin(), "serve", "--bench-audit-discard",
                                "--config", gw.config], env=env, timeout=30)
    check(rc != 0 and "holds an audit store" in out + err, f"rc={rc} {out}{err}")
    rc, out, err = gw.cli("serve", "--help")
    check("bench-audit-discard" not in out, "the flag stays out of --help")


if __name__ == "__main__":
    harness.main(globals())
