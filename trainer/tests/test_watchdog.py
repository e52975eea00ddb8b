"""The trainer leaves when its launcher dies (a worker killed with SIGKILL cannot stop it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from conftest import TRAINER, WEIGHTS


def test_trainer_exits_when_its_launcher_is_killed() -> None:
    # A shell stands in for the worker: it launches the trainer (long synthetic bench) and waits.
    trainer = f"{sys.executable} -m autotuner_trainer bench --synthetic --init {WEIGHTS} --imgsz 64 --batch 2 --steps 100000 --device cpu"
    launcher = subprocess.Popen(
        ["bash", "-c", f'export AUTOTUNER_PARENT_PID=$$; {trainer} & echo $! ; wait'],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=TRAINER),
    )
    assert launcher.stdout is not None
    child = int(launcher.stdout.readline())
    time.sleep(3)
    assert os.path.exists(f"/proc/{child}"), "trainer started"
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait()
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            state = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state == "Z":
            return
        time.sleep(0.2)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("trainer kept running after its launcher was killed")


def test_no_watchdog_without_a_launcher_pid() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AUTOTUNER_PARENT_PID"}
    p = subprocess.run([sys.executable, "-c", "from autotuner_trainer.watchdog import start_parent_watchdog as s; s(); print('ok')"],
                       capture_output=True, text=True, env=dict(env, PYTHONPATH=TRAINER), timeout=30)
    assert p.stdout.strip() == "ok"
