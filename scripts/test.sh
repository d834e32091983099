#!/usr/bin/env bash
# The test command: sets everything up if needed, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
