"""The training step's forward and backward replayed from CUDA graphs.

The student is small (2 M parameters) and its graph is interpreted op by op in Python (tfjs_graph: 235
ops forward; with backward, loss and augmentation on the order of a thousand kernel launches a step),
so on a GPU an eager step is mostly launches: the GPU waits on Python, not on arithmetic. A CUDA graph
records the step's launches once and replays them with one call. What stays eager is cheap and keeps its
state on the host as before: gradient clipping, the fused AdamW update (its learning rate a plain
float, so the scheduler and checkpoints are unchanged) and the validation pass.

Requirements the rest of the step meets: fixed shapes (every full batch of a run has the same shape;
an epoch's last, partial batch runs eagerly), no host syncs inside the step (the loss never selects by
mask), no RNG inside it (augmentation parameters come with the batch), and autocast without its
weight cache (the cache would free memory the graph still uses)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from .data import batch_images
from .loss import centernet_loss

BATCH_KEYS = ("image", "aug", "hm", "hm_w", "box", "box_w")


class _BatchLoss(torch.nn.Module):
    """The loss of one training batch as a module of tensors (what make_graphed_callables records)."""

    def __init__(self, net: torch.nn.Module, amp_dtype: torch.dtype | None) -> None:
        super().__init__()
        self.net = net
        self.amp_dtype = amp_dtype

    def forward(self, image: torch.Tensor, aug: torch.Tensor, hm: torch.Tensor, hm_w: torch.Tensor,
                box: torch.Tensor, box_w: torch.Tensor) -> torch.Tensor:
        t = {"image": image, "aug": aug, "hm": hm, "hm_w": hm_w, "box": box, "box_w": box_w}
        ctx: Any = (torch.autocast("cuda", dtype=self.amp_dtype, cache_enabled=False) if self.amp_dtype is not None
                    else contextlib.nullcontext())
        with ctx:
            logits, wh = self.net(batch_images(t))
        loss, _ = centernet_loss(logits, wh, t)
        return loss


class GraphedBatchLoss:
    """Loss (with a replayed backward) of a training batch. The first batch's shape is recorded after
    three warm-up passes that leave the weights and their gradients untouched; a batch of another
    shape, or without augmentation parameters, gets None and the caller runs it eagerly."""

    def __init__(self, net: torch.nn.Module, amp_dtype: torch.dtype | None) -> None:
        self._module = _BatchLoss(net, amp_dtype)
        self._graphed: torch.nn.Module | None = None
        self._shapes: tuple[tuple[int, ...], ...] | None = None
        self.replays = 0

    def __call__(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if set(batch) != set(BATCH_KEYS):
            return None
        args = tuple(batch[k] for k in BATCH_KEYS)
        shapes = tuple(tuple(a.shape) for a in args)
        if self._graphed is None:
            self._graphed = torch.cuda.make_graphed_callables(self._module, args, num_warmup_iters=3,
                                                              allow_unused_input=True)
            self._shapes = shapes
        if shapes != self._shapes:
            return None
        self.replays += 1
        # the output is the graph's own buffer, rewritten by the next replay: the caller keeps a copy
        return self._graphed(*args)
