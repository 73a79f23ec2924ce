#!/usr/bin/env bash
# Installs everything phigate needs to build, test, demo and benchmark on Debian 12.
# Idempotent: skips apt when every package is already present.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config clang-format
  libboost-dev libboost-system-dev libssl-dev libpg-query-dev libyaml-cpp-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3 libpq-dev libspdlog-dev libfmt-dev libcli11-dev libhyperscan-dev
  libgtest-dev libgmock-dev libbenchmark-dev liblasso3-dev xmlsec1
  postgresql-15 postgresql-client-15 postgresql-contrib pgbouncer
  python3 python3-psycopg2 openssl procps iproute2 curl nginx-light wrk rsyslog
  default-jdk-headless libpostgresql-jdbc-java
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
