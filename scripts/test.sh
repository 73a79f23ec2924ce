#!/usr/bin/env bash
# Build the dev preset and run every test: unit (gtest), fuzz corpus replay and integration
# (tests/integration/test_*.py|sh against real PostgreSQL/psql/pgbench/pgJDBC started by the tests).
# Extra arguments go to ctest, e.g.  bash scripts/test.sh -L integration  or  -R psql_basic
# Exit status is non-zero on any failure. This is what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
echo "==> dependencies"
bash scripts/install-deps.sh

echo "==> configure + build (dev preset)"
cmake --preset dev
cmake --build --preset dev -j2

echo "==> tests"
# --no-tests=error: a run that found no test is a failure, not a silent pass
ctest --preset dev -j2 --no-tests=error "$@"

echo "==> all tests passed in $(( $(date +%s) - start ))s"
