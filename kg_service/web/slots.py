"""A bound on work at once, counted by the kernel across processes, that a killed process cannot leak.

The front processes (`fronts`) share their bounds (validations at once, large reads at once). A POSIX
semaphore shared by them would stay taken if a front died holding it (kill -9, an abort, a front that
ended while a validation ran): after a few such deaths the service would refuse that work for good.
Here a slot is an exclusive `flock` on one of `n` files in a folder made before the fronts are forked:
the kernel drops a process's locks when its descriptors close, however it ends. Each taking opens its
own descriptor, so threads of one process compete for the slots as processes do.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
from pathlib import Path


class Slots:
    """`n` slots; `take()` gives a token (None when all are taken) that `give_back(token)` returns.

    >>> slots = Slots(1)
    >>> first = slots.take(); second = slots.take()
    >>> first is not None, second
    (True, None)
    >>> slots.give_back(first); third = slots.take(); third is not None
    True
    """

    def __init__(self, n: int):
        self.n = n
        folder = Path(tempfile.mkdtemp(prefix="kg-service-slots-"))
        atexit.register(shutil.rmtree, folder, True)  # in the process that made it (fronts end by os._exit)
        self.paths = [folder / f"slot-{i}" for i in range(n)]
        for path in self.paths:
            path.touch()

    def take(self) -> int | None:
        for path in self.paths:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    def give_back(self, token: int) -> None:
        os.close(token)  # closing the descriptor drops its lock
