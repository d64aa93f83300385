#!/usr/bin/env bash
# Builds the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (the `asan`
# preset, into build-asan/) and runs them, so a memory error or undefined behaviour fails
# the run. CI runs it after the README's test command (.ci/run). Usage: scripts/test_asan.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake --preset asan -DSLUICE_BUILD_BENCH=OFF >/dev/null
# Every executable registered with the `unit` label: `sluice_test(NAME unit ...)` in
# tests/CMakeLists.txt.
mapfile -t unit_targets < <(grep -oE '^sluice_test\([a-z_]+ unit' tests/CMakeLists.txt | sed -E 's/^sluice_test\(([a-z_]+) unit/\1/')
[ "${#unit_targets[@]}" -gt 0 ] || { echo "test_asan: no unit test targets found in tests/CMakeLists.txt" >&2; exit 1; }
# The fuzz targets' corpus replays (fuzz/CMakeLists.txt: SLUICE_FUZZ_TARGETS), also labelled unit.
mapfile -t fuzz_names < <(sed -nE 's/^set\(SLUICE_FUZZ_TARGETS (.*)\)$/\1/p' fuzz/CMakeLists.txt | tr ' ' '\n')
[ "${#fuzz_names[@]}" -gt 0 ] || { echo "test_asan: no fuzz targets found in fuzz/CMakeLists.txt" >&2; exit 1; }
unit_targets+=("${fuzz_names[@]/#/fuzz_}")
echo "test_asan: ${unit_targets[*]}"
cmake --build build-asan -j"$jobs" --target "${unit_targets[@]}"
export SLUICE_SHARED="${SLUICE_SHARED:-$(cd .. && pwd)/shared}"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs"
