#!/usr/bin/env bash
# Soak: 64 concurrent streams against one `sluice serve` for 10 minutes (bench/soak.mjs),
# on the SmolLM2-135M-shaped Q4_0 model of make_served_model. Not part of CI.
#
#   bench/soak.sh [BUILD_DIR (default build)] [soak.mjs options, e.g. --seconds 600 --streams 64]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
shared=${SLUICE_SHARED:-../shared}
cmake --build "$build" -j2 --target sluice make_served_model > /dev/null
model="$build/bench/smollm2-135m-shape-q4_0.gguf"
[ -f "$model" ] || "$build/bench/make_served_model" "$model" "$shared/models/smollm2-Q8_0.gguf" q4_0
port=${SOAK_PORT:-$((20000 + RANDOM % 30000))}
# A small prefix cache (--cache-ram 32 MiB): KV pages are committed as blocks are first
# written, so RSS grows until the cache is full; with 32 MiB that is the warm-up minute.
# Every soak client is 127.0.0.1, so the per-address connection cap is off: the streams stand
# for distinct clients (with it at its default of 64, 64 streams plus the connections being
# replaced were refused).
"$build/sluice" serve -m "$model" --port "$port" --threads 2 --ctx-size 1024 --parallel 8 --queue-size 128 --rate-limit 0 \
    --max-connections-per-ip 0 --cache-ram 32 > "$build/bench/soak.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
source bench/wait_ready.sh
wait_ready "$port" "$server" "$build/bench/soak.log"
echo "soak: load average $(cut -d' ' -f1-3 /proc/loadavg)"
node bench/soak.mjs --port "$port" --pid "$server" "$@"
