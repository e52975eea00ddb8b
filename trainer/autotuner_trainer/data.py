"""Dataset (YOLO layout + dataset.json), fixed-camera augmentation and CenterNet targets."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Sampler

from .errors import BadInput

STRIDE = 4
IMAGE_EXTS = (".jpg", ".jpeg", ".png")


@dataclass
class Frame:
    name: str
    image: str
    boxes: np.ndarray  # [N,6] cls, cx, cy, w, h, score (normalized)


def read_dataset(root: str) -> tuple[list[str], list[Frame], list[Frame]]:
    meta_path = os.path.join(root, "dataset.json")
    if not os.path.isfile(meta_path):
        raise BadInput(f"{meta_path} not found")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput(f"cannot read {meta_path}: {e}") from e
    classes = meta.get("classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise BadInput("dataset.json: 'classes' must be a non-empty list of names")
    train: list[Frame] = []
    val: list[Frame] = []
    for fr in meta.get("frames") or []:
        name = str(fr["name"])
        image = next((os.path.join(root, "images", name + e) for e in IMAGE_EXTS
                      if os.path.isfile(os.path.join(root, "images", name + e))), None)
        if image is None:
            raise BadInput(f"image for frame {name} not found in {os.path.join(root, 'images')}")
        boxes = read_labels(os.path.join(root, "labels", name + ".txt"), len(classes))
        (val if fr.get("split") == "val" else train).append(Frame(name, image, boxes))
    if not train:
        raise BadInput(f"dataset {root} has no training frames")
    if sum(len(f.boxes) for f in train + val) == 0:
        raise BadInput(f"dataset {root} has no labels at all")
    return classes, train, val


def read_labels(path: str, num_classes: int) -> np.ndarray:
    rows: list[list[float]] = []
    if os.path.isfile(path):
        with open(path) as f:
            for ln, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    vals = [float(v) for v in parts]
                except ValueError as e:
                    raise BadInput(f"{path}:{ln}: bad label line") from e
                if len(vals) not in (5, 6):
                    raise BadInput(f"{path}:{ln}: expected 'cls cx cy w h [score]'")
                c = int(vals[0])
                if not 0 <= c < num_classes or vals[0] != c:
                    raise BadInput(f"{path}:{ln}: class index {vals[0]} out of range")
                score = vals[5] if len(vals) == 6 else 1.0
                if not all(math.isfinite(v) for v in vals):
                    raise BadInput(f"{path}:{ln}: non-finite value")
                rows.append([c, vals[1], vals[2], vals[3], vals[4], min(max(score, 0.0), 1.0)])
    return np.array(rows, dtype=np.float32).reshape(-1, 6)


def load_image(path: str, imgsz: int) -> torch.Tensor:
    """uint8 [3,S,S] RGB, stretch-resized (same as the runtime)."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            im = im.convert("RGB").resize((imgsz, imgsz), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8).copy()
    except Exception as e:  # noqa: BLE001 - any decoder error means unreadable input
        raise BadInput(f"unreadable image {path}: {e}") from e
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def build_targets(boxes: torch.Tensor, num_classes: int, imgsz: int, alpha: float = 0.54) -> dict[str, torch.Tensor]:
    """boxes [N,6] = cls, x1, y1, x2, y2 (input pixels), score -> CenterNet/TTFNet targets.

    hm [C,R,R]: elliptical gaussians (peak exactly 1 at the center cell); hm_w [C,R,R]: teacher-score
    weight around each object; box [4,R,R] target x1y1x2y2; box_w [R,R]: gaussian * score.
    """
    r = imgsz // STRIDE
    hm = torch.zeros(num_classes, r, r)
    hm_w = torch.ones(num_classes, r, r)
    box = torch.zeros(4, r, r)
    box_w = torch.zeros(r, r)
    if len(boxes):
        area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 4] - boxes[:, 2])
        order = torch.argsort(area, descending=True)  # small objects painted last (win overlaps)
        ys = torch.arange(r, dtype=torch.float32).view(-1, 1)
        xs = torch.arange(r, dtype=torch.float32).view(1, -1)
        for i in order.tolist():
            c, x1, y1, x2, y2, s = boxes[i].tolist()
            c = int(c)
            w, h = (x2 - x1) / STRIDE, (y2 - y1) / STRIDE
            cx = min(max(int((x1 + x2) / 2 / STRIDE), 0), r - 1)
            cy = min(max(int((y1 + y2) / 2 / STRIDE), 0), r - 1)
            sx, sy = max(alpha * w / 6, 0.4), max(alpha * h / 6, 0.4)
            g = torch.exp(-((xs - cx) ** 2) / (2 * sx * sx) - ((ys - cy) ** 2) / (2 * sy * sy))
            g[cy, cx] = 1.0
            region = g > 0.05
            hm[c] = torch.maximum(hm[c], g)
            hm_w[c][region] = s
            box[:, region] = torch.tensor([x1, y1, x2, y2]).view(4, 1)
            box_w[region] = g[region] * s
    return {"hm": hm, "hm_w": hm_w, "box": box, "box_w": box_w}


