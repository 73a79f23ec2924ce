"""Integration-test harness for phigate: real PostgreSQL, real phigate binary, real clients.

Every test script imports this module and calls `harness.main(globals())`, which runs the
script's `test_*` functions in file order and exits non-zero when any fails.

Hermetic by construction (DESIGN.md §8): PostgreSQL is a fresh `initdb` in a temp dir on a free
loopback port, phigate gets its own temp data_dir and port, and everything started here dies with
the test process (atexit, plus PR_SET_PDEATHSIG so that even a SIGKILL from ctest's timeout leaves
no server behind).

Environment:
  PHIGATE_BIN   path to the phigate binary (ctest sets it; default build/dev/src/phigate)
  PHIGATE_SRC   repository root (default: two levels above this file)
  PHIGATE_KEEP_TMP=1   keep temp dirs (logs, configs, data) for a post-mortem
"""
import os
import sys

# ctest runs `python3 test_x.py` and `python3` on PATH may be a pyenv/venv interpreter without
# Debian's python3-psycopg2; fall back to the system interpreter that has it.
try:
    import psycopg2  # noqa: F401
except ImportError:
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and os.path.exists(
            "/usr/bin/python3") and not os.environ.get("PHIGATE_HARNESS_REEXEC"):
        os.environ["PHIGATE_HARNESS_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

import atexit
import ctypes
import glob
import json
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import traceback

import psycopg2
import psycopg2.extensions

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("PHIGATE_SRC") or os.path.dirname(os.path.dirname(HERE))
DEMO_DIR = os.path.join(SRC, "demo")
KEEP_TMP = os.environ.get("PHIGATE_KEEP_TMP") == "1"
IS_ROOT = os.getuid() == 0


def _find_pg_bindir():
    for cand in [os.environ.get("PG_BINDIR", "")] + sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if cand and os.path.exists(os.path.join(cand, "initdb")):
            return cand
    p = shutil.which("pg_config")
    if p:
        return subprocess.check_output([p, "--bindir"], text=True).strip()
    raise RuntimeError("PostgreSQL server binaries not found (install postgresql-15)")


PG_BINDIR = _find_pg_bindir()


def pg_tool(name):
    p = os.path.join(PG_BINDIR, name)
    return p if os.path.exists(p) else (shutil.which(name) or name)


PSQL = pg_tool("psql")
PGBENCH = pg_tool("pgbench")


def phigate_bin():
    b = os.environ.get("PHIGATE_BIN")
    if not b:
        for cand in ("build/dev/src/phigate", "build/dev/phigate", "build/release/src/phigate"):
            if os.path.exists(os.path.join(SRC, cand)):
                b = os.path.join(SRC, cand)
                break
    if not b or not os.path.exists(b):
        raise RuntimeError(f"phigate binary not found (PHIGATE_BIN={b!r}); build it first")
    return b


# --------------------------------------------------------------------------------------------
# cleanup

_cleanups = []
_cleanup_lock = threading.Lock()


def on_exit(fn):
    """Registers fn to run at exit (LIFO)."""
    with _cleanup_lock:
        _cleanups.append(fn)
    return fn


def _run_cleanups():
    while True:
        with _cleanup_lock:
            if not _cleanups:
                return
            fn = _cleanups.pop()
        try:
            fn()
        except Exception:  # cleanup must never mask the test's own result
            traceback.print_exc()


atexit.register(_run_cleanups)


def _on_signal(signum, _frame):
    _run_cleanups()
    os._exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent(sig):
    def fn():
        _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    return fn


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=f"phigate-{prefix}-")
    if not KEEP_TMP:
        on_exit(lambda: shutil.rmtree(d, ignore_errors=True))
    else:
        print(f"[harness] keeping {d}", file=sys.stderr)
    return d


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=30.0, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def tail(path, n=60):
    try:
        with open(path, "r", errors="replace") as f:
            lines = f.readlines()
        return "".join(lines[-n:])
    except OSError as e:
        return f"<cannot read {path}: {e}>"


