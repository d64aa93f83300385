#!/usr/bin/env bash
# Sets up, builds and serves a model on http://127.0.0.1:8080/v1 (OpenAI-compatible)
# until Ctrl-C. Usage: scripts/run.sh [MODEL.gguf] [more sluice serve options]
# MODEL defaults to $SLUICE_MODEL, then ../shared/models/stories260K.gguf.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
model="${1:-${SLUICE_MODEL:-../shared/models/stories260K.gguf}}"
shift || true
if [ ! -f "$model" ]; then
  echo "run: no model at '$model'; pass a GGUF file or set SLUICE_MODEL" >&2
  exit 1
fi
echo "run: serving $model; try: curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' -d '{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'"
exec build/sluice serve -m "$model" "$@"
