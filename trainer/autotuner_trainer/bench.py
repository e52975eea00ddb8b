"""Training throughput: bare PyTorch loop vs this trainer's real step path (same process)."""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any, Callable

import torch

from .data import DetectionDataset, EpochSampler, InMemoryDataset, batch_images, read_dataset, synthetic_frames
from .errors import BadInput
from .loss import centernet_loss
from .train import AMP_CHOICES, CUDA_GRAPH_CHOICES, TrainStep, make_loader, make_optimizer, resolve_device, seed_all, to_training_layout


def add_bench_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None)
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--init", default=None, help="tfjs model.json or .pt (default: random init, with a warning)")
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--workers", type=int, default=-1)
    p.add_argument("--amp", default="auto", choices=AMP_CHOICES)
    p.add_argument("--cuda-graphs", default="off", choices=CUDA_GRAPH_CHOICES)


def build_net(init: str | None, classes: list[str]):  # noqa: ANN201
    from .model_io import load_init

    if init:
        net, _, _ = load_init(init, classes)
        return net
    raise BadInput("bench needs --init (the tfjs centernet.json or a .pt)")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(net: torch.nn.Module, ds: DetectionDataset, device: torch.device, batch: int, steps: int, warmup: int,
          workers: int, amp_mode: str = "auto", cuda_graphs: str = "off") -> dict[str, float | str | bool]:
    to_training_layout(net, device).train()
    # (a) bare loop: one fixed batch already on the device, no data pipeline
    items = [ds[i % len(ds)] for i in range(batch)]
    fixed = {k: torch.stack([it[k] for it in items]).to(device) for k in items[0]}
    fixed_images = batch_images(fixed)  # augmented once: the bare loop has no data pipeline at all
    opt, _ = make_optimizer(net, 1e-5, 1000, fused=device.type == "cuda")
    amp = TrainStep(net, opt, device, amp_mode)  # same AMP policy for fairness
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with amp.autocast():
            logits, wh = net(fixed_images)
        loss, _ = centernet_loss(logits, wh, fixed)
        if amp.scaler is not None:
            amp.scaler.scale(loss).backward()
            amp.scaler.step(opt)
            amp.scaler.update()
        else:
            loss.backward()
            opt.step()
    _sync(device)
    bare = steps * batch / (time.perf_counter() - t0)
    # (b) trainer path: DataLoader + augmentation + targets + TrainStep (AMP, clipping, NaN check)
    opt2, _ = make_optimizer(net, 1e-5, 1000, fused=device.type == "cuda")
    step_fn = TrainStep(net, opt2, device, amp_mode, cuda_graphs)
    sampler = EpochSampler(len(ds), 0)
    loader = make_loader(ds, batch, workers, device, sampler)
    pending: list[torch.Tensor] = []

    def train_step(b: dict[str, torch.Tensor]) -> None:
        loss = step_fn(step_fn.to_device(b))
        if pending and not torch.isfinite(pending.pop()):  # checked one step late, as the trainer does
            raise BadInput("non-finite loss in bench")
        pending.append(loss)

    trainer = steps * batch / _timed_batches(loader, ds, sampler, device, warmup, steps, train_step)
    if pending and not torch.isfinite(pending.pop()):
        raise BadInput("non-finite loss in bench")
    # (c) the data pipeline alone (batches to the device + augmentation, no model): when the trainer
    # path is slow, this says whether the input side or the step is the limit
    loader_rate = steps * batch / _timed_batches(loader, ds, sampler, device, warmup, steps,
                                                 lambda b: batch_images(step_fn.to_device(b)))
    return {"bareImgPerSec": bare, "trainerImgPerSec": trainer, "ratio": trainer / bare,
            "loaderImgPerSec": loader_rate, "amp": step_fn.amp_name, "cudaGraphs": step_fn.graphed is not None}


def _timed_batches(loader: Any, ds: DetectionDataset, sampler: EpochSampler, device: torch.device, warmup: int,
                   steps: int, fn: Callable[[dict[str, torch.Tensor]], object]) -> float:
    """Seconds `fn` takes over `steps` loader batches after `warmup` untimed ones (epochs roll over)."""
    done, epoch, t0 = 0, 0, 0.0
    while done < warmup + steps:
        ds.set_epoch(epoch)
        sampler.set_epoch(epoch)
        for b in loader:
            if done == warmup:
                _sync(device)
                t0 = time.perf_counter()
            fn(b)
            done += 1
            if done >= warmup + steps:
                break
        epoch += 1
    _sync(device)
    return time.perf_counter() - t0


def run_bench(a: argparse.Namespace) -> int:
    device = resolve_device(a.device)
    seed_all(0)
    if a.data and not a.synthetic:
        classes, train, _ = read_dataset(a.data)
        ds: DetectionDataset = DetectionDataset(train, len(classes), a.imgsz, train=True)
    else:
        classes = ["person"]
        imgs, labels = synthetic_frames(max(4 * a.batch, 16), a.imgsz)
        ds = InMemoryDataset(imgs, labels, 1, a.imgsz, train=True)
    net = build_net(a.init or _default_init(), classes)
    workers = a.workers if a.workers >= 0 else (4 if device.type == "cuda" else 0)
    res = bench(net, ds, device, a.batch, a.steps, a.warmup, workers, a.amp, a.cuda_graphs)
    res.update({"device": device.type, "imgsz": a.imgsz, "batch": a.batch})
    print(json.dumps(res), flush=True)
    return 0


def _default_init() -> str | None:
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    cand = os.path.join(here, "..", "..", "node_modules", "@vladmandic", "human", "models", "centernet.json")
    if os.path.isfile(cand):
        return os.path.normpath(cand)
    warnings.warn("centernet.json not found")
    return None

