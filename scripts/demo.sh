#!/usr/bin/env bash
# The main job: install what is needed, then tune the demo camera on the offline defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/autotuner.js demo "$@"
