"""Stop an add at one of its steps in another process (see step_hook/sitecustomize.py), to kill it there."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

HOOK_DIR = Path(__file__).parent / "step_hook"


def stopping_env(step: str, marker: Path) -> dict[str, str]:
    """Environment for a process whose add stops itself (SIGSTOP) after `step`, writing `marker` first."""
    path = os.pathsep.join(p for p in (str(HOOK_DIR), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "KG_TEST_STOP_AT": f"{step}:{marker}"}


def wait_stopped(marker: Path, alive: Callable[[], bool], timeout_s: float = 120) -> int:
    """Wait until the process that wrote `marker` has stopped itself; return its pid. `alive()` says
    whether the process the test started still runs (the test fails at once if it ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert alive(), "the process ended before reaching the step"
        if marker.exists() and marker.read_text(encoding="utf-8"):
            pid = int(marker.read_text(encoding="utf-8"))
            if _stopped(pid):
                return pid
        time.sleep(0.02)
    raise AssertionError(f"no add stopped at the step within {timeout_s} s")


def _stopped(pid: int) -> bool:
    """Whether every thread of the process is stopped (state T)."""
    try:
        states = [(task / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0]
                  for task in Path(f"/proc/{pid}/task").iterdir()]
    except OSError:
        return False
    return bool(states) and all(state == "T" for state in states)
