#!/usr/bin/env bash
# The agent workload of issue 15: a ~12k-token first turn with 10 tools, then 5 turns of
# ~300 tokens each, against a random-weight model of a real shape (make_served_model), time
# to first token per turn (bench/agent_bench.mjs). Starts `sluice serve` on a free loopback
# port, stops it at the end. Not part of CI.
#
#   bench/agent_bench.sh [BUILD_DIR (default build)] [smollm2|1b (default smollm2)] [agent_bench.mjs options...]
# Needs ../shared/models/smollm2-Q8_0.gguf (smollm2) or llama3-Q6_K.gguf (1b) for the tokenizer.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shape=${2:-smollm2}
shift 2 || shift $# || true
shared=${SLUICE_SHARED:-../shared}
cmake --build "$build" -j2 --target sluice make_served_model > /dev/null
case "$shape" in
    smollm2) tokenizer="$shared/models/smollm2-Q8_0.gguf" ;;
    1b) tokenizer="$shared/models/llama3-Q6_K.gguf" ;;
    *) echo "agent_bench: shape must be smollm2 or 1b" >&2; exit 2 ;;
esac
model="$build/bench/agent-$shape-q4_0.gguf"
[ -f "$model" ] || "$build/bench/make_served_model" "$model" "$tokenizer" q4_0 "$shape"

port=${AGENT_BENCH_PORT:-$((20000 + RANDOM % 30000))}
"$build/sluice" serve -m "$model" --port "$port" --threads 2 --ctx-size 16384 --parallel 1 --rate-limit 0 > "$build/bench/agent_bench.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
source bench/wait_ready.sh
wait_ready "$port" "$server" "$build/bench/agent_bench.log"
echo "agent_bench: $shape shape, Q4_0, $(nproc) threads available, load average $(cut -d' ' -f1-3 /proc/loadavg)"
node bench/agent_bench.mjs --port "$port" "$@"
