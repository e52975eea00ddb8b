"""ONNX export: I/O layout, metadata, parity with PyTorch."""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import torch

from autotuner_trainer.decode import EndToEnd
from autotuner_trainer.model_io import load_init

from conftest import WEIGHTS, frame_tensor, run_cli


def test_export_cli_parity(tmp_path, frames_dir: str) -> None:  # noqa: ANN001
    out = str(tmp_path / "student.onnx")
    rc, ev, err = run_cli("export", "--init", WEIGHTS, "--imgsz", "256", "--classes", "person,car", "--out", out)
    assert rc == 0, err
    assert ev[-1]["maxScoreDiff"] <= 1e-3
    m = onnx.load(out)
    meta = json.loads({p.key: p.value for p in m.metadata_props}["autotuner"])
    assert meta["classes"] == ["person", "car"] and meta["imgsz"] == 256 and meta["layout"] == "e2e"
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    i, o = sess.get_inputs()[0], sess.get_outputs()[0]
    assert (i.name, i.shape, o.name, o.shape) == ("images", [1, 3, 256, 256], "detections", [1, 100, 6])
    x = frame_tensor(os.path.join(frames_dir, "f03.png"), 256)
    got = sess.run(None, {"images": x.numpy()})[0][0]
    net, _, _ = load_init(WEIGHTS, ["person", "car"])
    with torch.no_grad():
        ref = EndToEnd(net.eval())(x)[0].numpy()
    assert np.abs(got[:, 4] - ref[:, 4]).max() < 1e-3
    top = ref[:, 4] > 0.3
    assert top.sum() >= 2 and np.abs(got[top] - ref[top]).max() < 0.05
    assert set(np.unique(got[:, 5]).tolist()) <= {0.0, 1.0}


def test_export_unknown_class(tmp_path) -> None:  # noqa: ANN001
    rc, ev, _ = run_cli("export", "--init", WEIGHTS, "--imgsz", "128", "--classes", "unicorn",
                        "--out", str(tmp_path / "x.onnx"))
    assert rc == 2 and ev[-1]["event"] == "error" and "unicorn" in ev[-1]["message"]
