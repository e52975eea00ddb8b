"""CenterNet decoding (ONNX-exportable): 3x3 max-pool peaks + top-K -> [B,K,6] detections."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def decode(cls_logits: torch.Tensor, wh: torch.Tensor, img_h: int, img_w: int, k: int = 100) -> torch.Tensor:
    """Same math as the tfjs graph's post-processing.

    heat = sigmoid(logits); keep peaks where maxpool3x3(heat) == heat; top-K over (y, x, class)
    flattened in NHWC order; box = (4x - l, 4y - t, 4x + r, 4y + b) in input pixels, where
    (l, t, r, b) = wh at the peak cell and 4 = input size / heatmap size.
    Returns [B, K, 6] = x1, y1, x2, y2, score, class index (float).
    """
    b, c, h, w = cls_logits.shape
    heat = torch.sigmoid(cls_logits.float())
    hmax = F.max_pool2d(heat, 3, stride=1, padding=1)
    heat = heat * (hmax == heat).to(heat.dtype)
    flat = heat.permute(0, 2, 3, 1).reshape(b, h * w * c)
    kk = min(k, h * w * c)
    scores, idx = torch.topk(flat, kk, dim=1, largest=True, sorted=True)
    cls = idx % c
    pix = torch.div(idx, c, rounding_mode="floor")
    xs = pix % w
    ys = torch.div(pix, w, rounding_mode="floor")
    whf = wh.float().permute(0, 2, 3, 1).reshape(b, h * w, 4)
    g = torch.gather(whf, 1, pix.unsqueeze(-1).expand(b, kk, 4))
    sx = float(img_w) / float(w)
    sy = float(img_h) / float(h)
    cx = xs.to(torch.float32) * sx
    cy = ys.to(torch.float32) * sy
    det = torch.stack([cx - g[..., 0], cy - g[..., 1], cx + g[..., 2], cy + g[..., 3], scores,
                       cls.to(torch.float32)], dim=-1)
    if kk < k:
        det = torch.cat([det, det.new_zeros(b, k - kk, 6)], dim=1)
    return det


class EndToEnd(nn.Module):
    """images [B,3,S,S] RGB 0..255 -> detections [B,K,6]."""

    def __init__(self, net: nn.Module, k: int = 100) -> None:
        super().__init__()
        self.net = net
        self.k = k

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        cls_logits, wh = self.net(images)
        return decode(cls_logits, wh, int(images.shape[2]), int(images.shape[3]), self.k)
