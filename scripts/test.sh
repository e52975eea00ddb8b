#!/usr/bin/env bash
# The test command: installs what it needs, type-checks, runs the trainer's pytest suite and the
# TypeScript unit + integration tests (real Temporal dev server, ffmpeg, onnxruntime, PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Tests make scratch directories under os.tmpdir()/tempfile: give them one per run, removed at the end,
# so repeated runs (and tests killed half-way) leave nothing behind in /tmp.
TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/autotuner-test.XXXXXX")"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
echo "== typecheck"
npx tsc -p tsconfig.json --noEmit
echo "== trainer (pytest)"
.venv/bin/python -m pytest trainer/tests -q -p no:cacheprovider
echo "== node tests"
shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts)
node --import tsx --test --test-concurrency=1 --test-timeout=900000 "${files[@]}"
