#!/usr/bin/env bash
# HTTP benchmark: wrk -> nginx direct vs nginx proxy_pass vs phigate (auth + JSON masking + strict
# audit), alternating per round. Knobs: R (rounds, 3), DUR (seconds, 10), CONN (16), WRK_THREADS
# (2), GW_THREADS (0 = one per core), PIN (1: gateway.cpu_affinity), LEGS (1: also phigate-async
# and phigate-bare), PHIGATE_BIN (default build/release, else build/dev).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -z "${PHIGATE_BIN:-}" ]]; then
  for b in build/release/src/phigate build/dev/src/phigate; do
    [[ -x $b ]] && { PHIGATE_BIN=$PWD/$b; break; }
  done
fi
export PHIGATE_BIN
exec /usr/bin/python3 bench/http/run.py "$@"
