#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite. This is the README's test command.
# SLUICE_SHARED points at the shared data (default ../shared); SLUICE_REQUIRE_SHARED=1
# turns "shared data missing" skips into failures (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The openai client for the server integration tests (pinned in package-lock.json).
(cd tests/integration/node && npm ci --no-audit --no-fund --loglevel=error)
scripts/build.sh -DSLUICE_WERROR=ON
export SLUICE_SHARED="${SLUICE_SHARED:-$(cd .. && pwd)/shared}"
cd build
ctest --output-on-failure -j"$(nproc 2>/dev/null || echo 2)" "$@"
