"""Execute a TensorFlow.js graph model (the MobileNetV3 CenterNet of @vladmandic/human) in PyTorch.

The graph is run op by op in NCHW; conv weights/biases become trainable ``nn.Parameter``s. The
graph is cut before the post-processing (max-pool peaks + top-k): ``forward`` returns
``(heatmap_logits [B,C,H/4,W/4], wh [B,4,H/4,W/4])`` where ``wh`` are the (left, top, right,
bottom) distances in input pixels from the cell's anchor point ``(4*x, 4*y)``.

Fixed 512x512 shapes inside the graph (resize targets) are rescaled to the actual input size, so the
network runs at any input that is a multiple of 32.
"""

from __future__ import annotations

import base64
import json
import math
import os
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CLS_OUT = "tower_0/CenternetHead/centernet_cls_output/BiasAdd"
WH_OUT = "tower_0/mul"
CLS_W = "CenternetHead/centernet_cls_output/pointwise_weights"
CLS_B = "CenternetHead/centernet_cls_output/biases"
CONV_OPS = {"_FusedConv2D", "Conv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"}
NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2}

Spec = dict[str, Any]


def _attr(node: dict[str, Any], key: str) -> Any:
    a = node.get("attr", {}).get(key)
    if a is None:
        return None
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "b" in a:
        return bool(a["b"])
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        return []
    return None


def read_tfjs(json_path: str, random_if_missing: bool = False) -> tuple[Spec, dict[str, np.ndarray]]:
    """Parse model.json + weight shards. Returns (spec, consts in TF layout).

    random_if_missing: when the .bin shard is absent, use random float weights (benchmarks only) and
    the known int consts of this CenterNet graph (Mean axes [1,2], concat axis 3, 2x resizes).
    """
    with open(json_path) as f:
        model = json.load(f)
    base = os.path.dirname(os.path.abspath(json_path))
    consts: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        paths = [os.path.join(base, p) for p in group["paths"]]
        if random_if_missing and not all(os.path.isfile(p) for p in paths):
            rng = np.random.default_rng(0)
            for w in group["weights"]:
                shape = [int(s) for s in w["shape"]]
                name = w["name"]
                if w["dtype"] == "int32":
                    if name.endswith("reduction_indices"):
                        consts[name] = np.array([1, 2], np.int32)
                    elif name.endswith("axis"):
                        consts[name] = np.array(3, np.int32)
                    else:
                        consts[name] = np.zeros(shape, np.int32)  # resize sizes: 0 means 2x (see forward)
                elif not shape:
                    consts[name] = np.array(3.0 if "add/y" in name else (16.0 if name == "tower_0/mul/y" else 1 / 6),
                                            np.float32)
                else:
                    fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
                    consts[name] = (rng.standard_normal(shape) * (1.0 / np.sqrt(max(fan_in, 1)))
                                    if len(shape) > 1 else np.zeros(shape)).astype(np.float32)
            continue
        buf = b"".join(open(p, "rb").read() for p in paths)
        off = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q:
                qd = q["dtype"]
                if qd == "float16":
                    arr = np.frombuffer(buf, np.float16, n, off).astype(np.float32)
                    off += 2 * n
                elif qd in ("uint8", "uint16"):
                    dt = np.uint8 if qd == "uint8" else np.uint16
                    raw = np.frombuffer(buf, dt, n, off).astype(np.float32)
                    off += np.dtype(dt).itemsize * n
                    arr = raw * float(q["scale"]) + float(q["min"])
                else:
                    raise ValueError(f"unsupported quantization {qd}")
            else:
                dt = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
                arr = np.frombuffer(buf, dt, n, off).copy()
                off += 4 * n
            consts[w["name"]] = arr.reshape(shape)
    nodes = model["modelTopology"]["node"]
    by_name = {n["name"]: n for n in nodes}
    # keep only the part of the graph needed for the two raw head outputs
    needed: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = name.split(":")[0].lstrip("^")
        if name in seen:
            return
        seen.add(name)
        node = by_name[name]
        for i in node.get("input", []):
            visit(i)
        needed.append(name)

    visit(CLS_OUT)
    visit(WH_OUT)
    input_node = next(n for n in nodes if n["op"] == "Placeholder")
    dims = [int(d["size"]) for d in input_node["attr"]["shape"]["shape"]["dim"]]
    ops: list[dict[str, Any]] = []
    for name in needed:
        node = by_name[name]
        if node["op"] in ("Const", "Placeholder"):
            continue
        attrs = {}
        for key in ("strides", "padding", "fused_ops", "dilations", "keep_dims", "align_corners",
                    "half_pixel_centers"):
            v = _attr(node, key)
            if v is not None:
                attrs[key] = v
        ops.append({"name": name, "op": node["op"], "inputs": [i.split(":")[0] for i in node.get("input", [])],
                    "attrs": attrs})
    used = {i for o in ops for i in o["inputs"]}
    consts = {k: v for k, v in consts.items() if k in used}
    spec: Spec = {"format": "tfjs-centernet-v1", "input": input_node["name"], "ref_size": dims[1],
                  "ops": ops, "classes_index": None}
    return spec, consts


