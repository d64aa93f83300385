#!/usr/bin/env bash
# Sets up, builds and runs sluice on a model: describes the model, then generates a
# completion of a prompt, streamed to the terminal. Usage: scripts/run.sh [MODEL.gguf] [PROMPT]
# MODEL defaults to $SLUICE_MODEL, then ../shared/models/stories260K.gguf.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
model="${1:-${SLUICE_MODEL:-../shared/models/stories260K.gguf}}"
prompt="${2:-Once upon a time, there was a little robot.}"
if [ ! -f "$model" ]; then
  echo "run: no model at '$model'; pass a GGUF file or set SLUICE_MODEL" >&2
  exit 1
fi
build/sluice inspect "$model"
echo
printf '%s' "$prompt"
build/sluice run -m "$model" -p "$prompt" -n 96 --temp 0.8 --seed 1
