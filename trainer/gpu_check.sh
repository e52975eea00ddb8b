#!/usr/bin/env bash
# The trainer's CUDA path, checked on a GPU machine that has only Python + CUDA PyTorch (no Node, ffmpeg or
# network): the trainer tests on cuda (deterministic kernels, so resume == straight run still holds) and
# bench_gpu.py under each AMP mode. Run from the repo root with the teacher weights in node_modules/.
#   bash trainer/gpu_check.sh FRAMES_DIR [OUT_DIR]
# FRAMES_DIR: the 10 vtest frames the tests use, made where ffmpeg is:
#   ffmpeg -i vtest.avi -vf 'select=not(mod(n\,40))' -vsync 0 -frames:v 10 FRAMES_DIR/f%02d.png
set -u
frames=$(realpath "${1:?FRAMES_DIR}")
out=${2:-.}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
weights=node_modules/@vladmandic/human/models/centernet.json
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, onnx, onnxruntime; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'bf16', torch.cuda.is_bf16_supported(), 'onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)"
AUTOTUNER_TEST_DEVICE=cuda AUTOTUNER_TEST_FRAMES="$frames" timeout 300 \
  python3 -m pytest trainer/tests/test_data.py trainer/tests/test_train.py -q -rA -p no:cacheprovider 2>&1 | tee "$out/pytest-cuda.log"
for amp in auto off; do
  timeout 120 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 320 --batch 32 --steps 30 --amp "$amp" \
    2>&1 | tee -a "$out/bench-gpu.log"
done
timeout 120 python3 trainer/bench_gpu.py --weights "$weights" --imgsz 512 --batch 64 --steps 20 --workers 8 \
  2>&1 | tee -a "$out/bench-gpu.log"
