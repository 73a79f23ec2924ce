#!/usr/bin/env bash
# Installs everything phigate needs to build, test, demo and benchmark on Debian 12.
# Idempotent: skips apt when every package is already present.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config clang-format
  libboost-dev libboost-system-dev libssl-dev libpg-query-dev libyaml-cpp-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3 libpq-dev libspdlog-dev libfmt-dev libcli11-dev libhyperscan-dev
  libgtest-dev libgmock-dev libbenchmark-dev liblasso3-dev xmlsec1 libjemalloc-dev
  postgresql-15 postgresql-client-15 postgresql-contrib pgbouncer
  python3 python3-psycopg2 openssl procps iproute2 curl nginx-light wrk nghttp2-client rsyslog
  default-jdk-headless libpostgresql-jdbc-java
  nodejs
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's npm conflicts with a nodejs that bundles its own (e.g. NodeSource's): install it only
# when no npm is on PATH.
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm
fi
# The OIDC provider the identity integration tests start (tests/integration/oidc).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
(cd "$ROOT/tests/integration/oidc" && npm ci --no-audit --no-fund --loglevel=error)
