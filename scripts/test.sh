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
# ffmpeg changed in ways the capture depends on (6.1: no frame= in -progress for stream copy; 7: new error
# wording, SIGTERM handling). Debian 12 has 5.1, so the ffmpeg-facing tests run again on a static ffmpeg 7
# (PyPI imageio-ffmpeg: the one registry that ships a static build here).
echo "== ffmpeg-facing tests again on ffmpeg 7"
.venv/bin/python -c 'import imageio_ffmpeg' 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check imageio-ffmpeg==0.7.0
ff7="$TMPDIR/ffmpeg7"
mkdir -p "$ff7" && ln -sf "$(.venv/bin/python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')" "$ff7/ffmpeg"
# locateFfmpeg prefers an installed ffmpeg-static over FFMPEG_PATH (DESIGN.md's order): make sure this pass runs 7
PATH="$ff7:$PATH" FFMPEG_PATH="$ff7/ffmpeg" node --import tsx --input-type=module -e "
const { locateFfmpeg } = await import('./src/video/ffmpeg.ts');
const f = await locateFfmpeg();
console.log('ffmpeg for this pass:', f.version, '(' + f.source + ')');
if (!f.version.startsWith('7.')) { console.error('expected ffmpeg 7 from FFMPEG_PATH, got ' + f.path); process.exit(1); }"
PATH="$ff7:$PATH" FFMPEG_PATH="$ff7/ffmpeg" node --import tsx --test --test-concurrency=1 --test-timeout=900000 \
  test/unit/video-*.test.ts test/unit/sampling-*.test.ts test/unit/edge-deploy-serve.test.ts test/unit/bench-capture.test.ts
