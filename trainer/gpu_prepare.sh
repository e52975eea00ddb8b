#!/usr/bin/env bash
# Gathers, here (where ffmpeg and a demo run are), what trainer/gpu_check.sh needs on a GPU machine
# that has only Python + CUDA PyTorch, into .gpu/ (git-ignored through .git/info/exclude):
#   .gpu/frames/f01..f10.png  the 10 vtest frames the tests use
#   .gpu/ds/                  the newest dataset a demo run stored (npm run demo -- --quick makes one)
# Then prints the command to run there. Run from the repo root.
set -euo pipefail
video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu/frames && mkdir -p .gpu/frames
ffmpeg -loglevel error -y -i "$video" -vf 'select=not(mod(n\,40))' -vsync 0 -frames:v 10 .gpu/frames/f%02d.png
ds=$(ls -td .autotuner/artifacts/trees/*/ 2>/dev/null | while read -r d; do [ -f "$d/dataset.json" ] && { echo "$d"; break; }; done || true)
if [ -n "$ds" ]; then
  rm -rf .gpu/ds && cp -r "$ds" .gpu/ds
  echo "dataset: $ds -> .gpu/ds ($(du -sh .gpu/ds | cut -f1))"
else
  echo "no demo dataset in .autotuner/artifacts/trees: run 'npm run demo -- --quick' first for the timed whole runs" >&2
fi
cat <<'MSG'
On the GPU machine (carry .gpu and node_modules/@vladmandic/human/models/centernet.json and .bin):
  bash trainer/gpu_check.sh .gpu/frames "$OUT" .gpu/ds
MSG
