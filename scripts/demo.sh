#!/usr/bin/env bash
# phigate demo: a local PostgreSQL with a synthetic clinic database behind phigate.
#
#   bash scripts/demo.sh          install deps, build release, start PostgreSQL + phigate, print a
#                                 ready-to-paste psql line with a fresh token for alice (analyst)
#   bash scripts/demo.sh stop     stop both
#   bash scripts/demo.sh status   show what is running
#   bash scripts/demo.sh token SUB GROUPS [TTL]    mint another token (e.g. `token dan dbas 1h`)
#
# Everything lives under ./var/demo (PostgreSQL data owned by the postgres user, phigate data,
# logs, pid files, the upstream password). Re-running is safe: it stops the old processes first.
# DEMO_RESET=1 wipes ./var/demo first; DEMO_PATIENTS (10000), DEMO_PG_PORT (5433) and
# DEMO_GW_PORT (15432) change the defaults; DEMO_SKIP_BUILD=1 skips deps + build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var/demo
PGDATA=$VAR/pg
PGSOCK=$VAR/pgsock
PG_PORT=${DEMO_PG_PORT:-5433}
GW_PORT=${DEMO_GW_PORT:-15432}
PATIENTS=${DEMO_PATIENTS:-10000}
BIN=${PHIGATE_BIN:-$ROOT/build/release/src/phigate}
CFG=$VAR/phigate.yaml
PIDFILE=$VAR/phigate.pid
LOG=$VAR/phigate.log
PWFILE=$VAR/secrets/clinic.pw

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -n $d ]] || d=$(dirname "$(command -v initdb || command -v pg_ctl || echo /nonexistent/x)")
  [[ -x $d/initdb ]] || die "PostgreSQL server binaries not found (run scripts/install-deps.sh)"
  echo "$d"
}

# Run a command as the PostgreSQL OS user when we are root (PostgreSQL refuses to run as root).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_phigate() {
  if [[ -f $PIDFILE ]]; then
    local pid
    pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null && grep -q phigate "/proc/$pid/cmdline" 2>/dev/null; then
      say "stopping phigate (pid $pid)"
      kill -TERM "$pid" || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && { echo "phigate ignored SIGTERM; killing" >&2; kill -KILL "$pid" || true; }
    fi
    rm -f "$PIDFILE"
  fi
}

stop_pg() {
  if [[ -f $PGDATA/postmaster.pid ]]; then
    say "stopping PostgreSQL ($PGDATA)"
    as_pg "$(pg_bindir)/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

status() {
  if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "phigate:    running, pid $(cat "$PIDFILE"), 127.0.0.1:$GW_PORT, log $LOG"
  else
    echo "phigate:    not running"
  fi
  if [[ -f $PGDATA/postmaster.pid ]] && as_pg "$(pg_bindir)/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    echo "postgresql: running, 127.0.0.1:$PG_PORT, data $PGDATA"
  else
    echo "postgresql: not running"
  fi
}

token() {
  [[ -x $BIN && -f $CFG ]] || die "demo not set up; run: bash scripts/demo.sh"
  "$BIN" token issue --config "$CFG" --sub "$1" --groups "$2" --ttl "${3:-8h}"
}

case "${1:-start}" in
  stop) stop_phigate; stop_pg; exit 0 ;;
  status) status; exit 0 ;;
  token) shift; [[ $# -ge 2 ]] || die "usage: demo.sh token SUB GROUPS [TTL]"; token "$@"; exit 0 ;;
  start) ;;
  *) die "usage: demo.sh [start|stop|status|token SUB GROUPS [TTL]]" ;;
esac

if [[ ${DEMO_SKIP_BUILD:-0} != 1 ]]; then
  say "installing dependencies (scripts/install-deps.sh)"
  bash scripts/install-deps.sh
  say "building release (cmake --preset release)"
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)"
fi
[[ -x $BIN ]] || die "phigate binary not found at $BIN"

stop_phigate
stop_pg
[[ ${DEMO_RESET:-0} == 1 ]] && { say "DEMO_RESET=1: wiping $VAR"; rm -rf "$VAR"; }

PGBIN=$(pg_bindir)
mkdir -p "$VAR/secrets" "$VAR/data"
chmod 700 "$VAR/secrets"

if port_open "$PG_PORT"; then
  die "port $PG_PORT is in use by something else (set DEMO_PG_PORT=...)"
