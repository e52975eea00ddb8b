from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TRAINER = os.path.join(ROOT, "trainer")
sys.path.insert(0, TRAINER)
WEIGHTS = os.path.join(ROOT, "node_modules", "@vladmandic", "human", "models", "centernet.json")
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def run_cli(*args: str, timeout: int = 120) -> tuple[int, list[dict], str]:
    env = dict(os.environ, PYTHONPATH=TRAINER)
    p = subprocess.run([sys.executable, "-m", "autotuner_trainer", *args], capture_output=True, text=True,
                       env=env, timeout=timeout, cwd=ROOT)
    events = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]  # stdout must be pure JSON lines
    return p.returncode, events, p.stderr


@pytest.fixture(scope="session")
def frames_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    if os.environ.get("AUTOTUNER_TEST_FRAMES"):  # machines without ffmpeg (a GPU box): the same 10 frames, made elsewhere
        return os.environ["AUTOTUNER_TEST_FRAMES"]
    d = tmp_path_factory.mktemp("vtest")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", VTEST, "-vf", r"select=not(mod(n\,40))",
                    "-vsync", "0", "-frames:v", "10", str(d / "f%02d.png")], check=True)
    return str(d)


@pytest.fixture(scope="session")
def teacher():  # noqa: ANN201
    from autotuner_trainer.tfjs_graph import load_tfjs_model

    return load_tfjs_model(WEIGHTS).eval()


def frame_tensor(path: str, size: int):  # noqa: ANN201
    import torch
    from PIL import Image

    im = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
    return torch.from_numpy(np.asarray(im, dtype=np.float32)).permute(2, 0, 1)[None]


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory, frames_dir: str, teacher) -> str:  # noqa: ANN001
    """8 train + 2 val vtest frames, 'person' labels from the teacher (with its scores)."""
    import torch
    from PIL import Image

    from autotuner_trainer.decode import decode

    root = tmp_path_factory.mktemp("ds")
    os.makedirs(root / "images")
    os.makedirs(root / "labels")
    frames = []
    for i in range(1, 11):
        name = f"f{i:06d}"
        Image.open(os.path.join(frames_dir, f"f{i:02d}.png")).convert("RGB").save(root / "images" / f"{name}.jpg")
        with torch.no_grad():
            det = decode(*teacher(frame_tensor(os.path.join(frames_dir, f"f{i:02d}.png"), 320)), 320, 320)[0]
        det = det[(det[:, 5] == 0) & (det[:, 4] > 0.3)]
        with open(root / "labels" / f"{name}.txt", "w") as f:
            for x1, y1, x2, y2, s, _ in det.tolist():
                x1, y1, x2, y2 = (min(max(v / 320, 0.0), 1.0) for v in (x1, y1, x2, y2))
                f.write(f"0 {(x1 + x2) / 2:.5f} {(y1 + y2) / 2:.5f} {x2 - x1:.5f} {y2 - y1:.5f} {s:.3f}\n")
        frames.append({"name": name, "split": "val" if i > 8 else "train", "t": i * 4.0})
    with open(root / "dataset.json", "w") as f:
        json.dump({"classes": ["person"], "frames": frames, "camera": "vtest"}, f)
    return str(root)
