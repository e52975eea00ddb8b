"""Training loop implementing the DESIGN "Trainer" contract."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import sys
import time
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader

from .cuda_graph import GraphedBatchLoss
from .data import DetectionDataset, EpochSampler, batch_images, read_dataset
from .errors import BadInput
from .loss import centernet_loss
from .model_io import atomic_save, load_init, model_payload
from .tfjs_graph import TfjsGraphNet


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class ProgressEvents:
    """`progress` events inside an epoch, at most one per `every` seconds: an epoch can take minutes
    (a big sample on a CPU, the first epoch on a GPU), and the worker's heartbeat, the CLI's progress
    line and the stall watchdog would otherwise hear nothing until it ends. Counts and wall time only:
    reading the loss here would wait for the GPU."""

    def __init__(self, epochs: int, every: float) -> None:
        self.epochs, self.every = epochs, every
        self.last = time.perf_counter()

    def step(self, epoch: int, phase: str, step: int, steps: int, images: int, seconds: float | None) -> None:
        now = time.perf_counter()
        if now - self.last < self.every:
            return
        self.last = now
        ev: dict[str, Any] = {"event": "progress", "epoch": epoch + 1, "epochs": self.epochs, "phase": phase,
                              "step": step, "steps": steps, "images": images}
        if seconds is not None:
            ev["imgPerSec"] = images / max(seconds, 1e-9)
        emit(ev)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif name == "cuda" and not torch.cuda.is_available():
        raise BadInput("--device cuda requested but CUDA is not available")
    else:
        device = torch.device(name)
    if device.type == "cuda":
        # Input sizes never change within a run: let cuDNN pick the fastest conv algorithms once.
        # (GPU runs are not bit-reproducible anyway; CPU runs, which the tests check, are.)
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = True  # fp32 training on tensor cores (10-bit mantissa products)
        torch.backends.cuda.matmul.allow_tf32 = True
    return device


def to_training_layout(net: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The net on `device` in channels-last memory: oneDNN (CPU) and cuDNN (tensor cores) convolve
    NHWC without layout conversions. The student trained 15-24 % faster on CPU this way (measured);
    the weights' values, checkpoints and exports are unchanged."""
    return net.to(device).to(memory_format=torch.channels_last)


