"""ONNX export of the end-to-end detector with a parity check against PyTorch."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .decode import EndToEnd
from .tfjs_graph import TfjsGraphNet


def parity_inputs(imgsz: int, n: int = 3, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xs = []
    for i in range(n):
        low = torch.rand(1, 3, max(imgsz // 16, 2), max(imgsz // 16, 2), generator=g)
        smooth = F.interpolate(low, size=(imgsz, imgsz), mode="bilinear", align_corners=False)
        noise = torch.rand(1, 3, imgsz, imgsz, generator=g)
        xs.append(((0.8 * smooth + 0.2 * noise) * 255.0).float())
    return xs


def export_onnx(net: TfjsGraphNet, classes: list[str], imgsz: int, out: str, extra_inputs: list[torch.Tensor] | None = None,
                tol: float = 1e-3, log: Any = None) -> dict[str, Any]:
    """Export `net` + decode to `out` (atomic). Raises RuntimeError when ONNX and PyTorch disagree."""
    import onnx
    import onnxruntime as ort

    log = log or (lambda m: print(m, file=sys.stderr))
    if imgsz % 32 != 0:
        raise ValueError(f"imgsz must be a multiple of 32, got {imgsz}")
    model = EndToEnd(net.cpu().float().eval())
    dummy = torch.zeros(1, 3, imgsz, imgsz)
    tmp = f"{out}.tmp{os.getpid()}.onnx"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (dummy,), tmp, input_names=["images"], output_names=["detections"],
                          opset_version=17, do_constant_folding=True, dynamo=False)
    m = onnx.load(tmp)
    meta = {"classes": list(classes), "imgsz": int(imgsz), "layout": "e2e", "input": "images",
            "inputFormat": "RGB float32 0..255 NCHW [1,3,S,S], frame stretch-resized to SxS",
            "output": "detections", "outputFormat": "[1,100,6] x1,y1,x2,y2 (input pixels),score,class"}
    del m.metadata_props[:]
    p = m.metadata_props.add()
    p.key, p.value = "autotuner", json.dumps(meta)
    onnx.save(m, tmp)
    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    xs = parity_inputs(imgsz) + list(extra_inputs or [])
    max_score = 0.0
    max_box = 0.0
    for x in xs:
        with torch.no_grad():
            ref = model(x).numpy()[0]
        got = sess.run(["detections"], {"images": x.numpy()})[0][0]
        max_score = max(max_score, float(np.abs(np.sort(ref[:, 4]) - np.sort(got[:, 4])).max()))
        # boxes: compare rows whose score is unambiguous (top-k tie order may differ)
        s = ref[:, 4]
        gap = np.minimum(np.abs(np.diff(s, prepend=np.inf)), np.abs(np.diff(s, append=-np.inf)))
        ok = (gap > 1e-4) & (np.abs(ref[:, 4] - got[:, 4]) < 1e-4)
        if ok.any():
            max_box = max(max_box, float(np.abs(ref[ok, :4] - got[ok, :4]).max()))
    log(f"onnx parity {os.path.basename(out)}: max |score diff| {max_score:.3g}, max |box diff| {max_box:.3g} px "
        f"over {len(xs)} inputs")
    if not max_score <= tol:
        os.remove(tmp)
        raise RuntimeError(f"ONNX parity check failed: max score diff {max_score} > {tol}")
    os.replace(tmp, out)
    return {"maxScoreDiff": max_score, "maxBoxDiff": max_box, "inputs": len(xs)}


def time_onnx(path: str, imgsz: int, runs: int = 20) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = parity_inputs(imgsz, 1)[0].numpy()
    for _ in range(3):
        sess.run(None, {"images": x})
    t = time.perf_counter()
    for _ in range(runs):
        sess.run(None, {"images": x})
    return (time.perf_counter() - t) / runs * 1000.0