def clean_env(**extra):
    """The process environment without libpq variables that could leak a developer's setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.setdefault("LC_ALL", "C.UTF-8")
    env["PGCONNECT_TIMEOUT"] = "10"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(cmd, timeout=120, check=False, input=None, env=None, cwd=None):
    """Runs cmd, returns (rc, stdout, stderr) as text."""
    try:
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                           env=env if env is not None else clean_env(), cwd=cwd)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise AssertionError(f"timeout after {timeout}s: {cmd}\nstdout: {out[-2000:]}\n"
                             f"stderr: {err[-2000:]}")
    if check and p.returncode != 0:
        raise AssertionError(f"command failed rc={p.returncode}: {cmd}\nstdout: {p.stdout[-3000:]}\n"
                             f"stderr: {p.stderr[-3000:]}")
    return p.returncode, p.stdout, p.stderr


def conninfo(**kw):
    parts = []
    for k, v in kw.items():
        if v is None:
            continue
        v = str(v).replace("\\", "\\\\").replace("'", "\\'")
        parts.append(f"{k}='{v}'")
    return " ".join(parts)


def psql(dsn, sql=None, args=(), input=None, timeout=120, env=None):
    """Runs psql against a conninfo string; returns (rc, stdout, stderr).

    `sql` goes through -c (one Query message); `input` feeds a script on stdin (psql sends each
    statement on its own, like an interactive user)."""
    cmd = [PSQL, "-X", "-v", "ON_ERROR_STOP=0", "-d", dsn] + list(args)
    if sql is not None:
        cmd += ["-c", sql]
    elif input is not None:
        cmd += ["-f", "-"]
    return run(cmd, input=input, timeout=timeout, env=env)


# --------------------------------------------------------------------------------------------
# PostgreSQL


class Postgres:
    """A private PostgreSQL cluster: superuser `postgres` over the unix socket (trust), SCRAM over
    TCP 127.0.0.1, and the gateway's least-privilege login role `phigate_clinic` owning db clinic."""

    user = "phigate_clinic"
    host = "127.0.0.1"

    def __init__(self, base, port, password):
        self.base = base
        self.data = os.path.join(base, "data")
        self.sockdir = base
        self.port = port
        self.password = password
        self.log = os.path.join(base, "postgres.log")
        self.proc = None

    # -- connections
    def admin_dsn(self, dbname="postgres"):
        return conninfo(host=self.sockdir, port=self.port, user="postgres", dbname=dbname)

    def dsn(self, dbname="clinic", user=None, password=None, **kw):
        """Direct TCP + SCRAM as the gateway's upstream role (what 'direct access' means)."""
        return conninfo(host=self.host, port=self.port, dbname=dbname, user=user or self.user,
                        password=password or self.password, sslmode="disable", **kw)

    def admin(self, sql, dbname="postgres"):
        rc, out, err = psql(self.admin_dsn(dbname), args=["-At", "-v", "ON_ERROR_STOP=1"],
                            input=sql)
        if rc != 0:
            raise AssertionError(f"admin SQL failed: {sql}\n{err}")
        return out

    def connect(self, dbname="clinic", **kw):
        c = psycopg2.connect(self.dsn(dbname, **kw))
        on_exit(lambda: c.closed or c.close())
        return c

    def add_database(self, name, owner=None):
        self.admin(f'CREATE DATABASE "{name}" OWNER "{owner or self.user}";')

    def load_demo(self, dbname="clinic", patients=200):
        rc, out, err = psql(conninfo(host=self.sockdir, port=self.port, user=self.user,
                                     dbname=dbname),
                            args=["-q", "-v", "ON_ERROR_STOP=1", "-v", f"patients={patients}",
                                  "-f", os.path.join(DEMO_DIR, "schema.sql"),
                                  "-f", os.path.join(DEMO_DIR, "data.sql")], timeout=600)
        if rc != 0:
            raise AssertionError(f"loading demo data failed:\n{err}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGQUIT)
                self.proc.wait(10)


def _as_postgres():
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if IS_ROOT else {}


def start_postgres(patients=200, extra_conf=None, load_demo=True, ssl=False):
    """Starts a fresh cluster, creates role phigate_clinic and db clinic, loads demo data.

    extra_conf: dict or list of postgresql.conf lines (e.g. {"log_statement": "all"}).
    ssl: True to enable server TLS with a throwaway self-signed certificate."""
    base = tmpdir("pg")
    if IS_ROOT:
        shutil.chown(base, "postgres", "postgres")
    pw = secrets.token_hex(16)
    rc = subprocess.run([pg_tool("initdb"), "-D", os.path.join(base, "data"), "-U", "postgres",
                         "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
                         "--auth-host=scram-sha-256", "--no-sync"],
                        cwd=base, capture_output=True, text=True, env=clean_env(),
                        **_as_postgres())
    if rc.returncode != 0:
        raise AssertionError(f"initdb failed:\n{rc.stdout}\n{rc.stderr}")
    data = os.path.join(base, "data")
    with open(os.path.join(data, "pg_hba.conf"), "w") as f:
        f.write("local all all trust\n"
                "host all all 127.0.0.1/32 scram-sha-256\n")
    conf = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{base}'",
        "password_encryption": "'scram-sha-256'",
        "max_connections": "60",
        "shared_buffers": "64MB",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "log_min_messages": "warning",
        "log_line_prefix": "'%m [%p] %q%u@%d '",
    }
    if ssl:
        key, crt = os.path.join(data, "server.key"), os.path.join(data, "server.crt")
        make_cert(crt, key, cn="localhost")
        if IS_ROOT:
            for p in (key, crt):
                shutil.chown(p, "postgres", "postgres")
        conf.update({"ssl": "on", "ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'"})
    if isinstance(extra_conf, dict):
        conf.update(extra_conf)
    lines = [f"{k} = {v}" for k, v in conf.items()] + list(
        extra_conf if isinstance(extra_conf, (list, tuple)) else [])
    last_err = ""
    for _attempt in range(3):
        port = free_port()
        with open(os.path.join(data, "postgresql.auto.conf"), "w") as f:
            f.write("\n".join(lines + [f"port = {port}"]) + "\n")
        pg = Postgres(base, port, pw)
        logf = open(pg.log, "ab")
        pg.proc = subprocess.Popen([pg_tool("postgres"), "-D", data], cwd=base, stdout=logf,
                                   stderr=subprocess.STDOUT, env=clean_env(),
                                   preexec_fn=_die_with_parent(signal.SIGINT), **_as_postgres())
        logf.close()
        on_exit(pg.stop)
        deadline = time.time() + 30
        ready = False
        while time.time() < deadline and pg.proc.poll() is None:
            r = subprocess.run([pg_tool("pg_isready"), "-q", "-h", base, "-p", str(port)],
                               env=clean_env())
            if r.returncode == 0:
                ready = True
                break
            time.sleep(0.1)
        if ready:
            break
        last_err = tail(pg.log)
        pg.stop()
    else:
        raise AssertionError(f"postgres did not start:\n{last_err}")
    pg.admin(f"CREATE ROLE {pg.user} LOGIN PASSWORD '{pw}' NOSUPERUSER NOCREATEDB NOCREATEROLE "
             f"NOREPLICATION;\nCREATE DATABASE clinic OWNER {pg.user};")
    if load_demo:
        pg.load_demo("clinic", patients)
    return pg