fi
if port_open "$GW_PORT"; then
  die "port $GW_PORT is in use by something else (set DEMO_GW_PORT=...)"
fi

# The postgres user must be able to reach ./var/demo/pg through every parent directory.
if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$VAR"; then
  die "the postgres user cannot traverse $VAR (a parent directory is private); clone the repo to a world-readable path such as /opt or /srv"
fi

if [[ ! -f $PWFILE ]]; then
  (umask 077; openssl rand -hex 24 >"$PWFILE")
fi
PW=$(tr -d '\n' <"$PWFILE")

if [[ ! -f $PGDATA/PG_VERSION ]]; then
  say "initialising PostgreSQL in $PGDATA"
  mkdir -p "$PGDATA" "$PGSOCK"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PGDATA" "$PGSOCK"
  chmod 700 "$PGDATA" "$PGSOCK"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$VAR/initdb.log"
  as_pg tee "$PGDATA/pg_hba.conf" >/dev/null <<'EOF'
# demo: the unix socket lives in a directory only postgres/root can enter
local all all trust
host  all all 127.0.0.1/32 scram-sha-256
EOF
  as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null <<EOF
# phigate demo
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGSOCK'
password_encryption = 'scram-sha-256'
shared_buffers = 128MB
logging_collector = off
EOF
fi

say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
touch "$VAR/postgres.log"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$VAR/postgres.log"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$VAR/postgres.log" -w -t 60 start >/dev/null \
  || { tail -20 "$VAR/postgres.log" >&2; die "PostgreSQL did not start"; }

PSQL_ADMIN=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PG_PORT" -U postgres)
has_db=$("${PSQL_ADMIN[@]}" -Atc "SELECT 1 FROM pg_database WHERE datname = 'clinic'" postgres)
if [[ $has_db != 1 ]]; then
  say "creating role phigate_clinic and database clinic; loading $PATIENTS synthetic patients"
  "${PSQL_ADMIN[@]}" postgres <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'phigate_clinic') THEN
    CREATE ROLE phigate_clinic LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
END \$\$;
CREATE DATABASE clinic OWNER phigate_clinic;
EOF
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PG_PORT" -U phigate_clinic -d clinic \
    -v patients="$PATIENTS" -f demo/schema.sql -f demo/data.sql
fi
# (re)set the upstream password to the one phigate will use; SCRAM-hashed by the server
"${PSQL_ADMIN[@]}" postgres -v pw="$PW" <<'EOF'
ALTER ROLE phigate_clinic PASSWORD :'pw';
EOF

say "writing $CFG"
sed -e "s#@DATA_DIR@#$VAR/data#g" -e "s#@PORT@#$GW_PORT#g" -e "s#@PG_PORT@#$PG_PORT#g" \
    -e "s#@PASSWORD_FILE@#$PWFILE#g" demo/phigate.yaml.in >"$CFG"
"$BIN" config check "$CFG" >/dev/null || { "$BIN" config check "$CFG"; die "config check failed"; }

say "starting phigate on 127.0.0.1:$GW_PORT (log: $LOG)"
nohup "$BIN" serve --config "$CFG" >>"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"
for _ in $(seq 1 100); do
  port_open "$GW_PORT" && break
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
  sleep 0.1
done
if ! port_open "$GW_PORT"; then
  tail -30 "$LOG" >&2
  die "phigate did not start listening on $GW_PORT"
fi

TOKEN=$(token alice analysts 8h)
cat <<EOF

phigate is running (pid $(cat "$PIDFILE")) in front of PostgreSQL on 127.0.0.1:$PG_PORT.
alice (group analysts: SELECT allowed with PHI masked, bulk UPDATE/DELETE denied, other writes held
for a reviewer) can connect with:

  psql "host=127.0.0.1 port=$GW_PORT dbname=clinic user=alice password=$TOKEN"

Try:   SELECT mrn, first_name, last_name, ssn, email FROM patients LIMIT 5;   -- ssn/email masked
       DELETE FROM visits;            -- denied: bulk change (SQLSTATE 42501)
       UPDATE visits SET department = 'x' WHERE id = 1;   -- held; then, in another shell:
         $BIN approvals list|approve ID --config $CFG --token \$(bash scripts/demo.sh token rita security)
Other identities:  bash scripts/demo.sh token dan dbas 1h
Audit:             $BIN audit verify --config $CFG
Logs:              $LOG
Stop:              bash scripts/demo.sh stop
EOF
