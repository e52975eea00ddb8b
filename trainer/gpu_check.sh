#!/usr/bin/env bash
# The trainer's CUDA path, checked on a GPU machine that has only Python + CUDA PyTorch (no Node, ffmpeg or
# network): the trainer tests on cuda (deterministic kernels, so resume == straight run still holds; the
# host-sync and CUDA-graph tests run only there), bench_gpu.py eager and with CUDA graphs, and whole timed
# trainer runs (gpu_e2e.py) when a dataset is given. Run from the repo root with the teacher weights in
# node_modules/. Ordered so the quick checks come first: a lease cut short still says the most.
#   bash trainer/gpu_check.sh FRAMES_DIR [OUT_DIR] [DATASET_DIR]
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
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, onnx, onnxruntime; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'bf16', torch.cuda.is_bf16_supported(), 'onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)"
timeout 120 python3 -m pytest trainer/tests/test_loss.py trainer/tests/test_cuda_graph.py -q -rA -p no:cacheprovider \
  2>&1 | tee "$out/pytest-cuda-step.log"
for graphs in off on; do
  for batch in 8 32; do
    timeout 120 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 320 --batch $batch --steps 30 --cuda-graphs $graphs \
      2>&1 | tee -a "$out/bench-gpu.log"
  done
done
if [ -n "$data" ]; then
  timeout 300 python3 trainer/gpu_e2e.py --data "$data" --weights "$weights" --out /tmp/gpu-e2e 2>&1 | tee "$out/e2e.log"
fi
timeout 300 python3 -m pytest trainer/tests/test_data.py trainer/tests/test_train.py -q -rA -p no:cacheprovider \
  2>&1 | tee "$out/pytest-cuda.log"
timeout 120 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 320 --batch 32 --steps 30 --amp bf16 \
  2>&1 | tee -a "$out/bench-gpu.log"
timeout 120 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 512 --batch 64 --steps 20 --workers 8 \
  2>&1 | tee -a "$out/bench-gpu.log"