def make_cert(crt, key, cn="localhost"):
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
         "-days", "2", "-subj", f"/CN={cn}",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True)
    os.chmod(key, 0o600)


# --------------------------------------------------------------------------------------------
# YAML (stdlib has no emitter; configs here are plain maps, lists and scalars)


def _yscalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _ykey(k):
    k = str(k)
    ok = k and all(c.isalnum() or c in "_-./*" for c in k) and not k[0] in "-*"
    return k if ok else json.dumps(k)


def to_yaml(v, indent=0):
    pad = " " * indent
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, dict) and x:
                out.append(f"{pad}{_ykey(k)}:")
                out.append(to_yaml(x, indent + 2))
            elif isinstance(x, list) and x and any(isinstance(i, (dict, list)) for i in x):
                out.append(f"{pad}{_ykey(k)}:")
                out.append(to_yaml(x, indent + 2))
            else:
                out.append(f"{pad}{_ykey(k)}: {_yflow(x)}")
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, dict) and x:
                body = to_yaml(x, indent + 2).split("\n")
                body[0] = pad + "- " + body[0][indent + 2:]
                out.append("\n".join(body))
            else:
                out.append(f"{pad}- {_yflow(x)}")
    else:
        out.append(pad + _yscalar(v))
    return "\n".join(out)