# Augmentation is split in two so the pixel work runs where the model runs (batched on the GPU when
# training there): each sample draws its parameters and moves its boxes in the DataLoader worker
# (cheap), and `apply_augment` transforms the whole uint8 batch on the training device. Per-sample
# pixel work in CPU workers capped GPU training at a third of the bare loop's speed (H100, measured).
AUG_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0)  # scale, tx, ty, flip, bright, contrast, sat


def augment_params(g: torch.Generator, s_img: int) -> torch.Tensor:
    """Fixed-camera augmentation for one sample: small scale/translate, h-flip, photometric jitter.

    Returns [7] = scale, tx, ty (pixels), flip (0/1), brightness, contrast, saturation factors.
    """
    u = torch.rand(8, generator=g).tolist()
    scale = 0.85 + 0.3 * u[0]
    tx, ty = (u[1] - 0.5) * 0.16 * s_img, (u[2] - 0.5) * 0.16 * s_img
    flip = 1.0 if u[3] < 0.5 else 0.0
    bright = 1.0 + (u[4] - 0.5) * 0.4
    contrast = 1.0 + (u[5] - 0.5) * 0.4
    sat = 1.0 + (u[6] - 0.5) * 0.6
    return torch.tensor([scale, tx, ty, flip, bright, contrast, sat])


def augment_boxes(boxes: torch.Tensor, params: torch.Tensor, s_img: int) -> torch.Tensor:
    """boxes [N,6] cls,x1,y1,x2,y2,score in pixels, moved as `apply_augment` moves the pixels;
    boxes mostly pushed out of the frame are dropped."""
    if not len(boxes):
        return boxes
    scale, tx, ty, flip = params[:4].tolist()
    c = s_img / 2
    b = boxes.clone()
    b[:, [1, 3]] = scale * (b[:, [1, 3]] - c) + c + tx
    b[:, [2, 4]] = scale * (b[:, [2, 4]] - c) + c + ty
    if flip:
        x1 = s_img - b[:, 3]
        x2 = s_img - b[:, 1]
        b[:, 1], b[:, 3] = x1, x2
    ow, oh = b[:, 3] - b[:, 1], b[:, 4] - b[:, 2]
    b[:, [1, 3]] = b[:, [1, 3]].clamp(0, s_img)
    b[:, [2, 4]] = b[:, [2, 4]].clamp(0, s_img)
    nw, nh = b[:, 3] - b[:, 1], b[:, 4] - b[:, 2]
    keep = (nw >= 2) & (nh >= 2) & (nw * nh >= 0.3 * ow * oh)
    return b[keep]


