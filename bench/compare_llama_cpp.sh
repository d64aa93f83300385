#!/usr/bin/env bash
# sluice against llama.cpp on the same GGUF files, side by side, interleaved. Not part of CI.
#
#   bench/compare_llama_cpp.sh [SLUICE_BUILD_DIR]        (default: build)
#
# Environment: LLAMA_DIR (default /tmp/llama-cpp: where llama.cpp is fetched and built,
# outside the repository), SLUICE_SHARED (default ../shared), THREADS (1), ROUNDS (3),
# SHAPES ("smollm2 1b"), TYPES ("q4_0 q8_0 q4_k_m q6_k"), GEN (32), LLAMA_BUILDS
# ("native avx2"), DEPTH (0; 512 adds decode after a 512-token context to the table).
#
# llama.cpp is built from the npm package node-llama-cpp@3.22.1, whose
# llama/gitRelease.bundle holds llama.cpp at commit de3ff81 (the build the shared
# reference outputs come from): `npm pack`, extract, `git clone` the bundle, then up to two
# CMake builds of llama-bench (nothing of it is linked into sluice):
#   native  LLAMA_DIR/build:        -DGGML_NATIVE=ON, i.e. every ISA extension of this host
#           (on the project machine, an AMD EPYC, that includes AVX-512 and AVX512-VNNI);
#   avx2    LLAMA_DIR/build-avx2:   the ISA of the machines sluice ships for -- x86-64 with
#           AVX2/FMA/F16C/BMI2 and AVX-VNNI, no AVX-512 (-DGGML_NATIVE=OFF -DGGML_AVX2=ON
#           -DGGML_AVX_VNNI=ON -DGGML_AVX512=OFF ...). sluice dispatches at run time to its
#           AVX2 or AVX-VNNI kernels and never uses AVX-512, so this is the like-for-like build.
# The native build also provides llama-quantize.
#
# Models: per shape, an F16 GGUF written by bench/make_served_model (random weights, the
# tokenizer of ../shared/models/smollm2-Q8_0.gguf or llama3-Q6_K.gguf), quantised to each
# type by llama.cpp's own llama-quantize (its per-tensor mix, e.g. Q6_K output for Q4_0 and
# the Q4_K_M fallbacks on the 576-wide SmolLM2 rows), so both engines read the same bytes.
# Per round, shape and type: `sluice run` on a ~512-token prompt (prefill rate) and on a
# 4-token prompt (decode rate, from an almost empty context as llama-bench's tg), then
# `llama-bench -p 512 -n GEN` of each build; the table gives the best round of each and the
# ratio sluice / llama.cpp.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$repo/build}
llama_dir=${LLAMA_DIR:-/tmp/llama-cpp}
shared=${SLUICE_SHARED:-$repo/../shared}
threads=${THREADS:-1}
rounds=${ROUNDS:-3}
shapes=${SHAPES:-"smollm2 1b"}
types=${TYPES:-"q4_0 q8_0 q4_k_m q6_k"}
gen=${GEN:-32}
llama_builds=${LLAMA_BUILDS:-"native avx2"}
depth=${DEPTH:-0}

