"""CLI: python -m autotuner_trainer [train|export|bench] ...  (plain flags = train)."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import traceback

from .errors import BadInput


def _export(a: argparse.Namespace) -> int:
    from .export import export_onnx
    from .model_io import load_init

    classes = [c.strip() for c in a.classes.split(",") if c.strip()] if a.classes else None
    net, names, _ = load_init(a.init, classes)
    res = export_onnx(net, names, a.imgsz, a.out)
    print(json.dumps({"event": "done", "onnx": a.out, "classes": names, "imgsz": a.imgsz, **res}), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .train import add_train_args, run_train

    p = argparse.ArgumentParser(prog="autotuner_trainer")
    sub = p.add_subparsers(dest="cmd")
    t = sub.add_parser("train", help="fine-tune a CenterNet student (DESIGN Trainer contract)")
    add_train_args(t)
    e = sub.add_parser("export", help="export weights to an end-to-end ONNX detector")
    e.add_argument("--init", required=True)
    e.add_argument("--imgsz", type=int, required=True)
    e.add_argument("--classes", default=None, help="comma-separated class names (default: all of the init)")
    e.add_argument("--out", required=True)
    b = sub.add_parser("bench", help="bare PyTorch loop vs trainer step path, images/s")
    from .bench import add_bench_args

    add_bench_args(b)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["train"] + argv
    a = p.parse_args(argv)
    from .watchdog import start_parent_watchdog

    start_parent_watchdog()
    try:
        if a.cmd == "train":
            return run_train(a)
        if a.cmd == "export":
            return _export(a)
        if a.cmd == "bench":
            from .bench import run_bench

            return run_bench(a)
        p.print_help(sys.stderr)
        return 2
    except BadInput as ex:
        print(json.dumps({"event": "error", "message": str(ex), "retryable": False}), flush=True)
        return 2
    except KeyboardInterrupt:
        raise
    except Exception as ex:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        message, retryable = unexpected_error(ex, a)
        print(json.dumps({"event": "error", "message": message, "retryable": retryable}), flush=True)
        return 1


def unexpected_error(ex: BaseException, a: argparse.Namespace) -> tuple[str, bool]:
    """The error event's message and retryability for an exception the trainer did not raise itself.

    Out of memory is retried (from the last checkpoint): on a shared GPU worker another job (a
    teacher's CUDA session, another camera's training) may hold the memory now and not later; if
    the run alone does not fit, the retries end with the same message, which says what to lower.
    A full disk is not retried: someone must free space first. Anything else is a bug or a broken
    install, which a retry would only repeat."""
    import torch  # already loaded by whatever failed

    first = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__
    sizes = f"student.batch (now {getattr(a, 'batch', '?')}) or student.imgsz (now {getattr(a, 'imgsz', '?')})"
    if isinstance(ex, torch.OutOfMemoryError):
        return (f"out of GPU memory ({first}); lower {sizes}, or keep other jobs off this GPU", True)
    if isinstance(ex, RuntimeError) and "DataLoader worker" in first and "killed" in first:
        return (f"a data loader worker was killed ({first}): out of host memory? lower {sizes}", True)
    if isinstance(ex, OSError) and ex.errno == errno.ENOSPC:
        where = ex.filename or getattr(a, "out", None) or "the output directory"
        return (f"disk full while writing {where}: free space there, then run again (it resumes from the last checkpoint)",
                False)
    return (f"{type(ex).__name__}: {ex}", False)


if __name__ == "__main__":
    sys.exit(main())
