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
    """GIoU and size-normalised L1 over the cells that carry a box target, weighted by box_w.

    Computed densely over every cell and weighted (cells without a target weigh 0), never by selecting
    the target cells: a boolean selection has a data-dependent size, so it waits for the GPU (a host
    sync every step) and the CPU could no longer queue the next step's kernels while this one runs."""
    px1, py1, px2, py2 = pred_boxes(wh).unbind(1)  # each [B,R,R]
    tx1, ty1, tx2, ty2 = box.float().unbind(1)
    wgt = box_w.float()
    has = wgt > 0
    inter = (torch.minimum(px2, tx2) - torch.maximum(px1, tx1)).clamp(min=0) * \
        (torch.minimum(py2, ty2) - torch.maximum(py1, ty1)).clamp(min=0)
    ap = (px2 - px1).clamp(min=0) * (py2 - py1).clamp(min=0)
    at = (tx2 - tx1) * (ty2 - ty1)
    union = ap + at - inter + 1e-6
    enclose = (torch.maximum(px2, tx2) - torch.minimum(px1, tx1)) * (torch.maximum(py2, ty2) - torch.minimum(py1, ty1)) + 1e-6
    giou = inter / union - (enclose - union) / enclose
    tw, th = (tx2 - tx1).clamp(min=1.0), (ty2 - ty1).clamp(min=1.0)
    l1 = ((px1 - tx1).abs() / tw + (py1 - ty1).abs() / th + (px2 - tx2).abs() / tw + (py2 - ty2).abs() / th) / 4
    # where(), not a product with the weight: a cell without a target (its enclosing box can be empty,
    # 0/0) must add exactly 0, not NaN
    norm = wgt.sum().clamp(min=1e-6)
    l_giou = torch.where(has, (1 - giou) * wgt, 0.0).sum() / norm
    l_l1 = torch.where(has, l1 * wgt, 0.0).sum() / norm
    return l_giou, l_l1


def centernet_loss(logits: torch.Tensor, wh: torch.Tensor, t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss and its detached parts. The parts stay tensors: reading them (float()) waits for the GPU."""
    l_hm = focal_loss(logits, t["hm"], t["hm_w"])
    l_giou, l_l1 = box_loss(wh, t["box"], t["box_w"])
    total = l_hm + 2.0 * l_giou + 1.0 * l_l1
    return total, {"hm": l_hm.detach(), "giou": l_giou.detach(), "l1": l_l1.detach()}