def make_deterministic() -> None:
    """Bit-reproducible runs on CUDA too (same seed + data -> same weights, resume == straight run),
    at some speed cost: no cuDNN autotuning, deterministic kernels only. CPU runs already are."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS starts
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    # warn_only: an op with no deterministic kernel warns (stderr) instead of failing the training
    torch.use_deterministic_algorithms(True, warn_only=True)


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


AMP_CHOICES = ("auto", "off", "bf16", "fp16")


def resolve_amp(name: str, device: torch.device) -> torch.dtype | None:
    """Mixed-precision dtype. auto = off everywhere: on CUDA that is fp32 with TF32 tensor cores, which
    trained the CenterNet student faster than bf16 autocast on an H100 (320 px, batch 32, bare loop:
    923-1044 vs 731-759 img/s): the model is small, and autocast's per-step weight casts cost more than
    the narrower math saves. bf16 (or fp16 + loss scaling) stays one flag away for bigger inputs.

    bf16/fp16 can be forced on CPU too (autocast on CPU is real: AMX CPUs gain from bf16, and
    tests run the fp16 + GradScaler path, the one older GPUs take, without a GPU)."""
    if name not in AMP_CHOICES:
        raise BadInput(f"--amp must be one of {', '.join(AMP_CHOICES)}, got {name!r}")
    if name == "off":
        return None
    if name == "bf16":
        return torch.bfloat16
    if name == "fp16":
        return torch.float16
    return None


CUDA_GRAPH_CHOICES = ("off", "on")


def resolve_cuda_graphs(name: str, device: torch.device, amp_dtype: torch.dtype | None) -> bool:
    """Experimental, off by default: not yet verified on a GPU (trainer/README.md, "On a GPU"). `on` takes
    effect on CUDA only, and not with fp16 (its loss scaling keeps the eager step). Why: cuda_graph.py."""
    if name not in CUDA_GRAPH_CHOICES:
        raise BadInput(f"--cuda-graphs must be one of {', '.join(CUDA_GRAPH_CHOICES)}, got {name!r}")
    if name == "on" and (device.type != "cuda" or amp_dtype == torch.float16):
        log(f"--cuda-graphs on: ignored on {device.type}{' with fp16' if amp_dtype == torch.float16 else ''}; "
            "the step runs eagerly")
        return False
    return name == "on"


class TrainStep:
    """One optimizer step, under autocast when AMP is on (fp16 adds a GradScaler)."""

    def __init__(self, net: TfjsGraphNet, opt: torch.optim.Optimizer, device: torch.device, amp: str = "auto",
                 cuda_graphs: str = "off") -> None:
        self.net, self.opt, self.device = net, opt, device
        self.amp_dtype = resolve_amp(amp, device)
        # fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none
        self.scaler: torch.amp.GradScaler | None = (
            torch.amp.GradScaler(device.type) if self.amp_dtype == torch.float16 else None)
        self.graphed: GraphedBatchLoss | None = None
        if resolve_cuda_graphs(cuda_graphs, device, self.amp_dtype):
            self.graphed = GraphedBatchLoss(net, self.amp_dtype)

    @property
    def amp_name(self) -> str:
        return {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.amp_dtype]

    def autocast(self) -> Any:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def scaler_state(self) -> dict[str, Any] | None:
        """Checkpointed with the optimizer: a resumed fp16 run continues with the same loss scale."""
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_scaler_state(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        nb = self.device.type == "cuda"
        return {k: v.to(self.device, non_blocking=nb) for k, v in batch.items()}

    def __call__(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=True)
        loss = self.graphed(batch) if self.graphed is not None else None
        if loss is not None:
            loss = loss.clone()  # the graph's output buffer is rewritten by the next replay
        else:
            with self.autocast():
                logits, wh = self.net(batch_images(batch))
            loss, _ = centernet_loss(logits, wh, batch)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.opt)
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 10.0)
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.net.parameters(), 10.0)
            self.opt.step()
        return loss.detach()

    @torch.no_grad()
    def eval_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        with self.autocast():
            logits, wh = self.net(batch_images(batch))
        loss, _ = centernet_loss(logits, wh, batch)
        return loss.detach()


def make_optimizer(net: TfjsGraphNet, lr: float, total_steps: int,
                   fused: bool = False) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW + per-step warmup/cosine. fused (CUDA): each parameter group's update in one kernel instead
    of a multi-tensor launch per operation; same arithmetic, and the state dict has the same entries
    (checkpoints move between fused and unfused runs, tested)."""
    decay = [p for p in net.parameters() if p.ndim > 1]
    no_decay = [p for p in net.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), **({"fused": True} if fused else {}))
    min_ratio = 0.05
    warmup = max(1, min(200, total_steps // 10))

    def cosine(step: int) -> float:  # per optimizer step: linear warmup then cosine decay
        if step < warmup:
            return (step + 1) / warmup
        frac = min(step - warmup, total_steps - warmup) / max(total_steps - warmup, 1)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, cosine)


def make_loader(ds: DetectionDataset, batch: int, workers: int, device: torch.device, sampler: Any = None) -> DataLoader:
    return DataLoader(ds, batch_size=batch, sampler=sampler, shuffle=False, num_workers=workers,
                      pin_memory=device.type == "cuda", drop_last=False,
                      # workers live across epochs: respawning them each (short) epoch halved throughput
                      persistent_workers=workers > 0)


def checked_loss(loss: torch.Tensor, step: int, batch_size: int, epoch: int, lr: float) -> float:
    """The step's summed loss (loss x batch size), or a clear error when it is not finite."""
    lv = float(loss)
    if not math.isfinite(lv):
        raise BadInput(f"non-finite training loss ({lv}) at epoch {epoch + 1} step {step + 1}; "
                       f"try a lower --lr (now {lr})")
    return lv * batch_size


def add_train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True)
    p.add_argument("--init", required=True, help="tfjs model.json (COCO CenterNet) or a trainer checkpoint .pt")
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", default="auto", choices=AMP_CHOICES,
                   help="mixed precision: auto = fp32 (TF32 on CUDA); bf16, or fp16 + loss scaling, on request")
    p.add_argument("--cuda-graphs", default="off", choices=CUDA_GRAPH_CHOICES,
                   help="experimental: replay each full batch's forward+backward from a CUDA graph (CUDA, not fp16)")
    p.add_argument("--cudnn-benchmark", default="auto", choices=["auto", "off"],
                   help="cuDNN autotuning (auto: on CUDA unless --deterministic); off to measure what it costs a run")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--deterministic", action="store_true",
                   help="bit-reproducible on CUDA too (no cuDNN autotuning, deterministic kernels; slower)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=-1, help="DataLoader workers (-1: 0 on cpu, 4 on cuda)")
    p.add_argument("--patience", type=int, default=10, help="early stop after N epochs without val improvement")
    p.add_argument("--stop-after", type=int, default=0, help=argparse.SUPPRESS)  # tests: simulate a crash
    p.add_argument("--progress-seconds", type=float, default=2.0,
                   help="at most one 'progress' event (step within the epoch) per this many seconds")


