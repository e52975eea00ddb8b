"""Tiny real training runs on vtest frames: contract events, resume equivalence, error paths."""

from __future__ import annotations

import json
import os
import shutil

import onnx
import pytest
import torch

from conftest import WEIGHTS, run_cli

# AUTOTUNER_TEST_DEVICE=cuda runs the same checks on a GPU (deterministic kernels, so exactness still holds)
DEVICE = os.environ.get("AUTOTUNER_TEST_DEVICE", "cpu")
BASE = ["--init", WEIGHTS, "--imgsz", "128", "--device", DEVICE, "--batch", "4", "--seed", "1",
        *(["--deterministic"] if DEVICE == "cuda" else [])]


def test_train_contract(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    out = str(tmp_path / "out")
    rc, ev, err = run_cli("--data", dataset_dir, "--out", out, "--epochs", "2", *BASE)  # plain contract form
    assert rc == 0, err
    assert ev[0]["event"] == "start" and ev[0]["trainImages"] == 8 and ev[0]["valImages"] == 2
    assert ev[0]["device"] == DEVICE
    assert ev[0]["amp"] == "off"  # auto: fp32 (TF32 on CUDA), measured faster than autocast for this model
    assert ev[0]["cudaGraphs"] is False  # experimental, opt-in (--cuda-graphs on)
    epochs = [e for e in ev if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        assert e["loss"] > 0 and e["valLoss"] > 0 and e["imgPerSec"] > 0 and e["lr"] > 0
    done = ev[-1]
    assert done["event"] == "done" and os.path.isfile(done["onnx"]) and os.path.isfile(done["checkpoint"])
    assert done["metrics"]["bestEpoch"] in (1, 2)
    assert os.path.isfile(os.path.join(out, "last.pt"))
    meta = json.loads({p.key: p.value for p in onnx.load(done["onnx"]).metadata_props}["autotuner"])
    assert meta["classes"] == ["person"] and meta["imgsz"] == 128
    # a trainer checkpoint is a valid --init (fine-tune again / export at another size)
    rc, ev2, err = run_cli("export", "--init", done["checkpoint"], "--imgsz", "160", "--out", str(tmp_path / "b.onnx"))
    assert rc == 0, err


def test_resume_equivalence(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    args = ["--data", dataset_dir, "--epochs", "2", "--workers", "0", *BASE]
    if "--deterministic" not in args:
        args.append("--deterministic")  # a no-op on CPU, but the flag must parse and keep results exact
    rc, _, err = run_cli("train", *args, "--out", a)
    assert rc == 0, err
    rc, ev, err = run_cli("train", *args, "--out", b, "--stop-after", "1")
    assert rc == 0 and not any(e["event"] == "done" for e in ev), err
    rc, ev, err = run_cli("train", *args, "--out", b, "--resume")
    assert rc == 0, err
    assert ev[0]["startEpoch"] == 1 and [e["epoch"] for e in ev if e["event"] == "epoch"] == [2]
    ta = torch.load(os.path.join(a, "last.pt"), weights_only=False)["tensors"]
    tb = torch.load(os.path.join(b, "last.pt"), weights_only=False)["tensors"]
    assert max((ta[k] - tb[k]).abs().max().item() for k in ta) <= 1e-6


def test_amp_fp16_with_grad_scaler_resumes_exactly(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    """The mixed-precision path CUDA takes (autocast + GradScaler), run on CPU: the loss scale is
    checkpointed, so N epochs straight == N/2 + resume, scaler state included."""
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    args = ["--data", dataset_dir, "--epochs", "2", "--workers", "0", "--amp", "fp16", *BASE]
    rc, ev, err = run_cli("train", *args, "--out", a)
    assert rc == 0, err
    assert ev[0]["amp"] == "fp16"
    assert all(e["loss"] > 0 for e in ev if e["event"] == "epoch")
    rc, _, err = run_cli("train", *args, "--out", b, "--stop-after", "1")
    assert rc == 0, err
    rc, ev, err = run_cli("train", *args, "--out", b, "--resume")
    assert rc == 0 and ev[0]["startEpoch"] == 1, err
    ca = torch.load(os.path.join(a, "last.pt"), weights_only=False)
    cb = torch.load(os.path.join(b, "last.pt"), weights_only=False)
    # the scale moved from its initial 65536 (fp16 overflow backoffs) or grew its tracker: real state to carry
    assert ca["scaler"]["scale"] != 65536.0 or ca["scaler"]["_growth_tracker"] > 0
    assert ca["scaler"] == cb["scaler"]
    assert max((ca["tensors"][k] - cb["tensors"][k]).abs().max().item() for k in ca["tensors"]) <= 1e-6


def test_amp_bf16_and_off(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    rc, ev, err = run_cli("train", "--data", dataset_dir, "--epochs", "1", "--workers", "0", "--amp", "bf16", *BASE,
                          "--cudnn-benchmark", "off",  # accepted everywhere (a no-op on CPU)
                          "--out", str(tmp_path / "bf16"))
    assert rc == 0, err
    assert ev[0]["amp"] == "bf16" and ev[-1]["event"] == "done"
    ck = torch.load(os.path.join(tmp_path / "bf16", "last.pt"), weights_only=False)
    assert ck["scaler"] is None  # bf16 has fp32's range: no loss scaling
    # weights stay fp32 under autocast (exported models are fp32)
    assert all(t.dtype == torch.float32 for t in ck["tensors"].values() if t.is_floating_point())


def test_progress_events_inside_an_epoch(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    """Long epochs report their steps (train, then validation) before the epoch event; by default at
    most one every 2 s, here every step."""
    rc, ev, err = run_cli("train", "--data", dataset_dir, "--epochs", "1", "--workers", "0", *BASE,
                          "--progress-seconds", "0", "--out", str(tmp_path / "p"))
    assert rc == 0, err
    kinds = [e["event"] for e in ev]
    assert kinds == ["start", "progress", "progress", "progress", "epoch", "done"], kinds
    train, val = ev[1:3], ev[3]
    assert [(e["phase"], e["step"], e["steps"], e["images"]) for e in train] == [("train", 1, 2, 4), ("train", 2, 2, 8)]
    assert all(e["epoch"] == 1 and e["epochs"] == 1 and e["imgPerSec"] > 0 for e in train)
    assert (val["phase"], val["step"], val["steps"], val["images"]) == ("val", 1, 1, 2) and "imgPerSec" not in val


def test_progress_events_are_throttled(capsys) -> None:  # noqa: ANN001
    from autotuner_trainer.train import ProgressEvents

    quiet = ProgressEvents(3, every=3600.0)
    for step in range(1, 50):
        quiet.step(0, "train", step, 49, step * 8, 1.0)
    assert capsys.readouterr().out == ""  # nothing until `every` seconds have passed
    chatty = ProgressEvents(3, every=0.0)
    chatty.step(1, "train", 5, 9, 40, 2.0)
    line = json.loads(capsys.readouterr().out)
    assert line == {"event": "progress", "epoch": 2, "epochs": 3, "phase": "train", "step": 5, "steps": 9,
                    "images": 40, "imgPerSec": 20.0}


def test_nan_guard(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    rc, ev, _ = run_cli("--data", dataset_dir, "--out", str(tmp_path / "o"), "--epochs", "2", *BASE,
                        "--lr", "1e30")
    assert rc == 2 and ev[-1]["event"] == "error" and ev[-1]["retryable"] is False
    assert "non-finite" in ev[-1]["message"] and "epoch 1 step 2" in ev[-1]["message"], ev[-1]["message"]


def _copy_ds(src: str, dst: str) -> str:
    shutil.copytree(src, dst)
    return dst


def test_empty_dataset(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    d = _copy_ds(dataset_dir, str(tmp_path / "d"))
    with open(os.path.join(d, "dataset.json"), "w") as f:
        json.dump({"classes": ["person"], "frames": []}, f)
    rc, ev, _ = run_cli("--data", d, "--out", str(tmp_path / "o"), "--epochs", "1", *BASE)
    assert rc == 2 and ev[-1]["event"] == "error" and "no training frames" in ev[-1]["message"]


def test_no_labels(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    d = _copy_ds(dataset_dir, str(tmp_path / "d"))
    for n in os.listdir(os.path.join(d, "labels")):
        open(os.path.join(d, "labels", n), "w").close()
    rc, ev, _ = run_cli("--data", d, "--out", str(tmp_path / "o"), "--epochs", "1", *BASE)
    assert rc == 2 and "no labels" in ev[-1]["message"]


def test_unknown_class_and_bad_image(dataset_dir: str, tmp_path) -> None:  # noqa: ANN001
    d = _copy_ds(dataset_dir, str(tmp_path / "d"))
    meta = json.load(open(os.path.join(d, "dataset.json")))
    meta["classes"] = ["pedestrian"]
    json.dump(meta, open(os.path.join(d, "dataset.json"), "w"))
    rc, ev, _ = run_cli("--data", d, "--out", str(tmp_path / "o"), "--epochs", "1", *BASE)
    assert rc == 2 and "pedestrian" in ev[-1]["message"]
    d2 = _copy_ds(dataset_dir, str(tmp_path / "d2"))
    open(os.path.join(d2, "images", "f000001.jpg"), "wb").write(b"not a jpeg")
    rc, ev, _ = run_cli("--data", d2, "--out", str(tmp_path / "o2"), "--epochs", "1", *BASE)
    assert rc == 2 and "unreadable image" in ev[-1]["message"]


def test_bench_cpu() -> None:
    rc, ev, err = run_cli("bench", "--synthetic", "--init", WEIGHTS, "--imgsz", "128", "--device", "cpu",
                          "--batch", "4", "--steps", "3", "--warmup", "1")
    assert rc == 0, err
    r = ev[-1]
    assert r["bareImgPerSec"] > 0 and r["trainerImgPerSec"] > 0 and r["device"] == "cpu"


def test_checkpoint_write_failure_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A full disk while checkpointing: the last good checkpoint stays whole, no temporary file is left,
    and the error is ENOSPC naming the checkpoint (which the error event turns into what to do)."""
    import builtins
    import errno
    from types import SimpleNamespace

    from autotuner_trainer import model_io
    from autotuner_trainer.__main__ import unexpected_error

    path = str(tmp_path / "last.pt")
    model_io.atomic_save({"epoch": 1, "w": torch.ones(3)}, path)

    class FullDisk:
        def __init__(self, f) -> None:  # noqa: ANN001
            self.f = f

        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *exc) -> None:  # noqa: ANN002
            self.f.close()

        def write(self, data) -> int:  # noqa: ANN001
            self.f.write(bytes(data)[:100])  # part of it lands, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model_io, "open", lambda p, mode="r": FullDisk(builtins.open(p, mode)), raising=False)
    with pytest.raises(OSError) as info:
        model_io.atomic_save({"epoch": 2, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and info.value.filename == path
    assert os.listdir(tmp_path) == ["last.pt"]  # the half-written temporary file is gone
    assert torch.load(path, weights_only=False)["epoch"] == 1  # the previous checkpoint is intact
    message, retryable = unexpected_error(info.value, SimpleNamespace(out=str(tmp_path), batch=8, imgsz=320))
    assert message.startswith(f"disk full while writing {path}: free space there") and retryable is False


def test_out_of_memory_is_retried_with_what_to_lower() -> None:
    from types import SimpleNamespace

    from autotuner_trainer.__main__ import unexpected_error

    a = SimpleNamespace(out="/x", batch=32, imgsz=512)
    message, retryable = unexpected_error(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore"), a)
    assert retryable is True
    assert message == ("out of GPU memory (CUDA out of memory. Tried to allocate 2.00 GiB); lower student.batch (now 32) "
                       "or student.imgsz (now 512), or keep other jobs off this GPU")
    message, retryable = unexpected_error(RuntimeError("DataLoader worker (pid 123) is killed by signal: Killed."), a)
    assert retryable is True and "out of host memory?" in message
    message, retryable = unexpected_error(ValueError("a bug"), a)
    assert (message, retryable) == ("ValueError: a bug", False)
