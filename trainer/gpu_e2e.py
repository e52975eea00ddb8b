#!/usr/bin/env python3
"""Whole trainer runs on a GPU, timed: what a `train` activity costs there, start-up and first epoch
included (where the bench's steady-state rates say nothing). Each variant is one real `train` CLI
process on DATASET (a dataset tree, e.g. a demo run's `.autotuner/artifacts/trees/<hash>`); every
stdout event is stamped with seconds since the process started. One JSON line per variant.

  python3 trainer/gpu_e2e.py --data DATASET --weights centernet.json [--epochs 12] [VARIANT ...]

Variants: eager (the default step), graphs (--cuda-graphs on), eager-nobench and graphs-nobench (the
same with --cudnn-benchmark off: how much of the first epoch is cuDNN autotuning).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = {
    "eager": [], "graphs": ["--cuda-graphs", "on"],
    "eager-nobench": ["--cudnn-benchmark", "off"], "graphs-nobench": ["--cuda-graphs", "on", "--cudnn-benchmark", "off"],
}


def run(variant: str, a: argparse.Namespace) -> dict[str, object]:
    extra = VARIANTS[variant]
    out = os.path.join(a.out, f"e2e-{variant}")
    cmd = [sys.executable, "-m", "autotuner_trainer", "train", "--data", a.data, "--init", a.weights, "--out", out, "--epochs",
           str(a.epochs), "--imgsz", str(a.imgsz), "--batch", str(a.batch), "--device", a.device,
           "--progress-seconds", "0", *extra]  # every step stamped: where the first epoch's time goes
    t0 = time.perf_counter()
    with open(out + ".err", "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                             env=dict(os.environ, PYTHONPATH=HERE))
        assert p.stdout is not None
        events = []
        for line in p.stdout:
            if line.strip():
                e = json.loads(line)
                e["_t"] = round(time.perf_counter() - t0, 2)
                events.append(e)
        rc = p.wait()
    epochs = [e for e in events if e["event"] == "epoch"]
    first = [e["_t"] for e in events if e["event"] == "progress" and e["epoch"] == 1]
    return {"variant": variant, "rc": rc, "wall": round(time.perf_counter() - t0, 2),
            "startAt": events[0]["_t"] if events else None,
            # epoch 1, train then validation steps: cuDNN autotuning shows as slow first steps of each shape
            "epoch1StepsAt": first, "epochDoneAt": [e["_t"] for e in epochs],
            "epochSeconds": [round(e["seconds"], 2) for e in epochs], "imgPerSec": [round(e["imgPerSec"]) for e in epochs],
            "valLoss": [round(e["valLoss"], 4) for e in epochs], "last": events[-1]["event"] if events else None,
            "cudaGraphs": events[0].get("cudaGraphs") if events else None}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--weights", required=True, help="tfjs centernet.json (with its .bin)")
    p.add_argument("--out", default="/tmp/gpu-e2e")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cuda")
    p.add_argument("variants", nargs="*", help=f"any of {', '.join(VARIANTS)} (default: all, in that order)")
    a = p.parse_args()
    # (argparse checks a nargs='*' default against `choices` as one value, so the check is here)
    unknown = [v for v in a.variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}")
    a.variants = a.variants or ["eager-nobench", "graphs-nobench", "eager", "graphs"]
    os.makedirs(a.out, exist_ok=True)
    for v in a.variants:
        print(json.dumps(run(v, a)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
