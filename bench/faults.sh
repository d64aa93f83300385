#!/usr/bin/env bash
# Fault injection (issue 16): a truncated model file at start-up, then 10,000 vanishing
# clients and connection resets and (as root, on a 256 KiB tmpfs) a full disk under
# --data-dir, against `sluice serve` with ../shared/models/stories260K.gguf
# (bench/faults.mjs). Prints what happened; not part of CI.
#
#   bench/faults.sh [BUILD_DIR (default build)] [faults.mjs options, e.g. --resets 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
shared=${SLUICE_SHARED:-../shared}
cmake --build "$build" -j2 --target sluice > /dev/null
work=$(mktemp -d)
cleanup() {
    [ -n "${server:-}" ] && { kill "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; }
    mountpoint -q "$work/data" 2> /dev/null && umount "$work/data"
    rm -rf "$work"
}
trap cleanup EXIT

# 1. A truncated model file: sluice must refuse it at start-up with a clear message.
head -c 100000 "$shared/models/stories260K.gguf" > "$work/truncated.gguf"
status=0
"$build/sluice" serve -m "$work/truncated.gguf" --port 0 > "$work/truncated.log" 2>&1 || status=$?
echo "truncated model: exit status $status; $(grep -m1 error "$work/truncated.log")"
[ "$status" -ne 0 ] || { echo "FAIL: sluice started on a truncated model"; exit 1; }

# 2. The server under resets (and a full disk when a tmpfs can be mounted).
mkdir -p "$work/data"
full_disk=()
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256k tmpfs "$work/data" 2> /dev/null; then
    full_disk=(--full-disk)
else
    echo "full disk: skipped (mounting a small tmpfs needs root)"
fi
port=${FAULTS_PORT:-$((20000 + RANDOM % 30000))}
"$build/sluice" serve -m "$shared/models/stories260K.gguf" --port "$port" --threads 2 --parallel 4 --rate-limit 0 \
    --data-dir "$work/data" > "$work/server.log" 2>&1 &
server=$!
source bench/wait_ready.sh
wait_ready "$port" "$server" "$work/server.log"
echo "faults: load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
node bench/faults.mjs --port "$port" --pid "$server" "${full_disk[@]}" "$@" || status=$?
kill -0 "$server" 2> /dev/null && echo "server still running" || { echo "FAIL: the server died"; status=1; }
grep -E "warn|error" "$work/server.log" | sort | uniq -c | sort -rn | head -5 | sed 's/^/server log: /'
exit "$status"
