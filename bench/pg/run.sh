#!/usr/bin/env bash
# PostgreSQL data-path benchmark: direct vs pgbouncer (session pooling) vs phigate (full enforcement:
# token auth, policy on every statement, strict audit), all on loopback, in one run.
#
#   bash bench/pg/run.sh                 # R=3 rounds, DUR=15 s per run, 8 clients, scale 10
#   R=5 DUR=30 CLIENTS=16 bash bench/pg/run.sh
#
# Everything (PostgreSQL cluster, pgbouncer, phigate) is started in a temp dir and torn down on exit.
# Rounds alternate direct -> pgbouncer -> phigate so drift hits every target alike. CPU per
# transaction is the proxy's own utime+stime (/proc/PID/stat) over the run divided by transactions.
# The report is printed and written to bench/pg/last-run.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
R=${R:-3}
DUR=${DUR:-15}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
SCALE=${SCALE:-10}
MODES=${MODES:-"simple extended"}
OUT=$ROOT/bench/pg/last-run.txt
BIN=${PHIGATE_BIN:-$ROOT/build/release/src/phigate}
PY=/usr/bin/python3; [[ -x $PY ]] || PY=python3

if [[ ! -x $BIN ]]; then
  echo "==> building release (no phigate binary at $BIN)" >&2
  cmake --preset release >/dev/null && cmake --build --preset release -j"$(nproc)" >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $PGBIN/initdb ]] || { echo "PostgreSQL server not installed (scripts/install-deps.sh)" >&2; exit 1; }
command -v pgbouncer >/dev/null || { echo "pgbouncer not installed (scripts/install-deps.sh)" >&2; exit 1; }
PGBENCH=$PGBIN/pgbench; [[ -x $PGBENCH ]] || PGBENCH=$(command -v pgbench)

as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
CLK_TCK=$(getconf CLK_TCK)

