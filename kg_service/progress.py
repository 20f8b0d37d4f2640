"""Progress bars for long work (compiling the seeds, loading, validating, dumping), on a terminal only.

Any stage may wrap a loop in ``with progress("Compiling", total=n) as step: ... step()``. The bar is
drawn by tqdm on stderr when stderr is a terminal, and nothing at all happens otherwise: pipes, logs,
tests and the web server's workers see not a byte of it. tqdm's own ``TQDM_DISABLE=1`` turns the bars
off on a terminal too (no setting of ours: the one tqdm users know). tqdm was chosen over rich: one
small pure-Python package without dependencies, which draws exactly this and nothing more.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Step = Callable[..., object]  # step() or step(n): n more units done


def shown(stream: TextIO | None = None) -> bool:
    """Whether bars are drawn on `stream` (stderr by default): a terminal.

    >>> import io
    >>> shown(io.StringIO())
    False
    """
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _silent(n: int = 1) -> None:
    """The step of a silent progress: does nothing."""


@contextmanager
def progress(label: str, total: int | None = None, *, unit: str = "it",
             stream: TextIO | None = None) -> Iterator[Step]:
    """A step function advancing a bar labelled `label` towards `total` (None: a counter without end).

    The bar is removed when the work ends, so the command's own output stays as it would be without it.

    >>> with progress("Counting", total=3) as step:
    ...     for _ in range(3):
    ...         step()
    """
    stream = sys.stderr if stream is None else stream
    if not shown(stream):
        yield _silent
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit=unit, file=stream, leave=False, dynamic_ncols=True) as bar:
        yield bar.update
