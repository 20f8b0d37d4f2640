"""Imported at start-up by the processes the kill tests start (they put this folder on PYTHONPATH).

With ``KG_TEST_STOP_AT=STEP:MARKER`` an add that reaches STEP (one of kg_service.seeds.STEPS) writes
MARKER and stops itself with SIGSTOP, so the test kills it exactly there: no sleep, no race, and no
test hook in the service's own code (it only announces its steps to `seeds.STEP_HOOKS`).
"""

import os
import signal
import threading
from pathlib import Path

_SPEC = os.environ.get("KG_TEST_STOP_AT")
if _SPEC:
    from kg_service import seeds

    _STEP, _MARKER = _SPEC.split(":", 1)

    def _stop(step: str) -> None:
        if step == _STEP:
            Path(_MARKER).write_text(str(os.getpid()), encoding="utf-8")
            # Sent to this thread, so that it is the one that stops at once (a signal sent to the process may
            # be taken by another thread, letting this one run on for a moment); the others follow.
            signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)

    seeds.STEP_HOOKS.append(_stop)
