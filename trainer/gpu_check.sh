#!/usr/bin/env bash
# The trainer's CUDA path, checked on a GPU machine that has only Python + CUDA PyTorch (no Node, ffmpeg or
# network): the trainer tests on cuda (deterministic kernels, so resume == straight run still holds; the
# host-sync and CUDA-graph tests run only there), bench_gpu.py eager and with CUDA graphs, and whole timed
# trainer runs (gpu_e2e.py) when a dataset is given. Run from the repo root with the teacher weights in
# node_modules/. Ordered so the quick checks come first, and each step's limit is cut to what is left of
# BUDGET_S (default 540 s, under the device tool's 600 s a command): a lease cut short still says the most.
#   bash trainer/gpu_check.sh FRAMES_DIR [OUT_DIR] [DATASET_DIR]
# trainer/gpu_prepare.sh makes FRAMES_DIR and DATASET_DIR here (.gpu/frames, .gpu/ds).
# FRAMES_DIR: the 10 vtest frames the tests use, made where ffmpeg is:
#   ffmpeg -i vtest.avi -vf 'select=not(mod(n\,40))' -vsync 0 -frames:v 10 FRAMES_DIR/f%02d.png
# DATASET_DIR: a real dataset tree, e.g. a demo run's .autotuner/artifacts/trees/<hash> (has dataset.json)
set -u
frames=$(realpath "${1:?FRAMES_DIR}")
out=${2:-.}
data=${3:-}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 AUTOTUNER_TEST_DEVICE=cuda AUTOTUNER_TEST_FRAMES="$frames"
weights=node_modules/@vladmandic/human/models/centernet.json
t0=$(date +%s)
# seconds for the next step: at most $1, and no more than what is left of the budget (0: skip it)
limit() { local left=$(( ${BUDGET_S:-540} - ($(date +%s) - t0) - 5 )); [ "$left" -lt "$1" ] && echo $(( left > 20 ? left : 0 )) || echo "$1"; }
step() { local s; s=$(limit "$1"); shift; if [ "$s" -gt 0 ]; then echo "== $(( $(date +%s) - t0 )) s: $*"; timeout "$s" "$@"; else echo "== skipped (budget): $*"; fi; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, onnx, onnxruntime; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'bf16', torch.cuda.is_bf16_supported(), 'onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)"
step 120 python3 -m pytest trainer/tests/test_loss.py trainer/tests/test_cuda_graph.py -q -rA -p no:cacheprovider \
  2>&1 | tee "$out/pytest-cuda-step.log"
for graphs in off on; do
  for batch in 8 32; do
    step 90 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 320 --batch $batch --steps 30 --cuda-graphs $graphs \
      2>&1 | tee -a "$out/bench-gpu.log"
  done
done
if [ -n "$data" ]; then
  step 240 python3 trainer/gpu_e2e.py --data "$data" --weights "$weights" --out /tmp/gpu-e2e 2>&1 | tee "$out/e2e.log"
fi
step 300 python3 -m pytest trainer/tests/test_data.py trainer/tests/test_train.py -q -rA -p no:cacheprovider \
  2>&1 | tee "$out/pytest-cuda.log"
step 90 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 320 --batch 32 --steps 30 --amp bf16 \
  2>&1 | tee -a "$out/bench-gpu.log"
step 90 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 512 --batch 64 --steps 20 --workers 8 \
  2>&1 | tee -a "$out/bench-gpu.log"