def _param_key(name: str) -> str:
    return name.replace("/", "__").replace(".", "_")


def _to_torch_layout(name: str, arr: np.ndarray, role: str) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    if role == "conv":  # HWIO -> OIHW
        return t.permute(3, 2, 0, 1).contiguous()
    if role == "dw":  # HWC1 -> C1HW (multiplier 1)
        h, w, c, m = t.shape
        return t.permute(2, 3, 0, 1).reshape(c * m, 1, h, w).contiguous()
    return t


def consts_to_tensors(spec: Spec, consts: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], Spec]:
    """Convert TF consts to torch tensors; records the role of each const in spec['consts']."""
    roles: dict[str, str] = {}
    for o in spec["ops"]:
        if o["op"] in CONV_OPS:
            roles[o["inputs"][1]] = "dw" if "Depthwise" in o["op"] else "conv"
            for b in o["inputs"][2:]:
                roles[b] = "bias"
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for name, arr in consts.items():
        role = roles.get(name)
        if role is not None:
            tensors[name] = _to_torch_layout(name, arr, role)
            meta[name] = {"kind": "param", "role": role}
        elif arr.dtype == np.int32:
            meta[name] = {"kind": "int", "value": arr.tolist()}
        else:
            tensors[name] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
            meta[name] = {"kind": "buffer"}
    spec = dict(spec)
    spec["consts"] = meta
    spec["num_classes"] = int(tensors[CLS_B].shape[0])
    return tensors, spec


def slice_classes(tensors: dict[str, torch.Tensor], spec: Spec, index: list[int]) -> tuple[dict[str, torch.Tensor], Spec]:
    """Keep only the given output channels of the class head (in that order)."""
    idx = torch.tensor(index, dtype=torch.long)
    tensors = dict(tensors)
    tensors[CLS_W] = tensors[CLS_W].index_select(0, idx).clone()
    tensors[CLS_B] = tensors[CLS_B].index_select(0, idx).clone()
    spec = dict(spec)
    spec["num_classes"] = len(index)
    return tensors, spec


