#!/usr/bin/env bash
# Audit benchmark (issue 6): the audit log's own throughput and verification speed
# (build/dev/bench/audit_bench), then pgbench select-only TPS through phigate with audit
# durability strict vs async vs off, in one run, rounds alternating so drift hits all alike.
#
#   bash bench/audit/run.sh                    # R=3 rounds, DUR=10 s, 8 clients, scale 10
#   R=5 DUR=20 EVENTS=1000000 bash bench/audit/run.sh
#
# "off" is `serve --bench-audit-discard` (hidden, needs PHIGATE_BENCHMARK_ONLY=audit-off and a
# fresh data_dir): records are still built and hashed but the store drops them, so strict/off
# shows what durable storage costs. Report: stdout and bench/audit/last-run.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
R=${R:-3}
DUR=${DUR:-10}
CLIENTS=${CLIENTS:-8}
SCALE=${SCALE:-10}
EVENTS=${EVENTS:-400000}
BUILD=${BUILD:-$ROOT/build/dev}
BIN=${PHIGATE_BIN:-$BUILD/src/phigate}
OUT=$ROOT/bench/audit/last-run.txt
PY=/usr/bin/python3; [[ -x $PY ]] || PY=python3
cmake --build "$BUILD" --target phigate audit_bench >&2

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGBENCH=$PGBIN/pgbench; [[ -x $PGBENCH ]] || PGBENCH=$(command -v pgbench)
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

T=$(mktemp -d /tmp/phigate-auditbench.XXXXXX)
chmod 755 "$T"
declare -A GW_PID GW_PORT TOKEN
cleanup() {
  set +e
  for m in "${!GW_PID[@]}"; do kill -TERM "${GW_PID[$m]}" 2>/dev/null; wait "${GW_PID[$m]}" 2>/dev/null; done
  [[ -f $T/pg/postmaster.pid ]] && as_pg "$PGBIN/pg_ctl" -D "$T/pg" -m fast -w stop >/dev/null 2>&1
  [[ ${KEEP_TMP:-0} == 1 ]] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
echo "# bench/audit/run.sh $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)"
echo "# machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## audit_bench --events $EVENTS --threads 8"
"$BUILD/bench/audit_bench" --events "$EVENTS" --threads 8
# The proxy's pattern at its real rate (2 io threads, ~20k statements/s): CPU per record by thread.
echo "## audit_bench --events 200000 --threads 2 --rate 10000 --verify 0"
"$BUILD/bench/audit_bench" --events 200000 --threads 2 --rate 10000 --verify 0
} | tee "$OUT"

PG_PORT=$(free_port); PW=$(openssl rand -hex 16)
mkdir -p "$T/pg" "$T/sock"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$T/pg" "$T/sock"
as_pg "$PGBIN/initdb" -D "$T/pg" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust \
  --auth-host=scram-sha-256 >"$T/initdb.log"
as_pg tee -a "$T/pg/postgresql.conf" >/dev/null <<EOC
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$T/sock'
password_encryption = 'scram-sha-256'
shared_buffers = 256MB
max_connections = 200
EOC
as_pg tee "$T/pg/pg_hba.conf" >/dev/null <<EOC
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOC
as_pg "$PGBIN/pg_ctl" -D "$T/pg" -l "$T/pg/server.log" -w start >/dev/null
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$T/sock" -p "$PG_PORT" -U postgres -d postgres <<EOC
CREATE ROLE bench LOGIN PASSWORD '$PW';
CREATE DATABASE bench OWNER bench;
EOC
PGPASSWORD=$PW "$PGBENCH" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U bench bench >"$T/init.log" 2>&1

MODES="strict async off"
for m in $MODES; do
  d=$T/gw-$m; mkdir -p "$d/data"; GW_PORT[$m]=$(free_port)
  printf '%s\n' "$PW" >"$d/upstream.pw"; chmod 600 "$d/upstream.pw"
  dur=$m; [[ $m == off ]] && dur=strict
  cat >"$d/phigate.yaml" <<EOC
gateway:
  node_id: gw-bench-$m
  data_dir: $d/data
  listen: { postgres: 127.0.0.1:${GW_PORT[$m]} }
identity:
  issuers: [ { name: local, type: local } ]
  group_roles: { bench: [bencher] }
resources:
  - { name: bench, type: postgres, upstream: 127.0.0.1:$PG_PORT, database: bench, upstream_tls: disable, credentials: { username: bench, password_file: $d/upstream.pw } }
roles:
  bencher: { resources: [bench], rules: [ { match: { statement: [select] }, action: allow } ] }
audit: { durability: $dur }
EOC
  extra=(); [[ $m == off ]] && extra=(--bench-audit-discard)
  PHIGATE_BENCHMARK_ONLY=$([[ $m == off ]] && echo audit-off || echo "") \
    "$BIN" serve --config "$d/phigate.yaml" "${extra[@]}" >"$d/phigate.log" 2>&1 &
  GW_PID[$m]=$!
  wait_port "${GW_PORT[$m]}" || { tail -20 "$d/phigate.log" >&2; exit 1; }
  TOKEN[$m]=$("$BIN" token issue --config "$d/phigate.yaml" --sub bench --groups bench --ttl 4h)
done

declare -A SUM
for m in $MODES; do SUM[$m]=0; done
for r in $(seq 1 "$R"); do
  for m in $MODES; do
    tps=$(PGPASSWORD=${TOKEN[$m]} "$PGBENCH" -n -S -c "$CLIENTS" -j 2 -T "$DUR" -h 127.0.0.1 \
      -p "${GW_PORT[$m]}" -U bench bench 2>/dev/null | awk '/^tps/ {print int($3); exit}')
    echo "round $r $m: $tps tps" | tee -a "$OUT"
    SUM[$m]=$((SUM[$m] + tps))
  done
done
{
echo "## pgbench -S -c $CLIENTS -j 2 -T $DUR, $R rounds alternating (mean tps)"
for m in $MODES; do echo "$m: $((SUM[$m] / R)) tps"; done
$PY - "${SUM[strict]}" "${SUM[async]}" "${SUM[off]}" <<'EOP'
import sys
s, a, o = (int(x) for x in sys.argv[1:])
print(f"strict/off = {s / o:.2f}   async/off = {a / o:.2f}   strict/async = {s / a:.2f}")
EOP
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$OUT"