def _yflow(x):
    if isinstance(x, dict):
        return "{" + ", ".join(f"{_ykey(k)}: {_yflow(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ", ".join(_yflow(i) for i in x) + "]"
    return _yscalar(x)


# --------------------------------------------------------------------------------------------
# phigate

ANALYST_RULES = [
    {"match": {"statement": ["select"]}, "action": "allow"},
    {"match": {"statement": ["delete", "update"], "where": "absent"}, "action": "deny",
     "message": "bulk change"},
]
DBA_RULES = [{"match": {"statement": ["select", "insert", "update", "delete", "ddl", "other"]},
              "action": "allow"}]


def resource(pg, name="clinic", database=None, **kw):
    r = {"name": name, "type": "postgres", "upstream": f"127.0.0.1:{pg.port}",
         "database": database or name, "upstream_tls": "disable",
         "credentials": {"username": pg.user, "password_file": "@PASSWORD_FILE@"}}
    r.update(kw)
    return r


def default_config(pg):
    """The minimal test config of the brief. @DATA_DIR@, @PORT@, @PASSWORD_FILE@, @DIR@ are filled
    in by start_phigate."""
    return {
        "gateway": {"node_id": "gw-test", "data_dir": "@DATA_DIR@",
                    "listen": {"postgres": "127.0.0.1:@PORT@"}},
        "identity": {"issuers": [{"name": "local", "type": "local"}],
                     "group_roles": {"analysts": ["analyst"], "dbas": ["dba"]}},
        "resources": [resource(pg)],
        "roles": {
            "analyst": {"resources": ["clinic"], "rules": list(ANALYST_RULES)},
            "dba": {"resources": ["clinic"], "rules": list(DBA_RULES),
                    "allow_function_call": True},
        },
        "audit": {"durability": "strict"},
    }


