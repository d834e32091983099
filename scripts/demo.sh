#!/usr/bin/env bash
# The main job: sets everything up if needed, then runs the whole pipeline on the bundled 60-image VOC
# sample (samples/voc-mini) and writes the HTML report. Extra arguments go to `aepsl demo` (e.g. --force).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node dist/src/cli/main.js demo "$@"
