#!/usr/bin/env bash
# Server throughput and latency at 1, 4 and 8 concurrent SSE streams, on a SmolLM2-135M-
# shaped Q4_0 model with random weights and SmolLM2's tokenizer (make_served_model).
# Starts `sluice serve` on a free loopback port, runs load_bench, stops the server.
#
#   bench/serve_bench.sh [BUILD_DIR (default build)] [extra load_bench options...]
# Needs ../shared/models/smollm2-Q8_0.gguf (or SLUICE_SHARED) for the tokenizer.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
shared=${SLUICE_SHARED:-../shared}
cmake --build "$build" -j2 --target sluice make_served_model load_bench > /dev/null

model="$build/bench/smollm2-135m-shape-q4_0.gguf"
[ -f "$model" ] || "$build/bench/make_served_model" "$model" "$shared/models/smollm2-Q8_0.gguf" q4_0
eos=$("$build/sluice" inspect "$model" --metadata | sed -n 's/.*tokenizer.ggml.eos_token_id = //p')

port=${SERVE_BENCH_PORT:-$((20000 + RANDOM % 30000))}
"$build/sluice" serve -m "$model" --port "$port" --threads 2 --ctx-size 2048 --rate-limit 0 --parallel "${SERVE_BENCH_PARALLEL:-8}" > "$build/bench/serve_bench.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
source bench/wait_ready.sh
wait_ready "$port" "$server" "$build/bench/serve_bench.log"
"$build/bench/load_bench" --url "http://127.0.0.1:$port" --ban-token "$eos" "$@"