class Phigate:
    def __init__(self, base, port, cfg_path, data_dir, log, env):
        self.base = base
        self.port = port
        self.config = cfg_path
        self.data_dir = data_dir
        self.log = log
        self.env = env
        self.proc = None
        self.bin = phigate_bin()
        self.serve_args = []

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cli(self, *args, timeout=60):
        return run([self.bin] + list(args), timeout=timeout, env=self.env)

    def token(self, sub, groups, ttl="15m", task=None, workflow=None, act=None):
        args = ["token", "issue", "--config", self.config, "--sub", sub,
                "--groups", ",".join(groups) if not isinstance(groups, str) else groups,
                "--ttl", ttl]
        for flag, v in (("--task", task), ("--workflow", workflow), ("--act", act)):
            if v:
                args += [flag, v]
        rc, out, err = self.cli(*args)
        if rc != 0 or not out.strip():
            raise AssertionError(f"token issue failed rc={rc}: {err}")
        return out.strip().splitlines()[-1].strip()

    def audit_verify(self):
        return self.cli("audit", "verify", "--config", self.config, timeout=300)

    def dsn(self, token, dbname="clinic", user="tester", sslmode="disable", **kw):
        return conninfo(host="127.0.0.1", port=self.port, dbname=dbname, user=user,
                        password=token, sslmode=sslmode, **kw)

    def psql(self, token, sql=None, dbname="clinic", args=(), input=None, timeout=120, **kw):
        return psql(self.dsn(token, dbname=dbname, **kw), sql=sql, args=args, input=input,
                    timeout=timeout)

    def connect(self, token, dbname="clinic", **kw):
        c = psycopg2.connect(self.dsn(token, dbname=dbname, **kw))
        on_exit(lambda: c.closed or c.close())
        return c

    # -- audit store (read-only peek; DESIGN: <data_dir>/phigate.db, table audit_events)
    def journal_last_seq(self):
        """The seq of the newest record in the audit journal (0 if none): the last complete line
        before the zero padding of the newest `phigate.db-audit-*.jsonl` file."""
        files = sorted(f for f in os.listdir(self.data_dir)
                       if f.startswith("phigate.db-audit-") and f.endswith(".jsonl"))
        for name in reversed(files):
            with open(os.path.join(self.data_dir, name), "rb") as f:
                data = f.read().split(b"\0", 1)[0]
            lines = data.split(b"\n")[:-1]  # complete lines only
            if lines:
                return json.loads(lines[-1])["seq"]
        return 0

    def audit_db(self):
        # Acknowledged records reach the SQLite table from the journal in the background (every
        # ~50 ms; fire-and-forget ones reach the journal within ~5 ms). Raw SQL readers wait
        # until the table holds the journal's newest record, not for a fixed time that a loaded
        # machine can overrun. Store readers (`phigate audit verify`) see the journal tail and
        # need no wait.
        time.sleep(0.1)
        path = os.path.join(self.data_dir, "phigate.db")
        if not os.path.exists(path):
            raise AssertionError(f"audit store {path} missing; data_dir has "
                                 f"{os.listdir(self.data_dir)}")
        want = self.journal_last_seq()
        deadline = time.time() + 20
        while True:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            have = db.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()[0]
            if have >= want or time.time() > deadline:
                return db
            db.close()
            time.sleep(0.02)

    def audit_query(self, sql, args=()):
        db = self.audit_db()
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def audit_counts(self):
        return dict(self.audit_query("SELECT type, count(*) FROM audit_events GROUP BY type"))

    def rss_kb(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return 0
        return 0

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)

    def log_tail(self, n=80):
        return tail(self.log, n)

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.bin, "serve", "--config", self.config]
                                     + self.serve_args,
                                     stdout=logf, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.base, preexec_fn=_die_with_parent(signal.SIGKILL))
        logf.close()
        if not wait_port(self.port, self.proc, timeout=30):
            rc = self.proc.poll()
            self.stop()
            raise AssertionError(f"phigate did not start listening on {self.port} (exit={rc}); "
                                 f"log:\n{self.log_tail()}")
        _active_gateways.append(self)
        return self

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"[harness] phigate pid {self.proc.pid} ignored SIGTERM for {timeout}s; "
                      "killing", file=sys.stderr)
                self.proc.kill()
                self.proc.wait(10)
        if self in _active_gateways:
            _active_gateways.remove(self)
        return self.proc.returncode

    def restart(self):
        self.stop()
        return self.start()


_active_gateways = []


def write_phigate_config(pg, config=None, tls=None, base=None, port=None):
    """Writes config + password file; returns (base, port, cfg_path, data_dir).

    config: None (default_config), a dict, or YAML text; placeholders @DATA_DIR@ @PORT@
    @PASSWORD_FILE@ @DIR@ @PG_PORT@ are substituted. tls: (cert, key) to add gateway.tls."""
    base = base or tmpdir("gw")
    port = port or free_port()
    data_dir = os.path.join(base, "data")
    os.makedirs(data_dir, exist_ok=True)
    pwfile = os.path.join(base, "upstream.pw")
    with open(pwfile, "w") as f:
        f.write((pg.password if pg else "unused") + "\n")  # like `echo $PW > file`
    os.chmod(pwfile, 0o600)
    if config is None:
        config = default_config(pg)
    if isinstance(config, dict):
        if tls:
            config.setdefault("gateway", {})["tls"] = {"cert": tls[0], "key": tls[1]}
        text = to_yaml(config) + "\n"
    else:
        text = config
    for k, v in (("@DATA_DIR@", data_dir), ("@PORT@", str(port)), ("@PASSWORD_FILE@", pwfile),
                 ("@DIR@", base), ("@PG_PORT@", str(pg.port) if pg else "0")):
        text = text.replace(k, v)
    cfg = os.path.join(base, "phigate.yaml")
    with open(cfg, "w") as f:
        f.write(text)
    return base, port, cfg, data_dir


