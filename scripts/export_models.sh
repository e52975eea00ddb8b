#!/usr/bin/env bash
# Export the offline teacher (COCO CenterNet from @vladmandic/human, 512x512, all 80 classes) to ONNX.
# Idempotent: skips the export when the file already exists. DATA defaults to .autotuner
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${DATA:-.autotuner}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WEIGHTS="$ROOT/node_modules/@vladmandic/human/models/centernet.json"
OUT="$DATA/models/teacher-centernet-512.onnx"
if [[ -f "$OUT" ]]; then
  echo "teacher exists: $OUT" >&2
  exit 0
fi
mkdir -p "$DATA/models"
PYTHONPATH="$ROOT/trainer${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m autotuner_trainer export \
  --init "$WEIGHTS" --imgsz 512 --out "$OUT"