def run_train(a: argparse.Namespace) -> int:
    if a.epochs < 1:
        raise BadInput("--epochs must be >= 1")
    if a.imgsz % 32 != 0 or a.imgsz < 64:
        raise BadInput("--imgsz must be a multiple of 32 (>= 64)")
    device = resolve_device(a.device)
    if getattr(a, "cudnn_benchmark", "auto") == "off":
        torch.backends.cudnn.benchmark = False
    if getattr(a, "deterministic", False):
        make_deterministic()
    classes, train_frames, val_frames = read_dataset(a.data)
    os.makedirs(a.out, exist_ok=True)
    last_path = os.path.join(a.out, "last.pt")
    best_path = os.path.join(a.out, "best.pt")
    state: dict[str, Any] | None = None
    if a.resume and os.path.isfile(last_path):
        state = torch.load(last_path, map_location="cpu", weights_only=False)
        if list(state["classes"]) != list(classes) or int(state["imgsz"]) != a.imgsz:
            raise BadInput("--resume: checkpoint classes/imgsz differ from this dataset/--imgsz")
        net, _, _ = load_init(last_path)
    else:
        if a.resume:
            log(f"--resume: {last_path} not found, starting from --init")
        net, _, _ = load_init(a.init, classes)
    seed_all(a.seed)
    to_training_layout(net, device)
    steps_per_epoch = math.ceil(len(train_frames) / a.batch)
    opt, sched = make_optimizer(net, a.lr, a.epochs * steps_per_epoch, fused=device.type == "cuda")
    start_epoch, best_val, best_epoch, bad_epochs = 0, math.inf, -1, 0
    if state is not None:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch = int(state["epoch"])
        best_val, best_epoch, bad_epochs = float(state["best_val"]), int(state["best_epoch"]), int(state["bad_epochs"])
        torch.set_rng_state(state["rng"]["torch"])
        if device.type == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"])
        random.setstate(state["rng"]["python"])
    workers = a.workers if a.workers >= 0 else (4 if device.type == "cuda" else 0)
    train_ds = DetectionDataset(train_frames, len(classes), a.imgsz, train=True, seed=a.seed)
    if val_frames:
        val_ds = DetectionDataset(val_frames, len(classes), a.imgsz, train=False, seed=a.seed)
    else:
        log("no val frames: early stopping uses the (un-augmented) training frames")
        val_ds = DetectionDataset(train_frames, len(classes), a.imgsz, train=False, seed=a.seed)
    sampler = EpochSampler(len(train_ds), a.seed)
    loader = make_loader(train_ds, a.batch, workers, device, sampler)
    val_loader = make_loader(val_ds, a.batch, 0, device)
    step_fn = TrainStep(net, opt, device, getattr(a, "amp", "auto"), getattr(a, "cuda_graphs", "off"))
    if state is not None:
        step_fn.load_scaler_state(state.get("scaler"))
    progress = ProgressEvents(a.epochs, getattr(a, "progress_seconds", 2.0))
    emit({"event": "start", "epochs": a.epochs, "startEpoch": start_epoch, "device": device.type, "amp": step_fn.amp_name,
          "cudaGraphs": step_fn.graphed is not None,
          "trainImages": len(train_ds), "valImages": len(val_frames), "classes": classes, "imgsz": a.imgsz})
    epochs_this_run = 0
    for epoch in range(start_epoch, a.epochs):
        if best_epoch >= 0 and bad_epochs >= a.patience:
            break
        t0 = time.perf_counter()
        train_ds.set_epoch(epoch)
        sampler.set_epoch(epoch)
        net.train()
        total, n_img = 0.0, 0
        lr = opt.param_groups[0]["lr"]
        # A step's loss is read (a GPU sync) only after the next step is queued, so the GPU never idles
        # waiting for the NaN check; a non-finite loss still stops the run, naming its step.
        pending: tuple[torch.Tensor, int, int] | None = None
        for step, batch in enumerate(loader):
            batch = step_fn.to_device(batch)
            loss = step_fn(batch)
            sched.step()
            if pending is not None:
                total += checked_loss(*pending, epoch, a.lr)
            pending = (loss, step, int(batch["image"].shape[0]))
            n_img += pending[2]
            progress.step(epoch, "train", step + 1, steps_per_epoch, n_img, time.perf_counter() - t0)
        if pending is not None:
            total += checked_loss(*pending, epoch, a.lr)
        train_time = time.perf_counter() - t0
        net.eval()
        vt, vn = 0.0, 0
        for vstep, batch in enumerate(val_loader):
            batch = step_fn.to_device(batch)
            vt += float(step_fn.eval_loss(batch)) * int(batch["image"].shape[0])
            vn += int(batch["image"].shape[0])
            progress.step(epoch, "val", vstep + 1, len(val_loader), vn, None)
        val_loss = vt / max(vn, 1)
        if not math.isfinite(val_loss):
            raise BadInput(f"non-finite validation loss at epoch {epoch + 1}")
        improved = val_loss < best_val
        if improved:
            best_val, best_epoch, bad_epochs = val_loss, epoch + 1, 0
            atomic_save(dict(model_payload(net, classes, a.imgsz), epoch=epoch + 1, valLoss=val_loss), best_path)
        else:
            bad_epochs += 1
        ck = model_payload(net, classes, a.imgsz)
        ck.update({"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "scaler": step_fn.scaler_state(),
                   "epoch": epoch + 1,
                   "best_val": best_val, "best_epoch": best_epoch, "bad_epochs": bad_epochs,
                   "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                           "cuda": torch.cuda.get_rng_state() if device.type == "cuda" else None},
                   "args": {k: v for k, v in vars(a).items() if k != "func"}})
        atomic_save(ck, last_path)
        emit({"event": "epoch", "epoch": epoch + 1, "epochs": a.epochs, "loss": total / max(n_img, 1),
              "valLoss": val_loss, "lr": lr, "imgPerSec": n_img / max(train_time, 1e-9),
              "seconds": time.perf_counter() - t0, "best": improved})
        epochs_this_run += 1
        if a.stop_after and epochs_this_run >= a.stop_after:
            log(f"--stop-after {a.stop_after}: stopping without export")
            return 0
    if not os.path.isfile(best_path):
        raise BadInput("no best checkpoint was written (no epoch completed)")
    from .export import export_onnx

    best_net, best_classes, best_ck = load_init(best_path)
    onnx_path = os.path.join(a.out, "model.onnx")
    parity = export_onnx(best_net, best_classes, a.imgsz, onnx_path, log=log)
    emit({"event": "done", "onnx": onnx_path, "checkpoint": best_path,
          "metrics": {"valLoss": best_val, "bestEpoch": best_epoch, "epochs": epoch + 1 if a.epochs else 0,
                      "onnxMaxScoreDiff": parity["maxScoreDiff"]}})
    return 0