def start_phigate(pg, config=None, tls=None, env=None, serve_args=()):
    """serve_args: extra `phigate serve` flags (benchmarks' hidden ones)."""
    base, port, cfg, data_dir = write_phigate_config(pg, config, tls)
    gw = Phigate(base, port, cfg, data_dir, os.path.join(base, "phigate.log"),
                 clean_env(**(env or {})))
    gw.serve_args = list(serve_args)
    on_exit(gw.stop)
    return gw.start()


# --------------------------------------------------------------------------------------------
# assertions and the runner


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError(f"{msg}\n  expected: {b!r}\n  actual:   {a!r}")


def pg_error(fn):
    """Runs fn, returns the psycopg2.Error it raised (or raises AssertionError)."""
    try:
        fn()
    except psycopg2.Error as e:
        return e
    raise AssertionError("expected a PostgreSQL error, got none")


_failure_hooks = []


def on_failure(fn):
    """`fn()` runs right after a test fails, before its locals are released: e.g. to end what the
    test left waiting (a held statement whose connection would otherwise block on release)."""
    _failure_hooks.append(fn)


def main(ns):
    """Runs every test_* function of the calling module in definition order."""
    tests = [(n, f) for n, f in ns.items() if n.startswith("test_") and callable(f)]
    only = os.environ.get("PHIGATE_TEST_ONLY")
    if only:
        tests = [(n, f) for n, f in tests if n in only.split(",")]
    setup = ns.get("setup_module")
    passed = failed = skipped = 0
    script = os.path.basename(ns.get("__file__", "?"))
    t_all = time.time()
    try:
        if setup:
            setup()
    except Exception:
        traceback.print_exc()
        _dump_gateway_logs()
        print(f"{script}: setup failed")
        print(f"0 passed, {len(tests)} failed")
        _run_cleanups()
        sys.exit(1)
    for name, fn in tests:
        t0 = time.time()
        print(f"--- {name}", flush=True)
        try:
            fn()
        except Skip as e:
            skipped += 1
            print(f"SKIP {name}: {e}", flush=True)
        except Exception:
            failed += 1
            for hook in _failure_hooks:
                try:
                    hook()
                except Exception:  # noqa: BLE001
                    traceback.print_exc()
            traceback.print_exc()
            _dump_gateway_logs()
            _restart_dead_gateways(name)
            print(f"FAIL {name} ({time.time() - t0:.1f}s)", flush=True)
        else:
            if _restart_dead_gateways(name):
                failed += 1
                print(f"FAIL {name}: phigate died ({time.time() - t0:.1f}s)", flush=True)
            else:
                passed += 1
                print(f"PASS {name} ({time.time() - t0:.1f}s)", flush=True)
    print(f"{script}: {time.time() - t_all:.1f}s")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""),
          flush=True)
    _run_cleanups()
    sys.exit(1 if failed else 0)


def _restart_dead_gateways(test_name):
    """A gateway that died during a test fails that test; it is restarted (same config and data)
    so that later tests still say something about their own subject."""
    died = False
    for gw in list(_active_gateways):
        if not gw.alive():
            died = True
            print(f"!!! phigate pid {gw.pid} died during {test_name} (exit {gw.proc.returncode}); "
                  f"log:\n{gw.log_tail()}\n!!! restarting it for the remaining tests", flush=True)
            _active_gateways.remove(gw)
            try:
                gw.start()
            except Exception:
                traceback.print_exc()
    return died


def _dump_gateway_logs():
    for gw in _active_gateways:
        print(f"=== phigate log ({gw.log}, pid {gw.pid}, "
              f"{'alive' if gw.alive() else 'exited ' + str(gw.proc.returncode)}) ===\n"
              f"{gw.log_tail()}", flush=True)
