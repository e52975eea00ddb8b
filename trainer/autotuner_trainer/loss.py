"""CenterNet loss: penalty-reduced focal loss + GIoU/L1 box loss, teacher-score weighted."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import STRIDE


def focal_loss(logits: torch.Tensor, hm: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    x = logits.float()
    p = torch.sigmoid(x)
    pos = (hm >= 1.0).float()
    pos_l = -F.logsigmoid(x) * (1 - p) ** 2 * pos * w
    neg_l = -F.logsigmoid(-x) * p ** 2 * (1 - hm) ** 4 * (1 - pos) * w
    num_pos = (pos * w).sum().clamp(min=1.0)
    return (pos_l.sum() + neg_l.sum()) / num_pos


def pred_boxes(wh: torch.Tensor) -> torch.Tensor:
    """wh [B,4,R,R] (l,t,r,b px) -> x1y1x2y2 [B,4,R,R] in input pixels."""
    b, _, h, w = wh.shape
    ys = torch.arange(h, device=wh.device, dtype=torch.float32).view(1, h, 1) * STRIDE
    xs = torch.arange(w, device=wh.device, dtype=torch.float32).view(1, 1, w) * STRIDE
    wh = wh.float()
    return torch.stack([xs - wh[:, 0], ys - wh[:, 1], xs + wh[:, 2], ys + wh[:, 3]], dim=1)


def box_loss(wh: torch.Tensor, box: torch.Tensor, box_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pb = pred_boxes(wh).permute(0, 2, 3, 1).reshape(-1, 4)
    tb = box.permute(0, 2, 3, 1).reshape(-1, 4).float()
    wgt = box_w.reshape(-1).float()
    m = wgt > 0
    if not bool(m.any()):
        z = wh.sum() * 0.0
        return z, z
    pb, tb, wgt = pb[m], tb[m], wgt[m]
    ix1, iy1 = torch.maximum(pb[:, 0], tb[:, 0]), torch.maximum(pb[:, 1], tb[:, 1])
    ix2, iy2 = torch.minimum(pb[:, 2], tb[:, 2]), torch.minimum(pb[:, 3], tb[:, 3])
    inter = (ix2 - ix1).clamp(min=0) * (iy2 - iy1).clamp(min=0)
    ap = (pb[:, 2] - pb[:, 0]).clamp(min=0) * (pb[:, 3] - pb[:, 1]).clamp(min=0)
    at = (tb[:, 2] - tb[:, 0]) * (tb[:, 3] - tb[:, 1])
    union = ap + at - inter + 1e-6
    iou = inter / union
    ex1, ey1 = torch.minimum(pb[:, 0], tb[:, 0]), torch.minimum(pb[:, 1], tb[:, 1])
    ex2, ey2 = torch.maximum(pb[:, 2], tb[:, 2]), torch.maximum(pb[:, 3], tb[:, 3])
    enclose = (ex2 - ex1) * (ey2 - ey1) + 1e-6
    giou = iou - (enclose - union) / enclose
    norm = wgt.sum().clamp(min=1e-6)
    l_giou = ((1 - giou) * wgt).sum() / norm
    size = torch.stack([tb[:, 2] - tb[:, 0], tb[:, 3] - tb[:, 1]] * 2, dim=1).clamp(min=1.0)
    l_l1 = ((pb - tb).abs() / size).mean(dim=1).mul(wgt).sum() / norm
    return l_giou, l_l1


def centernet_loss(logits: torch.Tensor, wh: torch.Tensor, t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    l_hm = focal_loss(logits, t["hm"], t["hm_w"])
    l_giou, l_l1 = box_loss(wh, t["box"], t["box_w"])
    total = l_hm + 2.0 * l_giou + 1.0 * l_l1
    return total, {"hm": float(l_hm.detach()), "giou": float(l_giou.detach()), "l1": float(l_l1.detach())}
