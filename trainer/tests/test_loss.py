"""The CenterNet loss: the dense, sync-free box loss equals the loss over the selected target cells;
on CUDA a whole training step runs without waiting for the GPU."""

from __future__ import annotations

import os

import pytest
import torch

from autotuner_trainer.data import STRIDE, build_targets
from autotuner_trainer.loss import box_loss, centernet_loss, pred_boxes
from autotuner_trainer.train import make_optimizer

DEVICE = os.environ.get("AUTOTUNER_TEST_DEVICE", "cpu")
S = 128


def selected_cells_box_loss(wh: torch.Tensor, box: torch.Tensor, box_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The loss written the direct way: pick the cells that carry a target, GIoU and L1 on those."""
    pb = pred_boxes(wh).permute(0, 2, 3, 1).reshape(-1, 4)
    tb = box.permute(0, 2, 3, 1).reshape(-1, 4).float()
    wgt = box_w.reshape(-1).float()
    m = wgt > 0
    pb, tb, wgt = pb[m], tb[m], wgt[m]
    inter = (torch.minimum(pb[:, 2], tb[:, 2]) - torch.maximum(pb[:, 0], tb[:, 0])).clamp(min=0) * \
        (torch.minimum(pb[:, 3], tb[:, 3]) - torch.maximum(pb[:, 1], tb[:, 1])).clamp(min=0)
    ap = (pb[:, 2] - pb[:, 0]).clamp(min=0) * (pb[:, 3] - pb[:, 1]).clamp(min=0)
    at = (tb[:, 2] - tb[:, 0]) * (tb[:, 3] - tb[:, 1])
    union = ap + at - inter + 1e-6
    enclose = (torch.maximum(pb[:, 2], tb[:, 2]) - torch.minimum(pb[:, 0], tb[:, 0])) * \
        (torch.maximum(pb[:, 3], tb[:, 3]) - torch.minimum(pb[:, 1], tb[:, 1])) + 1e-6
    giou = inter / union - (enclose - union) / enclose
    norm = wgt.sum()
    size = torch.stack([tb[:, 2] - tb[:, 0], tb[:, 3] - tb[:, 1]] * 2, dim=1).clamp(min=1.0)
    return ((1 - giou) * wgt).sum() / norm, ((pb - tb).abs() / size).mean(dim=1).mul(wgt).sum() / norm


def _batch(n_boxes: list[int], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    targets = []
    for n in n_boxes:
        rows = []
        for _ in range(n):
            x1, y1 = float(torch.randint(0, S - 40, (1,), generator=g)), float(torch.randint(0, S - 40, (1,), generator=g))
            w, h = 6 + 30 * float(torch.rand(1, generator=g)), 10 + 30 * float(torch.rand(1, generator=g))
            rows.append([0, x1, y1, x1 + w, y1 + h, 0.5 + 0.5 * float(torch.rand(1, generator=g))])
        targets.append(build_targets(torch.tensor(rows).reshape(-1, 6), 1, S))
    return {k: torch.stack([t[k] for t in targets]) for k in targets[0]}


def test_dense_box_loss_equals_the_loss_over_target_cells() -> None:
    t = _batch([3, 0, 5, 1])
    r = S // STRIDE
    wh0 = (torch.rand(4, 4, r, r, generator=torch.Generator().manual_seed(1)) * 30).requires_grad_()
    wh1 = wh0.detach().clone().requires_grad_()
    dense = box_loss(wh0, t["box"], t["box_w"])
    ref = selected_cells_box_loss(wh1, t["box"], t["box_w"])
    for a, b in zip(dense, ref):
        av, bv = a.item(), b.item()
        assert abs(av - bv) <= 1e-5 * max(1.0, abs(bv)), (av, bv)
    (dense[0] * 2 + dense[1]).backward()
    (ref[0] * 2 + ref[1]).backward()
    assert wh0.grad is not None and wh1.grad is not None
    assert torch.allclose(wh0.grad, wh1.grad, atol=1e-7, rtol=1e-4)
    assert float(wh0.grad.abs().sum()) > 0  # the check above compared real gradients, not two zeros


def test_no_targets_gives_zero_box_loss_and_finite_gradients() -> None:
    t = _batch([0, 0])
    r = S // STRIDE
    # predictions whose boxes are empty or inverted: off-target cells must still add exactly 0
    wh = torch.cat([torch.zeros(2, 2, r, r), -torch.ones(2, 2, r, r)], dim=1).requires_grad_()
    l_giou, l_l1 = box_loss(wh, t["box"], t["box_w"])
    assert l_giou.item() == 0.0 and l_l1.item() == 0.0
    (l_giou + l_l1).backward()
    assert wh.grad is not None and torch.isfinite(wh.grad).all() and float(wh.grad.abs().sum()) == 0.0


def test_loss_parts_are_tensors_not_host_reads() -> None:
    t = _batch([2, 1])
    r = S // STRIDE
    logits = torch.randn(2, 1, r, r, requires_grad=True)
    wh = torch.rand(2, 4, r, r, requires_grad=True) * 20
    total, parts = centernet_loss(logits, wh, t)
    assert set(parts) == {"hm", "giou", "l1"} and all(isinstance(v, torch.Tensor) for v in parts.values())
    assert abs(total.item() - (parts["hm"] + 2 * parts["giou"] + parts["l1"]).item()) < 1e-5


def test_fused_and_unfused_optimizer_states_are_interchangeable() -> None:
    """A checkpoint written by a CPU run (unfused AdamW) resumes in a CUDA run (fused), and back."""
    from autotuner_trainer.tfjs_graph import TfjsGraphNet  # noqa: F401 - make_optimizer's net type

    def tiny() -> torch.nn.Module:
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 2, 1))

    x = torch.randn(2, 3, 8, 8)
    nets = [tiny(), tiny()]
    opts = [make_optimizer(nets[0], 1e-3, 10)[0], make_optimizer(nets[1], 1e-3, 10, fused=True)[0]]
    for net, opt in zip(nets, opts):
        net(x).square().mean().backward()
        opt.step()
    # swap the states and take one more step each: both must land on the same weights again
    s0, s1 = opts[0].state_dict(), opts[1].state_dict()
    opts[0].load_state_dict(s1)
    opts[1].load_state_dict(s0)
    for net, opt in zip(nets, opts):
        opt.zero_grad()
        net(x).square().mean().backward()
        opt.step()
    for p0, p1 in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.allclose(p0, p1, atol=1e-6)


@pytest.mark.skipif(DEVICE != "cuda", reason="checks host syncs on CUDA; gpu_check.sh runs it (AUTOTUNER_TEST_DEVICE=cuda)")
@pytest.mark.parametrize("cuda_graphs", ["off", "on"])
def test_cuda_training_step_never_waits_for_the_gpu(cuda_graphs: str) -> None:
    from autotuner_trainer.tfjs_graph import TfjsGraphNet, consts_to_tensors, read_tfjs, slice_classes
    from autotuner_trainer.train import TrainStep, to_training_layout
    from conftest import WEIGHTS

    spec, consts = read_tfjs(WEIGHTS)
    tensors, spec = consts_to_tensors(spec, consts)
    tensors, spec = slice_classes(tensors, spec, [0])
    device = torch.device("cuda")
    net = to_training_layout(TfjsGraphNet(spec, tensors), device).train()
    opt, sched = make_optimizer(net, 1e-4, 10, fused=True)
    step = TrainStep(net, opt, device, cuda_graphs=cuda_graphs)
    assert (step.graphed is not None) == (cuda_graphs == "on")
    batch = _batch([2, 0, 4, 1])
    batch["image"] = torch.randint(0, 255, (4, 3, S, S), dtype=torch.uint8)
    batch["aug"] = torch.tensor([[1.0, 2.0, -3.0, 1.0, 1.1, 0.9, 1.0]] * 4)
    pinned = {k: v.pin_memory() for k, v in batch.items()}  # as the DataLoader delivers them
    step(step.to_device(pinned))  # first step: cuDNN autotuning and lazy init may sync; not the loop's cost
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            loss = step(step.to_device(pinned))
            sched.step()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert torch.isfinite(loss)
