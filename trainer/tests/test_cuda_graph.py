"""CUDA-graph replay of the training step: the same training as the eager step, step for step.
Runs on a GPU only (gpu_check.sh: AUTOTUNER_TEST_DEVICE=cuda); on CPU the choice itself is checked."""

from __future__ import annotations

import os

import pytest
import torch

from autotuner_trainer.errors import BadInput
from autotuner_trainer.train import resolve_cuda_graphs

DEVICE = os.environ.get("AUTOTUNER_TEST_DEVICE", "cpu")
S = 128


def test_on_means_cuda_without_fp16(capsys: pytest.CaptureFixture[str]) -> None:
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert resolve_cuda_graphs("on", cuda, None) and resolve_cuda_graphs("on", cuda, torch.bfloat16)
    assert not resolve_cuda_graphs("off", cuda, None)
    assert capsys.readouterr().err == ""
    assert not resolve_cuda_graphs("on", cuda, torch.float16)
    assert "ignored on cuda with fp16" in capsys.readouterr().err
    assert not resolve_cuda_graphs("on", cpu, None)
    assert "ignored on cpu" in capsys.readouterr().err  # said, not silently dropped
    with pytest.raises(BadInput, match="--cuda-graphs must be one of off, on"):
        resolve_cuda_graphs("auto", cuda, None)


def _net():  # noqa: ANN202
    from autotuner_trainer.tfjs_graph import TfjsGraphNet, consts_to_tensors, read_tfjs, slice_classes
    from conftest import WEIGHTS

    spec, consts = read_tfjs(WEIGHTS)
    tensors, spec = consts_to_tensors(spec, consts)
    tensors, spec = slice_classes(tensors, spec, [0])
    return TfjsGraphNet(spec, tensors)


def _batches(sizes: list[int]) -> list[dict[str, torch.Tensor]]:
    from autotuner_trainer.data import augment_params, build_targets

    g = torch.Generator().manual_seed(3)
    out = []
    for n in sizes:
        items = []
        for _ in range(n):
            aug = augment_params(g, S)
            x1, y1 = float(torch.randint(0, 80, (1,), generator=g)), float(torch.randint(0, 60, (1,), generator=g))
            t = build_targets(torch.tensor([[0, x1, y1, x1 + 20, y1 + 40, 0.9]]), 1, S)
            t["image"] = torch.randint(0, 256, (3, S, S), dtype=torch.uint8, generator=g)
            t["aug"] = aug
            items.append(t)
        out.append({k: torch.stack([it[k] for it in items]).pin_memory() for k in items[0]})
    return out


@pytest.fixture
def deterministic_kernels():  # noqa: ANN201
    """Same kernels in both runs, so the comparison can be tight; the global switches are put back
    after, so that tests run later in the session (the host-sync test) see the trainer's defaults."""
    from autotuner_trainer.train import make_deterministic

    saved = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
             torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    make_deterministic()
    yield
    torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[2], saved[3]


@pytest.mark.skipif(DEVICE != "cuda", reason="CUDA graphs need a GPU; gpu_check.sh runs this (AUTOTUNER_TEST_DEVICE=cuda)")
@pytest.mark.parametrize("amp", ["auto", "bf16"])
def test_graphed_steps_train_exactly_like_eager_steps(amp: str, deterministic_kernels: None) -> None:
    from autotuner_trainer.train import TrainStep, make_optimizer, to_training_layout

    device = torch.device("cuda")
    batches = _batches([4, 4, 4, 4, 3, 4])  # a partial batch in between runs eagerly, then replay resumes
    results = []
    for graphs in ("off", "on"):
        torch.manual_seed(0)
        net = to_training_layout(_net(), device).train()
        opt, sched = make_optimizer(net, 1e-3, 20, fused=True)
        step = TrainStep(net, opt, device, amp, graphs)
        losses = []
        for b in batches:
            losses.append(step(step.to_device(b)))
            sched.step()
        torch.cuda.synchronize()
        if graphs == "on":
            assert step.graphed is not None and step.graphed.replays == 5  # every 4-frame batch replayed
        results.append(([float(v) for v in losses], {k: v.detach().cpu() for k, v in net.state_dict().items()}))
    (eager_losses, eager_w), (graph_losses, graph_w) = results
    assert len(set(eager_losses)) == len(eager_losses)  # each step's own loss, not one buffer read six times
    for a, b in zip(eager_losses, graph_losses):
        assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (eager_losses, graph_losses)
    diff = max((eager_w[k] - graph_w[k]).abs().max().item() for k in eager_w)
    changed = max((eager_w[k] - _net().state_dict()[k]).abs().max().item() for k in eager_w)
    assert diff <= 1e-5 and changed > 1e-4, (diff, changed)
