"""Progress on long work, on stderr, only when someone is watching.

Shown when stderr is a terminal; silent when it is not (a log file, a pipe, a notebook
capture), when the ``CI`` environment variable is set (GitHub Actions, GitLab, most CI
systems), when ``CALIBRATE_QUIET`` is set, or after :func:`set_quiet` (``--quiet``).
Two forms cover the long steps of a run:

>>> from calibrate import progress
>>> with progress.step("fitting weights"):      # "fitting weights … done in 1.2 s"
...     pass
>>> total = sum(progress.iterate(range(3), label="resamples"))   # "resamples 2/3 (67 %)"

Nothing here changes a result: progress only writes to stderr.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TypeVar

__all__ = ["enabled", "set_quiet", "step", "iterate"]

T = TypeVar("T")

_QUIET = False
_MIN_INTERVAL = 0.2  # seconds between two redraws of a counter
_OPEN: list[list] = []  # steps whose line is being written: [label, interrupted by a nested line]


def set_quiet(quiet: bool = True) -> None:
    """Silence (or re-enable) progress for this process, e.g. from ``--quiet``."""
    global _QUIET
    _QUIET = bool(quiet)


def enabled(stream: IO[str] | None = None) -> bool:
    """Whether progress is shown: a terminal on ``stream`` (stderr), not quiet, not in CI."""
    if _QUIET or os.environ.get("CALIBRATE_QUIET") or os.environ.get("CI"):
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _elapsed(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


@contextmanager
def step(label: str, *, stream: IO[str] | None = None) -> Iterator[None]:
    """Show ``label …`` while the block runs, then ``done in X s`` (or ``failed``) on the same line.

    Parameters
    ----------
    label : str
        What is being done, e.g. ``"bootstrap (2,000 resamples of 3,500 accounts)"``.
    stream : file, optional
        Where to write (default stderr); nothing is written unless :func:`enabled`.
    """
    out = sys.stderr if stream is None else stream
    show = enabled(out)
    start = time.perf_counter()
    if show:
        if _OPEN and not _OPEN[-1][1]:  # an outer step's line is open: end it; it reports on its own line later
            out.write("\n")
            _OPEN[-1][1] = True
        out.write(f"{label} …")
        out.flush()
        _OPEN.append([label, False])
    ok = False
    try:
        yield
        ok = True
    finally:
        if show:
            _, interrupted = _OPEN.pop()
            end = "done in " + _elapsed(time.perf_counter() - start) if ok else "failed"
            out.write(f"{label} … {end}\n" if interrupted else f" {end}\n")
            if _OPEN:
                _OPEN[-1][1] = True
            out.flush()


def iterate(
    items: Iterable[T], *, label: str, total: int | None = None, stream: IO[str] | None = None
) -> Iterator[T]:
    """Yield ``items`` unchanged, redrawing ``label i/total (p %)`` at most five times a second.

    Parameters
    ----------
    items : iterable
    label : str
    total : int, optional
        Defaults to ``len(items)`` when it has one.
    stream : file, optional
        Where to write (default stderr); nothing is written unless :func:`enabled`.
    """
    out = sys.stderr if stream is None else stream
    if not enabled(out):
        yield from items
        return
    if total is None:
        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
    start = last = time.perf_counter()
    i = 0
    if _OPEN and not _OPEN[-1][1]:  # inside a step: the counter takes its own line
        out.write("\n")
        _OPEN[-1][1] = True

    def draw(i: int) -> None:
        frac = f"/{total} ({i / total:.0%})" if total else ""
        out.write(f"\r{label} {i:,}{frac}")
        out.flush()

    try:
        for i, item in enumerate(items, start=1):
            yield item
            now = time.perf_counter()
            if now - last >= _MIN_INTERVAL:
                draw(i)
                last = now
    finally:
        draw(i)
        out.write(f" done in {_elapsed(time.perf_counter() - start)}\n")
        out.flush()
