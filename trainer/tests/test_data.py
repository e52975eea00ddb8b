"""Augmentation: boxes move exactly as the pixels do; the batched transform is per-sample."""

from __future__ import annotations

import torch

from autotuner_trainer.data import AUG_IDENTITY, apply_augment, augment_boxes, augment_params

S = 128


def _frame_with_block(x1: int, y1: int, x2: int, y2: int) -> torch.Tensor:
    img = torch.full((3, S, S), 40, dtype=torch.uint8)
    img[:, y1:y2, x1:x2] = 220
    return img


def _bright_bbox(img: torch.Tensor) -> tuple[float, float, float, float]:
    ys, xs = torch.nonzero(img.float().mean(0) > img.float().mean(0).max() * 0.75, as_tuple=True)
    return float(xs.min()), float(ys.min()), float(xs.max()) + 1, float(ys.max()) + 1


def test_boxes_follow_pixels_through_scale_shift_and_flip() -> None:
    box = (30, 40, 70, 100)
    img = _frame_with_block(*box)
    boxes = torch.tensor([[0, *box, 0.9]], dtype=torch.float32)
    seen_flip = set()
    for seed in range(12):
        p = augment_params(torch.Generator().manual_seed(seed), S)
        seen_flip.add(bool(p[3]))
        out = apply_augment(img[None], p[None])[0]
        moved = augment_boxes(boxes, p, S)
        assert len(moved) == 1 and moved[0, 0] == 0 and abs(float(moved[0, 5]) - 0.9) < 1e-6
        for a, b in zip(_bright_bbox(out), moved[0, 1:5].tolist()):
            assert abs(a - b) <= 1.5, (seed, p.tolist(), _bright_bbox(out), moved.tolist())
    assert seen_flip == {True, False}  # both branches were exercised


def test_batched_transform_equals_one_by_one() -> None:
    imgs = torch.stack([_frame_with_block(10 + 5 * i, 20, 60, 90 + i) for i in range(4)])
    params = torch.stack([augment_params(torch.Generator().manual_seed(s), S) for s in range(4)])
    batched = apply_augment(imgs, params)
    for i in range(4):
        assert torch.allclose(batched[i], apply_augment(imgs[i:i + 1], params[i:i + 1])[0], atol=1e-4)
    assert batched.dtype == torch.float32 and 0 <= float(batched.min()) and float(batched.max()) <= 255


def test_identity_params_keep_the_frame() -> None:
    img = _frame_with_block(5, 5, 50, 60)
    out = apply_augment(img[None], torch.tensor([AUG_IDENTITY]))[0]
    assert torch.allclose(out, img.float(), atol=1e-3)


def test_box_pushed_out_of_frame_is_dropped() -> None:
    boxes = torch.tensor([[0, 0, 0, 6, 6, 1.0], [0, 40, 40, 80, 80, 1.0]])
    p = torch.tensor([1.0, -20.0, -20.0, 0.0, 1.0, 1.0, 1.0])  # shift up-left by 20 px
    moved = augment_boxes(boxes, p, S)
    assert moved[:, 1:5].tolist() == [[20.0, 20.0, 60.0, 60.0]]


def test_persistent_workers_augment_each_epoch_like_the_main_process() -> None:
    """Workers outlive epochs and hold their own dataset copy: the epoch travels with the index, so
    2 workers give exactly the batches of 0 workers, and epochs differ from each other."""
    from autotuner_trainer.data import EpochSampler, InMemoryDataset, synthetic_frames
    from autotuner_trainer.train import make_loader

    imgs, labels = synthetic_frames(8, 64)
    ds = InMemoryDataset(imgs, labels, 1, 64, train=True, seed=3)

    def run(workers: int) -> list[dict[str, torch.Tensor]]:
        sampler = EpochSampler(len(ds), 3)
        loader = make_loader(ds, 4, workers, torch.device("cpu"), sampler)
        out = []
        for epoch in range(2):
            ds.set_epoch(epoch if workers == 0 else 99)  # workers must not depend on the main copy's epoch
            sampler.set_epoch(epoch)
            out.extend(loader)
        return out

    a, b = run(0), run(2)
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    assert not torch.equal(a[0]["aug"], a[2]["aug"])  # epoch 2 draws new augmentation
