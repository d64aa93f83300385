#!/usr/bin/env bash
# sluice against llama.cpp on the same GGUF files, side by side, interleaved. Not part of CI.
#
#   bench/compare_llama_cpp.sh [SLUICE_BUILD_DIR]        (default: build)
#
# Environment: LLAMA_DIR (default /tmp/llama-cpp: where llama.cpp is fetched and built,
# outside the repository), SLUICE_SHARED (default ../shared), THREADS (2), ROUNDS (3),
# TYPES ("q4_0 q8_0"), GEN (32).
#
# llama.cpp is built from the npm package node-llama-cpp@3.22.1, whose
# llama/gitRelease.bundle holds llama.cpp at commit de3ff81 (the build the shared
# reference outputs come from): `npm pack`, extract, `git clone` the bundle, CMake with
# -DGGML_NATIVE=ON, target llama-bench. Nothing of it is linked into sluice.
#
# Models: SmolLM2-135M-shaped GGUF files written by bench/make_served_model (random weights
# quantised by sluice, the SmolLM2 tokenizer from ../shared/models/smollm2-Q8_0.gguf), so
# both engines read the same bytes. Per round and type: `sluice run` on a ~512-token prompt
# (its prompt_tokens_per_second / generation_tokens_per_second), then `llama-bench -p 512
# -n GEN`; the table gives the best round of each and the ratio sluice / llama.cpp.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
llama_dir=${LLAMA_DIR:-/tmp/llama-cpp}
shared=${SLUICE_SHARED:-$repo/../shared}
threads=${THREADS:-2}
rounds=${ROUNDS:-3}
types=${TYPES:-"q4_0 q8_0"}
gen=${GEN:-32}

case "$llama_dir" in "$repo"|"$repo"/*) echo "LLAMA_DIR must be outside the repository" >&2; exit 2 ;; esac

llama_bench=$llama_dir/build/bin/llama-bench
if [[ ! -x $llama_bench ]]; then
    mkdir -p "$llama_dir"
    (
        cd "$llama_dir"
        [[ -f node-llama-cpp-3.22.1.tgz ]] || npm pack node-llama-cpp@3.22.1 >/dev/null
        [[ -d package ]] || tar -xzf node-llama-cpp-3.22.1.tgz
        [[ -d src ]] || git clone -q package/llama/gitRelease.bundle src
        cmake -S src -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
            -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
        cmake --build build -j"$threads" --target llama-bench >/dev/null
    )
fi
sluice=$build/sluice
[[ -x $sluice && -x $build/bench/make_served_model ]] || cmake --build "$build" --target sluice make_served_model >/dev/null

work=$llama_dir/models
mkdir -p "$work"
# ~512 tokens of plain text in the SmolLM2 tokenizer.
prompt=$(for _ in $(seq 1 51); do printf 'the quick brown fox jumps over the lazy dog. '; done)

declare -A s_pp s_tg l_pp l_tg n_prompt
for type in $types; do
    model=$work/smollm2-shape-$type.gguf
    [[ -f $model ]] || "$build/bench/make_served_model" "$model" "$shared/models/smollm2-Q8_0.gguf" "$type" >/dev/null
    s_pp[$type]=0 s_tg[$type]=0 l_pp[$type]=0 l_tg[$type]=0
done

best() { python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "$1" "$2"; }

for round in $(seq 1 "$rounds"); do
    echo "round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    for type in $types; do
        model=$work/smollm2-shape-$type.gguf
        out=$("$sluice" run -m "$model" -p "$prompt" -n "$gen" --temp 0 --ignore-eos --json -t "$threads")
        read -r n pp tg < <(python3 -c 'import json,sys; o=json.load(sys.stdin); t=o["timings"]; print(len(o["prompt_tokens"]), t["prompt_tokens_per_second"], t["generation_tokens_per_second"])' <<<"$out")
        n_prompt[$type]=$n
        s_pp[$type]=$(best "${s_pp[$type]}" "$pp")
        s_tg[$type]=$(best "${s_tg[$type]}" "$tg")
        out=$("$llama_bench" -m "$model" -t "$threads" -p 512 -n "$gen" -r 1 -o json)
        read -r pp tg < <(python3 -c '
import json, sys
rows = json.load(sys.stdin)
pp = [r["avg_ts"] for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0]
tg = [r["avg_ts"] for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0]
print(pp[0], tg[0])' <<<"$out")
        l_pp[$type]=$(best "${l_pp[$type]}" "$pp")
        l_tg[$type]=$(best "${l_tg[$type]}" "$tg")
    done
done

printf '| model (SmolLM2-135M shape, %s threads) | sluice prefill | llama.cpp pp512 | ratio | sluice decode | llama.cpp tg%s | ratio |\n' "$threads" "$gen"
printf '|---|---|---|---|---|---|---|\n'
for type in $types; do
    python3 -c 'import sys
t, n, sp, lp, st, lt = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
print(f"| {t} | {sp:.1f} ({n} tokens) | {lp:.1f} | {sp/lp:.2f}x | {st:.1f} | {lt:.1f} | {st/lt:.2f}x |")' \
        "$type" "${n_prompt[$type]}" "${s_pp[$type]}" "${l_pp[$type]}" "${s_tg[$type]}" "${l_tg[$type]}"
done