case "$llama_dir" in "$repo"|"$repo"/*) echo "LLAMA_DIR must be outside the repository" >&2; exit 2 ;; esac

common_flags=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF)
native_flags=(-DGGML_NATIVE=ON)
avx2_flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=ON
    -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF)

build_dir_of() { [[ $1 == native ]] && echo "$llama_dir/build" || echo "$llama_dir/build-$1"; }

# build_llama NAME TARGET...: configures (once) and builds llama.cpp's targets in NAME's directory.
build_llama() {
    local name=$1 dir
    shift
    dir=$(build_dir_of "$name")
    mkdir -p "$llama_dir"
    (
        cd "$llama_dir"
        [[ -f node-llama-cpp-3.22.1.tgz ]] || npm pack node-llama-cpp@3.22.1 >/dev/null
        [[ -d package ]] || tar -xzf node-llama-cpp-3.22.1.tgz
        [[ -d src ]] || git clone -q package/llama/gitRelease.bundle src
        local -n flags="${name}_flags"
        [[ -f $dir/CMakeCache.txt ]] || cmake -S src -B "$dir" "${common_flags[@]}" "${flags[@]}" >/dev/null
        for t in "$@"; do
            local bin=$dir/bin/$t
            [[ -x $bin ]] || cmake --build "$dir" -j"$(nproc)" --target "$t" >/dev/null
        done
    )
}

build_llama native llama-bench llama-quantize
for b in $llama_builds; do build_llama "$b" llama-bench; done
sluice=$build/sluice
[[ -x $sluice && -x $build/bench/make_served_model ]] || cmake --build "$build" --target sluice make_served_model >/dev/null

work=$llama_dir/models
mkdir -p "$work"
# ~512 tokens of plain text in either tokenizer.
long_prompt=$(for _ in $(seq 1 51); do printf 'the quick brown fox jumps over the lazy dog. '; done)
short_prompt='the quick brown fox'

model_of() { echo "$work/$1-shape-$2.gguf"; }
for shape in $shapes; do
    tok=$shared/models/smollm2-Q8_0.gguf
    [[ $shape == 1b ]] && tok=$shared/models/llama3-Q6_K.gguf
    f16=$(model_of "$shape" f16)
    for type in $types; do
        model=$(model_of "$shape" "$type")
        [[ -f $model ]] && continue
        [[ -f $f16 ]] || "$build/bench/make_served_model" "$f16" "$tok" f16 "$shape" >/dev/null
        "$(build_dir_of native)/bin/llama-quantize" "$f16" "$model" "${type^^}" "$(nproc)" >/dev/null 2>&1
    done
done

declare -A best n_prompt
put_best() { best[$1]=$(python3 -c "import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))" "${best[$1]:-0}" "$2"); }

sluice_rate() {  # MODEL PROMPT N_GEN FIELD -> "n_prompt_tokens rate"
    "$sluice" run -m "$1" -p "$2" -n "$3" --temp 0 --ignore-eos --json -t "$threads" |
        python3 -c 'import json,sys; o=json.load(sys.stdin); print(len(o["prompt_tokens"]), o["timings"][sys.argv[1]])' "$4"
}

for round in $(seq 1 "$rounds"); do
    echo "round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    for shape in $shapes; do
        for type in $types; do
            key=$shape/$type
            model=$(model_of "$shape" "$type")
            read -r n pp < <(sluice_rate "$model" "$long_prompt" 1 prompt_tokens_per_second)
            n_prompt[$key]=$n
            put_best "$key/s/pp" "$pp"
            read -r _ tg < <(sluice_rate "$model" "$short_prompt" "$gen" generation_tokens_per_second)
            put_best "$key/s/tg" "$tg"
            if [[ $depth != 0 ]]; then
                read -r _ tgd < <(sluice_rate "$model" "$long_prompt" "$gen" generation_tokens_per_second)
                put_best "$key/s/tgd" "$tgd"
            fi
            for b in $llama_builds; do
                depths=0
                [[ $depth != 0 ]] && depths=0,$depth
                out=$("$(build_dir_of "$b")/bin/llama-bench" -m "$model" -t "$threads" -p 512 -n "$gen" -d "$depths" -r 1 -o json 2>/dev/null)
                read -r pp tg tgd < <(python3 -c '
import json, sys
rows = json.load(sys.stdin)
pp = [r["avg_ts"] for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0 and r.get("n_depth", 0) == 0]
tg = [r["avg_ts"] for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0 and r.get("n_depth", 0) == 0]
tgd = [r["avg_ts"] for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0 and r.get("n_depth", 0) > 0] or [0]
print(pp[0], tg[0], tgd[0])' <<<"$out")
                put_best "$key/$b/pp" "$pp"
                put_best "$key/$b/tg" "$tg"
                put_best "$key/$b/tgd" "$tgd"
            done
        done
    done
done

echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
header="| model | threads | sluice prefill"
rule="|---|---|---"
for b in $llama_builds; do header+=" | llama.cpp $b pp512 | ratio"; rule+="|---|---"; done
header+=" | sluice decode"
rule+="|---"
for b in $llama_builds; do header+=" | llama.cpp $b tg$gen | ratio"; rule+="|---|---"; done
if [[ $depth != 0 ]]; then
    header+=" | sluice decode @$depth"
    rule+="|---"
    for b in $llama_builds; do header+=" | llama.cpp $b tg$gen @d$depth | ratio"; rule+="|---|---"; done
fi
echo "$header |"
echo "$rule|"
for shape in $shapes; do
    for type in $types; do
        key=$shape/$type
        row="| $shape $type | $threads | $(printf %.1f "${best[$key/s/pp]}") (${n_prompt[$key]} tokens)"
        for b in $llama_builds; do
            row+=$(python3 -c 'import sys; s, l = map(float, sys.argv[1:]); print(f" | {l:.1f} | {s / l:.2f}x")' "${best[$key/s/pp]}" "${best[$key/$b/pp]}")
        done
        row+=" | $(printf %.1f "${best[$key/s/tg]}")"
        for b in $llama_builds; do
            row+=$(python3 -c 'import sys; s, l = map(float, sys.argv[1:]); print(f" | {l:.1f} | {s / l:.2f}x")' "${best[$key/s/tg]}" "${best[$key/$b/tg]}")
        done
        if [[ $depth != 0 ]]; then
            row+=" | $(printf %.1f "${best[$key/s/tgd]}")"
            for b in $llama_builds; do
                row+=$(python3 -c 'import sys; s, l = map(float, sys.argv[1:]); print(f" | {l:.1f} | {s / l:.2f}x")' "${best[$key/s/tgd]}" "${best[$key/$b/tgd]}")
            done
        fi
        echo "$row |"
    done
done
