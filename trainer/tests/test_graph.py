"""The tfjs graph executor reproduces the COCO CenterNet on a real pedestrian frame."""

from __future__ import annotations

import os

import torch

from autotuner_trainer.decode import decode
from autotuner_trainer.labels import COCO_CLASSES
from autotuner_trainer.tfjs_graph import load_tfjs_model, resize_bilinear_asymmetric

from conftest import WEIGHTS, frame_tensor


def test_labels() -> None:
    assert len(COCO_CLASSES) == 80 and COCO_CLASSES[0] == "person" and COCO_CLASSES[2] == "car"


def test_finds_persons_512_and_320(teacher, frames_dir: str) -> None:  # noqa: ANN001
    for size in (512, 320):
        x = frame_tensor(os.path.join(frames_dir, "f01.png"), size)
        with torch.no_grad():
            logits, wh = teacher(x)
        assert logits.shape == (1, 80, size // 4, size // 4) and wh.shape == (1, 4, size // 4, size // 4)
        det = decode(logits, wh, size, size)[0]
        persons = det[(det[:, 5] == 0) & (det[:, 4] > 0.3)]
        assert len(persons) >= 3, det[:10]
        w = persons[:, 2] - persons[:, 0]
        h = persons[:, 3] - persons[:, 1]
        # pedestrians: upright boxes of sensible size inside the frame
        assert bool(((h > w) & (w > 0.01 * size) & (h < 0.5 * size)).all()), persons
        assert bool(((persons[:, :4] > -0.05 * size) & (persons[:, :4] < 1.05 * size)).all())


def test_class_slice_matches_full_head(teacher, frames_dir: str) -> None:  # noqa: ANN001
    student = load_tfjs_model(WEIGHTS, [0, 2]).eval()
    x = frame_tensor(os.path.join(frames_dir, "f02.png"), 256)
    with torch.no_grad():
        full, wh_full = teacher(x)
        part, wh_part = student(x)
    assert part.shape[1] == 2
    assert torch.allclose(part, full[:, [0, 2]], atol=1e-5) and torch.allclose(wh_part, wh_full, atol=1e-4)


def test_resize_matches_tf_legacy() -> None:
    x = torch.arange(12.0).view(1, 1, 3, 4)
    y = resize_bilinear_asymmetric(x, 6, 8)
    # TF legacy: out[2i] = in[i], out[2i+1] = mean(in[i], in[i+1]), last row/col clamped
    assert torch.equal(y[0, 0, ::2, ::2], x[0, 0])
    assert torch.allclose(y[0, 0, 1, 1], (x[0, 0, 0, 0] + x[0, 0, 0, 1] + x[0, 0, 1, 0] + x[0, 0, 1, 1]) / 4)
    assert torch.equal(y[0, 0, -1, -1], x[0, 0, -1, -1])
