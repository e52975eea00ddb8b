#!/usr/bin/env python3
"""Self-contained GPU training benchmark (needs only Python + PyTorch; no onnx, Node or network).

Carry the `trainer/` folder (this file + autotuner_trainer/) and, for real weights, the tfjs
`centernet.json` + `centernet.bin` pair. Runs the same benchmark as `python -m autotuner_trainer bench
--synthetic`: a bare PyTorch loop vs the trainer's real step path (DataLoader, augmentation, targets,
AMP, grad clipping), printing one JSON line. Takes well under 3 minutes.

  python trainer/bench_gpu.py --weights path/to/centernet.json --imgsz 320 --batch 32 --steps 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from autotuner_trainer.data import InMemoryDataset, synthetic_frames  # noqa: E402
from autotuner_trainer.bench import bench  # noqa: E402
from autotuner_trainer.train import AMP_CHOICES, CUDA_GRAPH_CHOICES, resolve_device, seed_all  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--weights", default=None, help="tfjs centernet.json (with its .bin alongside) or a trainer .pt")
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", default="auto", choices=AMP_CHOICES, help="auto = fp32 (TF32 on CUDA)")
    p.add_argument("--cuda-graphs", default="off", choices=CUDA_GRAPH_CHOICES)
    a = p.parse_args()
    device = resolve_device(a.device)
    seed_all(0)
    from autotuner_trainer.model_io import load_init

    weights = a.weights
    if weights is None:
        cand = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node_modules", "@vladmandic",
                            "human", "models", "centernet.json")
        weights = cand if os.path.isfile(cand) else None
    if weights is None:
        raise SystemExit("need the graph topology: pass --weights centernet.json (the .bin may be missing)")
    if a.weights is None:
        warnings.warn(f"--weights not given, using {weights}")
    bin_missing = weights.endswith(".json") and not os.path.isfile(weights[:-5] + ".bin")
    if bin_missing:
        from autotuner_trainer.tfjs_graph import TfjsGraphNet, consts_to_tensors, read_tfjs, slice_classes

        warnings.warn("weights .bin not found: RANDOM INIT (throughput numbers only)")
        spec, consts = read_tfjs(weights, random_if_missing=True)
        tensors, spec = consts_to_tensors(spec, consts)
        tensors, spec = slice_classes(tensors, spec, [0])
        net = TfjsGraphNet(spec, tensors)
    else:
        net, _, _ = load_init(weights, ["person"])
    imgs, labels = synthetic_frames(max(4 * a.batch, 16), a.imgsz)
    ds = InMemoryDataset(imgs, labels, 1, a.imgsz, train=True)
    res = bench(net, ds, device, a.batch, a.steps, a.warmup, a.workers, a.amp, a.cuda_graphs)
    res.update({"device": device.type, "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
                "imgsz": a.imgsz, "batch": a.batch, "torch": torch.__version__})
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