def _same_pad(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    eff = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


_RESIZE_TABLES: dict[tuple[int, int, int, int, str, torch.dtype], tuple[torch.Tensor, ...]] = {}


def _resize_tables(in_h: int, in_w: int, out_h: int, out_w: int, device: torch.device,
                   dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    """Source rows/columns and weights of a resize, made once per shape and device: copying them from the
    host on every forward waited for the GPU each time (and cannot be recorded in a CUDA graph)."""
    key = (in_h, in_w, out_h, out_w, str(device), dtype)
    if key not in _RESIZE_TABLES:
        def axis(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            src = np.arange(n_out, dtype=np.float64) * (n_in / n_out)
            i0 = np.floor(src).astype(np.int64)
            i0 = np.minimum(i0, n_in - 1)
            i1 = np.minimum(i0 + 1, n_in - 1)
            w = (src - i0).astype(np.float32)
            return torch.from_numpy(i0), torch.from_numpy(i1), torch.from_numpy(w)

        y0, y1, wy = axis(in_h, out_h)
        x0, x1, wx = axis(in_w, out_w)
        _RESIZE_TABLES[key] = (y0.to(device), y1.to(device), x0.to(device), x1.to(device),
                               wy.to(device, dtype).view(1, 1, -1, 1), wx.to(device, dtype).view(1, 1, 1, -1))
    return _RESIZE_TABLES[key]


def resize_bilinear_asymmetric(x: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """TF ResizeBilinear(align_corners=False, half_pixel_centers=False): src = dst * in / out."""
    y0, y1, x0, x1, wy, wx = _resize_tables(int(x.shape[2]), int(x.shape[3]), out_h, out_w, x.device, x.dtype)
    top = x.index_select(2, y0)
    bot = x.index_select(2, y1)
    rows = top + (bot - top) * wy
    left = rows.index_select(3, x0)
    right = rows.index_select(3, x1)
    return left + (right - left) * wx


class TfjsGraphNet(nn.Module):
    """Op-by-op executor of the CenterNet tfjs graph; returns (cls_logits, wh)."""

    def __init__(self, spec: Spec, tensors: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.params = nn.ParameterDict()
        self._buffer_keys: dict[str, str] = {}
        self._ints: dict[str, Any] = {}
        for name, meta in spec["consts"].items():
            key = _param_key(name)
            if meta["kind"] == "int":
                self._ints[name] = meta["value"]
                continue
            t = tensors[name] if tensors is not None else None
            if meta["kind"] == "param":
                if t is None:
                    raise ValueError(f"missing tensor {name}")
                self.params[key] = nn.Parameter(t.clone().float())
            else:
                self.register_buffer("b_" + key, t.clone().float() if t is not None else torch.zeros(()))
                self._buffer_keys[name] = "b_" + key
        self.num_classes = int(spec["num_classes"])
        self.ref_size = int(spec["ref_size"])
        self._program = [self._compile(o) for o in spec["ops"]]

    def _get(self, name: str, env: dict[str, torch.Tensor]) -> torch.Tensor:
        if name in env:
            return env[name]
        key = _param_key(name)
        if key in self.params:
            return self.params[key]
        if name in self._buffer_keys:
            return getattr(self, self._buffer_keys[name])
        raise KeyError(name)

    def _compile(self, o: dict[str, Any]) -> Callable[[dict[str, torch.Tensor]], torch.Tensor]:
        op, ins, at = o["op"], o["inputs"], o["attrs"]
        if op in CONV_OPS:
            stride = at.get("strides", [1, 1, 1, 1])[1]
            dil = at.get("dilations", [1, 1, 1, 1])[1]
            padding = at.get("padding", "VALID")
            fused = at.get("fused_ops", [])
            depthwise = "Depthwise" in op
            has_bias = op.startswith("Fused") or op == "_FusedConv2D"

            def conv(env: dict[str, torch.Tensor]) -> torch.Tensor:
                x = self._get(ins[0], env)
                w = self._get(ins[1], env)
                b = self._get(ins[2], env) if has_bias and len(ins) > 2 else None
                kh, kw = int(w.shape[2]), int(w.shape[3])
                groups = int(x.shape[1]) if depthwise else 1
                pad: int | tuple[int, int] = 0
                if padding == "SAME":
                    ph = _same_pad(int(x.shape[2]), kh, stride, dil)
                    pw = _same_pad(int(x.shape[3]), kw, stride, dil)
                    if ph[0] == ph[1] and pw[0] == pw[1]:
                        pad = (ph[0], pw[0])
                    else:
                        x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
                y = F.conv2d(x, w, b, stride=stride, padding=pad, dilation=dil, groups=groups)
                for f in fused:
                    if f == "Relu":
                        y = F.relu(y)
                    elif f == "Relu6":
                        y = F.relu6(y)
                    elif f != "BiasAdd":
                        raise NotImplementedError(f"fused op {f}")
                return y
            return conv
        if op in ("Mul", "Add", "Sub"):
            fn = {"Mul": torch.mul, "Add": torch.add, "Sub": torch.sub}[op]
            return lambda env: fn(self._get(ins[0], env), self._get(ins[1], env))
        if op == "Relu6":
            return lambda env: F.relu6(self._get(ins[0], env))
        if op == "Relu":
            return lambda env: F.relu(self._get(ins[0], env))
        if op == "Sigmoid":
            return lambda env: torch.sigmoid(self._get(ins[0], env))
        if op == "Identity":
            return lambda env: self._get(ins[0], env)
        if op == "Mean":
            axes = sorted(NHWC_TO_NCHW_AXIS[a] for a in self._ints[ins[1]])
            keep = bool(at.get("keep_dims", False))
            return lambda env: self._get(ins[0], env).mean(dim=axes, keepdim=keep)
        if op == "ConcatV2":
            axis = NHWC_TO_NCHW_AXIS[int(self._ints[ins[-1]])]
            return lambda env: torch.cat([self._get(i, env) for i in ins[:-1]], dim=axis)
        if op == "ResizeBilinear":
            if at.get("align_corners") or at.get("half_pixel_centers"):
                raise NotImplementedError("only legacy asymmetric ResizeBilinear is supported")
            ref_h, ref_w = self._ints[ins[1]]

            def resize(env: dict[str, torch.Tensor]) -> torch.Tensor:
                x = self._get(ins[0], env)
                img_h, img_w = env["__input_hw__"]
                if ref_h == 0:  # unknown (random-init benchmark graph): the head upsamples by 2
                    oh, ow = 2 * int(x.shape[2]), 2 * int(x.shape[3])
                else:
                    oh = ref_h * int(img_h) // self.ref_size
                    ow = ref_w * int(img_w) // self.ref_size
                return resize_bilinear_asymmetric(x, oh, ow)
            return resize
        raise NotImplementedError(f"op {op} ({o['name']})")

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images [B,3,H,W] float RGB 0..255 -> (cls logits [B,C,H/4,W/4], wh [B,4,H/4,W/4])."""
        env: dict[str, Any] = {self.spec["input"]: images, "__input_hw__": (images.shape[2], images.shape[3])}
        for o, fn in zip(self.spec["ops"], self._program):
            env[o["name"]] = fn(env)
        return env[CLS_OUT], env[WH_OUT]


def load_tfjs_model(json_path: str, class_index: list[int] | None = None) -> TfjsGraphNet:
    spec, consts = read_tfjs(json_path)
    tensors, spec = consts_to_tensors(spec, consts)
    if class_index is not None:
        tensors, spec = slice_classes(tensors, spec, class_index)
    return TfjsGraphNet(spec, tensors)
