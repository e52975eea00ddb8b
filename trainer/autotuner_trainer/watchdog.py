"""Exit when the process that launched us dies.

A worker killed with SIGKILL cannot stop its trainer; the retried activity on a new worker would
then race an orphaned trainer over the same checkpoint directory. The launcher passes its pid in
AUTOTUNER_PARENT_PID and we leave as soon as we are re-parented.
"""

from __future__ import annotations

import os
import sys
import threading
import time


def start_parent_watchdog(interval_s: float = 1.0) -> None:
    raw = os.environ.get("AUTOTUNER_PARENT_PID")
    if not raw:
        return
    expected = int(raw)

    def watch() -> None:
        while True:
            if os.getppid() != expected:
                print(f"[autotuner_trainer] launcher pid {expected} is gone; exiting", file=sys.stderr, flush=True)
                os._exit(3)
            time.sleep(interval_s)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