T=$(mktemp -d /tmp/phigate-bench.XXXXXX)
chmod 755 "$T"
PG_PID="" BOUNCER_PID="" GW_PID=""
cleanup() {
  set +e
  [[ -n $GW_PID ]] && kill -TERM "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
  [[ -n ${GWA_PID:-} ]] && kill -TERM "$GWA_PID" 2>/dev/null && wait "$GWA_PID" 2>/dev/null
  [[ -n $BOUNCER_PID ]] && kill -TERM "$BOUNCER_PID" 2>/dev/null
  [[ -f $T/pg/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$T/pg" -m fast -w stop >/dev/null 2>&1
  [[ ${KEEP_TMP:-0} == 1 ]] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PG_PORT=$(free_port); BOUNCER_PORT=$(free_port); GW_PORT=$(free_port)
PW=$(openssl rand -hex 16)

# ---- PostgreSQL ---------------------------------------------------------------------------
mkdir -p "$T/pg" "$T/sock"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$T/pg" "$T/sock"
as_pg "$PGBIN/initdb" -D "$T/pg" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust \
  --auth-host=scram-sha-256 >"$T/initdb.log"
as_pg tee -a "$T/pg/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$T/sock'
password_encryption = 'scram-sha-256'
shared_buffers = 256MB
max_connections = 200
EOF
as_pg tee "$T/pg/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF
as_pg "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pg/server.log" -w start >/dev/null
PG_PID=$(head -1 "$T/pg/postmaster.pid")
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$T/sock" -p "$PG_PORT" -U postgres -d postgres <<EOF
CREATE ROLE bench LOGIN PASSWORD '$PW';
CREATE DATABASE bench OWNER bench;
EOF
echo "==> pgbench -i -s $SCALE" >&2
PGPASSWORD=$PW "$PGBENCH" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U bench bench >"$T/init.log" 2>&1

# ---- pgbouncer (session pooling, SCRAM, as the postgres user) ------------------------------
mkdir -p "$T/bouncer"
cat >"$T/bouncer/userlist.txt" <<EOF
"bench" "$PW"
EOF
cat >"$T/bouncer/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $T/bouncer/userlist.txt
pool_mode = session
max_client_conn = 200
default_pool_size = $((CLIENTS + 4))
logfile = $T/bouncer/pgbouncer.log
pidfile = $T/bouncer/pgbouncer.pid
EOF
[[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$T/bouncer"
chmod 600 "$T/bouncer/userlist.txt"
as_pg pgbouncer -d -q "$T/bouncer/pgbouncer.ini"
wait_port "$BOUNCER_PORT" || { cat "$T/bouncer/pgbouncer.log" >&2; exit 1; }
BOUNCER_PID=$(cat "$T/bouncer/pgbouncer.pid")

# ---- phigate (strict audit; a role that may select) ----------------------------------------
mkdir -p "$T/gw/data"
printf '%s\n' "$PW" >"$T/gw/upstream.pw"; chmod 600 "$T/gw/upstream.pw"
cat >"$T/gw/phigate.yaml" <<EOF
gateway:
  node_id: gw-bench
  data_dir: $T/gw/data
  listen: { postgres: 127.0.0.1:$GW_PORT }
  threads: ${GW_THREADS:-0}
  cpu_affinity: $([[ ${PIN:-0} == 1 ]] && echo true || echo false)
identity:
  issuers: [ { name: local, type: local } ]
  group_roles: { bench: [bencher] }
resources:
  - { name: bench, type: postgres, upstream: 127.0.0.1:$PG_PORT, database: bench, upstream_tls: disable, credentials: { username: bench, password_file: $T/gw/upstream.pw } }
roles:
  bencher: { resources: [bench], rules: [ { match: { statement: [select] }, action: allow } ] }
audit: { durability: strict }
EOF
"$BIN" serve --config "$T/gw/phigate.yaml" >"$T/gw/phigate.log" 2>&1 &
GW_PID=$!
wait_port "$GW_PORT" || { tail -30 "$T/gw/phigate.log" >&2; exit 1; }
TOKEN=$("$BIN" token issue --config "$T/gw/phigate.yaml" --sub bench-runner --groups bench --ttl 4h)

# ---- phigate with audit durability async: same policy, shows what strict durability costs -----
ASYNC=${ASYNC:-1}
if [[ $ASYNC == 1 ]]; then
  GWA_PORT=$(free_port)
  mkdir -p "$T/gwa/data"
  sed -e "s#$T/gw/data#$T/gwa/data#" -e "s#127.0.0.1:$GW_PORT#127.0.0.1:$GWA_PORT#" \
      -e 's#durability: strict#durability: async#' "$T/gw/phigate.yaml" >"$T/gwa/phigate.yaml"
  "$BIN" serve --config "$T/gwa/phigate.yaml" >"$T/gwa/phigate.log" 2>&1 &
  GWA_PID=$!
  wait_port "$GWA_PORT" || { tail -30 "$T/gwa/phigate.log" >&2; exit 1; }
  TOKEN_A=$("$BIN" token issue --config "$T/gwa/phigate.yaml" --sub bench-runner --groups bench --ttl 4h)
fi

# ---- runs ----------------------------------------------------------------------------------
RES=$T/results.tsv
: >"$RES"
run_one() {  # mode target port password pid-or-empty
  local mode=$1 target=$2 port=$3 pw=$4 pid=$5 c0=0 c1=0 out tps tx
  [[ -n $pid ]] && c0=$(cpu_ticks "$pid")
  out=$(PGPASSWORD=$pw "$PGBENCH" -n -S -M "$mode" -c "$CLIENTS" -j "$THREADS" -T "$DUR" \
        -h 127.0.0.1 -p "$port" -U bench bench 2>&1) || { echo "$out" >&2; echo "pgbench failed: $mode $target" >&2; exit 1; }
  [[ -n $pid ]] && c1=$(cpu_ticks "$pid")
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  local failed
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$target" "$tps" "$tx" "$((c1 - c0))" "${failed:-0}" >>"$RES"
  printf '  %-8s %-9s %10.0f tps  %9d tx  failed %s\n' "$mode" "$target" "$tps" "$tx" "${failed:-0}" >&2
}

echo "==> $R rounds x {direct, pgbouncer, phigate} x {$MODES}, $CLIENTS clients, ${DUR}s each" >&2
for mode in $MODES; do
  for r in $(seq 1 "$R"); do
    run_one "$mode" direct "$PG_PORT" "$PW" ""
    run_one "$mode" pgbouncer "$BOUNCER_PORT" "$PW" "$BOUNCER_PID"
    run_one "$mode" phigate "$GW_PORT" "$TOKEN" "$GW_PID"
    [[ $ASYNC == 1 ]] && run_one "$mode" phigate-async "$GWA_PORT" "$TOKEN_A" "$GWA_PID"
  done
done

AUDIT=$("$BIN" audit verify --config "$T/gw/phigate.yaml" 2>&1 | tail -1) || AUDIT="FAILED: $AUDIT"

{
  echo "phigate PostgreSQL benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine:   $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo "versions:  $("$PGBIN/postgres" --version), $(pgbouncer --version | head -1), phigate $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
  echo "workload:  pgbench -S (point select) -c $CLIENTS -j $THREADS -T $DUR, scale $SCALE, $R rounds, median reported"
  echo "phigate:   token auth, policy per statement, audit durability strict, io threads ${GW_THREADS:-0} (0 = one per core); audit verify: $AUDIT"
  [[ $ASYNC == 1 ]] && echo "phigate-async: the same gateway with audit durability async (records committed within ~5 ms, never dropped)"
  echo "pgbouncer: pool_mode session, auth scram-sha-256"
  echo
  $PY - "$RES" "$CLK_TCK" <<'PYEOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
tck = int(sys.argv[2])
by = {}
for mode, target, tps, tx, ticks, failed in rows:
    by.setdefault((mode, target), []).append((float(tps or 0), int(tx or 0), int(ticks), int(failed)))
print(f"{'mode':9} {'target':13} {'TPS median':>11} {'vs direct':>10} {'vs pgbouncer':>13} "
      f"{'own CPU us/tx':>14} {'failed':>7}")
for mode in dict.fromkeys(m for m, _ in by):
    med = {t: statistics.median(x[0] for x in by[(mode, t)]) for m, t in by if m == mode}
    for t in ("direct", "pgbouncer", "phigate", "phigate-async"):
        runs = by.get((mode, t))
        if not runs:
            continue
        tx = sum(x[1] for x in runs)
        ticks = sum(x[2] for x in runs)
        cpu = f"{ticks / tck * 1e6 / tx:.1f}" if t != "direct" and tx else "-"
        vd = f"{med[t] / med['direct']:.2f}x" if med.get("direct") else "-"
        vb = (f"{med[t] / med['pgbouncer']:.2f}x"
              if t.startswith("phigate") and med.get("pgbouncer") else "-")
        print(f"{mode:9} {t:13} {med[t]:11.0f} {vd:>10} {vb:>13} {cpu:>14} "
              f"{sum(x[3] for x in runs):7d}")
print()
print("rounds (tps):")
for (mode, t), runs in by.items():
    print(f"  {mode:9} {t:13} " + "  ".join(f"{x[0]:.0f}" for x in runs))
PYEOF
} | tee "$OUT"