def apply_augment(imgs: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """imgs uint8 or float [B,3,S,S] 0..255, params [B,7] from `augment_params` -> float [B,3,S,S] 0..255."""
    x = imgs.float()
    s_img = x.shape[-1]
    p = params.to(x.device, torch.float32)
    scale, tx, ty = p[:, 0], p[:, 1], p[:, 2]
    # forward map: p' = scale * (p - c) + c + t ; grid_sample needs the inverse in [-1,1] coords
    theta = torch.zeros(len(p), 2, 3, device=x.device)
    theta[:, 0, 0] = 1 / scale
    theta[:, 1, 1] = 1 / scale
    theta[:, 0, 2] = -tx * 2 / s_img / scale
    theta[:, 1, 2] = -ty * 2 / s_img / scale
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    out = torch.where(p[:, 3].view(-1, 1, 1, 1) > 0.5, out.flip(-1), out)
    bright, contrast, sat = (p[:, i].view(-1, 1, 1, 1) for i in (4, 5, 6))
    gray = 0.299 * out[:, 0:1] + 0.587 * out[:, 1:2] + 0.114 * out[:, 2:3]
    out = gray + (out - gray) * sat
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean
    return (out * bright).clamp(0, 255)


def batch_images(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model input of a collated batch: augmented when the batch carries parameters, else as float."""
    x = apply_augment(batch["image"], batch["aug"]) if "aug" in batch else batch["image"].float()
    return x.contiguous(memory_format=torch.channels_last)  # the layout the training net is in


class DetectionDataset(Dataset):
    """Frames -> (image uint8 [3,S,S], targets, + "aug" params when training). Deterministic per
    (seed, epoch, index). The model input is `batch_images(batch)`, on the training device."""

    def _init_fields(self, num_classes: int, imgsz: int, train: bool, seed: int) -> None:
        self.num_classes = num_classes
        self.imgsz = imgsz
        self.train = train
        self.seed = seed
        self.epoch = 0
        self.cache: list[torch.Tensor] | None = None

    def __init__(self, frames: list[Frame], num_classes: int, imgsz: int, train: bool, seed: int = 0,
                 cache: bool = True) -> None:
        self.frames = frames
        self._init_fields(num_classes, imgsz, train, seed)
        if cache and len(frames) * 3 * imgsz * imgsz < 2_000_000_000:
            self.cache = [load_image(f.image, imgsz) for f in frames]
        else:
            for f in frames:  # at least check every image header up front
                try:
                    from PIL import Image

                    with Image.open(f.image) as im:
                        im.size
                except Exception as e:  # noqa: BLE001
                    raise BadInput(f"unreadable image {f.image}: {e}") from e

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.frames)

    def pixel_boxes(self, i: int) -> torch.Tensor:
        lb = torch.from_numpy(self.frames[i].boxes)
        s = float(self.imgsz)
        out = torch.zeros(len(lb), 6)
        if len(lb):
            out[:, 0] = lb[:, 0]
            out[:, 1] = (lb[:, 1] - lb[:, 3] / 2) * s
            out[:, 2] = (lb[:, 2] - lb[:, 4] / 2) * s
            out[:, 3] = (lb[:, 1] + lb[:, 3] / 2) * s
            out[:, 4] = (lb[:, 2] + lb[:, 4] / 2) * s
            out[:, 5] = lb[:, 5]
        return out

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        # (epoch, index) from EpochSampler: persistent DataLoader workers hold their own copy of the
        # dataset, so the epoch (which seeds augmentation) must travel with the index
        epoch, i = key if isinstance(key, tuple) else (self.epoch, key)
        img_u8 = self.cache[i] if self.cache is not None else load_image(self.frames[i].image, self.imgsz)
        boxes = self.pixel_boxes(i)
        aug = None
        if self.train:
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) * 1_000_033 + i)
            aug = augment_params(g, self.imgsz)
            boxes = augment_boxes(boxes, aug, self.imgsz)
        t = build_targets(boxes, self.num_classes, self.imgsz)
        t["image"] = img_u8  # uint8: a quarter of float's bytes through worker queues, pinning and the copy
        if aug is not None:
            t["aug"] = aug
        return t


class EpochSampler(Sampler[tuple[int, int]]):
    """Shuffled order that depends only on (seed, epoch): makes --resume exact. Yields (epoch, index)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Any:
        g = torch.Generator().manual_seed(self.seed * 7919 + self.epoch)
        return iter([(self.epoch, i) for i in torch.randperm(self.n, generator=g).tolist()])


def synthetic_frames(n: int, imgsz: int, seed: int = 0) -> tuple[list[torch.Tensor], list[np.ndarray]]:
    """In-memory synthetic frames (smooth background + person-like boxes) for benchmarks."""
    g = torch.Generator().manual_seed(seed)
    imgs, labels = [], []
    for _ in range(n):
        low = torch.rand(1, 3, 8, 8, generator=g)
        img = F.interpolate(low, size=(imgsz, imgsz), mode="bilinear", align_corners=False)[0] * 255
        rows = []
        for _ in range(int(torch.randint(1, 6, (1,), generator=g))):
            w, h = 0.04 + 0.08 * float(torch.rand(1, generator=g)), 0.1 + 0.2 * float(torch.rand(1, generator=g))
            cx, cy = 0.1 + 0.8 * float(torch.rand(1, generator=g)), 0.15 + 0.7 * float(torch.rand(1, generator=g))
            x1, y1 = int((cx - w / 2) * imgsz), int((cy - h / 2) * imgsz)
            img[:, y1:int((cy + h / 2) * imgsz), x1:int((cx + w / 2) * imgsz)] = torch.rand(3, 1, 1, generator=g) * 255
            rows.append([0, cx, cy, w, h, 1.0])
        imgs.append(img.clamp(0, 255).to(torch.uint8))
        labels.append(np.array(rows, dtype=np.float32))
    return imgs, labels


class InMemoryDataset(DetectionDataset):
    def __init__(self, imgs: list[torch.Tensor], labels: list[np.ndarray], num_classes: int, imgsz: int,
                 train: bool, seed: int = 0) -> None:
        # Images are already tensors: skip the base class's file loading, keep everything else.
        self.frames = [Frame(f"syn{i}", "", lb) for i, lb in enumerate(labels)]
        DetectionDataset._init_fields(self, num_classes, imgsz, train, seed)
        self.cache = imgs
