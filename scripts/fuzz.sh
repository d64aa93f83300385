#!/usr/bin/env bash
# Runs one libFuzzer target of the `fuzz` preset for a fixed number of executions, starting
# from its committed corpus, and prints libFuzzer's final statistics. Not part of CI (a
# 10-million-execution campaign takes minutes to an hour per target; docs/fuzzing.md has the
# figures).
#
#   scripts/fuzz.sh TARGET [RUNS] [MAX_LEN]      e.g. scripts/fuzz.sh request 10000000 4096
#
# TARGET is a name from fuzz/CMakeLists.txt (gguf_reader, tokenizer, template, request, gbnf,
# json_schema, tool_parser). The grown corpus is left in $FUZZ_WORK/TARGET (default
# /tmp/sluice-fuzz) and findings (crash-*, leak-*, timeout-*, oom-*) in
# $FUZZ_WORK/TARGET-findings; the exit status is libFuzzer's (non-zero on a finding).
# After a campaign, `scripts/fuzz.sh --merge TARGET` minimises the grown corpus into
# fuzz/corpus/TARGET (only inputs that add coverage, at most MERGE_MAX_LEN bytes each).
# SLUICE_SHARED (default ../shared) gives the tokenizer target the real vocabularies.
set -euo pipefail
cd "$(dirname "$0")/.."

merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi
target="${1:?usage: scripts/fuzz.sh [--merge] TARGET [RUNS] [MAX_LEN]}"
runs="${2:-10000000}"
max_len="${3:-4096}"
work="${FUZZ_WORK:-/tmp/sluice-fuzz}"
bin="build-fuzz/fuzz/fuzz_${target}"
export SLUICE_SHARED="${SLUICE_SHARED:-$(cd .. && pwd)/shared}"

if [ ! -x "$bin" ]; then
  echo "fuzz.sh: $bin is missing; build it with:" >&2
  echo "  cmake --preset fuzz && cmake --build --preset fuzz --target fuzz_${target}" >&2
  exit 2
fi

if [ "$merge" = 1 ]; then
  [ -d "$work/$target" ] || { echo "fuzz.sh: no grown corpus in $work/$target" >&2; exit 2; }
  # -merge=1 copies into the first directory only the inputs of the others that add coverage.
  exec "$bin" -merge=1 -max_len="${MERGE_MAX_LEN:-1024}" "fuzz/corpus/$target" "$work/$target"
fi

mkdir -p "$work/$target" "$work/$target-findings"
cp -n "fuzz/corpus/$target"/* "$work/$target/" 2>/dev/null || true
# -print_final_stats: executions, rate and peak RSS at the end; -rss_limit_mb bounds a runaway
# allocation (a finding, not a crash of the machine); -timeout: one input taking > 10 s is a
# finding too.
exec "$bin" -runs="$runs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/$target-findings/" "$work/$target"
