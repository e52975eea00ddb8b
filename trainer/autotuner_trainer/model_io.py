"""Load a student/teacher network from a tfjs model.json (COCO CenterNet) or a trainer checkpoint."""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

import torch

from .errors import BadInput
from .labels import COCO_CLASSES
from .tfjs_graph import TfjsGraphNet, consts_to_tensors, read_tfjs, slice_classes

CKPT_FORMAT = "autotuner-trainer-v1"


def net_tensors(net: TfjsGraphNet) -> dict[str, torch.Tensor]:
    """Const-name -> tensor (torch layout) for every parameter and float buffer of the net."""
    out: dict[str, torch.Tensor] = {}
    for name, meta in net.spec["consts"].items():
        if meta["kind"] == "int":
            continue
        out[name] = net._get(name, {}).detach().cpu().clone()
    return out


def load_init(path: str, classes: list[str] | None = None) -> tuple[TfjsGraphNet, list[str], dict[str, Any]]:
    """Returns (net, class names of its head, checkpoint dict or {}). Slices the head to `classes`."""
    if not os.path.exists(path):
        raise BadInput(f"init weights not found: {path}")
    ckpt: dict[str, Any] = {}
    if path.endswith(".json"):
        spec, consts = read_tfjs(path)
        tensors, spec = consts_to_tensors(spec, consts)
        names = list(COCO_CLASSES)
        if spec["num_classes"] != len(names):
            names = [f"class{i}" for i in range(spec["num_classes"])]
    elif path.endswith(".pt") or path.endswith(".pth"):
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(ckpt, dict) or ckpt.get("format") != CKPT_FORMAT:
            raise BadInput(f"{path} is not a checkpoint of this trainer")
        spec, tensors, names = ckpt["spec"], ckpt["tensors"], list(ckpt["classes"])
    else:
        raise BadInput(f"unsupported init weights {path} (expected a tfjs model.json or a trainer .pt)")
    if classes is not None and list(classes) != names:
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise BadInput(f"classes {unknown} are unknown to the init weights {os.path.basename(path)}")
        tensors, spec = slice_classes(tensors, spec, [names.index(c) for c in classes])
        names = list(classes)
    return TfjsGraphNet(spec, tensors), names, ckpt


def model_payload(net: TfjsGraphNet, classes: list[str], imgsz: int) -> dict[str, Any]:
    return {"format": CKPT_FORMAT, "spec": net.spec, "tensors": net_tensors(net), "classes": list(classes),
            "imgsz": int(imgsz)}


def atomic_save(obj: Any, path: str) -> None:
    """Checkpoint `obj` at `path` all or nothing: the previous checkpoint there stays whole until the new
    one is on disk. Serialized in memory first (a few tens of MB), so that a failed write is the
    OSError it is (a full disk: ENOSPC, naming `path`), not torch's opaque writer error, and the
    half-written temporary file is removed."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(buf.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise OSError(e.errno, e.strerror, path) from e
