"""Progress on long work, on stderr, only when someone is watching (drawn by rich).

Shown when stderr is a terminal; silent when it is not (a log file, a pipe, a notebook
capture), when the ``CI`` environment variable is set (GitHub Actions, GitLab, most CI
systems), when ``CALIBRATE_QUIET`` is set, or after :func:`set_quiet` (``--quiet``).
Two forms cover the long steps of a run; each is a row of one live display (spinner, label,
bar, elapsed time), a step opened inside another gets the row below it:

>>> from calibrate import _progress as progress
>>> with progress.step("fitting weights"):      # "✓ fitting weights ━━━━ 100% 0:00:01"
...     pass
>>> sum(progress.iterate(range(3), label="resamples"))   # "⠹ resamples ━━╸━ 67% 0:00:02"
3

Nothing here changes a result: progress only writes to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar

__all__ = ["enabled", "set_quiet", "step", "iterate"]

T = TypeVar("T")

_QUIET = False
_LIVE: list[Any] = []  # the open rich Progress: rich allows one live display at a time, nested steps share it


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


@contextmanager
def _row(label: str, total: int | None, stream: IO[str] | None) -> Iterator[Callable[[], None] | None]:
    """A row of the live display while the block runs; yields its ``advance`` (None when silent)."""
    out = sys.stderr if stream is None else stream
    if not enabled(out):
        yield None
        return
    outermost = not _LIVE
    if outermost:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
        from rich.table import Column

        console = Console(file=out)
        column = Column(no_wrap=True, overflow="ellipsis", max_width=max(console.width - 30, 10))  # time stays visible
        _LIVE.append(Progress(SpinnerColumn(finished_text="✓"), TextColumn("{task.description}", markup=False, table_column=column),
                              BarColumn(bar_width=10), TaskProgressColumn(), TimeElapsedColumn(), console=console,
                              refresh_per_second=5, redirect_stdout=False, redirect_stderr=False))
        _LIVE[0].start()
    live = _LIVE[0]
    task = live.add_task(label, total=total)
    ok = False
    try:
        yield lambda: live.advance(task)
        ok = True
    finally:
        if ok:  # a step (no total) or a counter of unknown length fills its bar when done
            row = next(t for t in live.tasks if t.id == task)
            filled = (row.total if row.total is not None else row.completed) or 1
            live.update(task, total=filled, completed=filled)
        else:
            live.update(task, description=f"{label} — failed")
        live.stop_task(task)
        if outermost:
            live.stop()
            _LIVE.clear()


@contextmanager
def step(label: str, *, stream: IO[str] | None = None) -> Iterator[None]:
    """Show ``label`` with a spinner and the elapsed time while the block runs, then a full bar (or ``failed``).

    Parameters
    ----------
    label : str
        What is being done, e.g. ``"bootstrap (2,000 resamples of 3,500 accounts)"``.
    stream : file, optional
        Where to write (default stderr); nothing is written unless :func:`enabled`.
    """
    with _row(label, None, stream):
        yield


def iterate(
    items: Iterable[T], *, label: str, total: int | None = None, stream: IO[str] | None = None
) -> Iterator[T]:
    """Yield ``items`` unchanged, drawing a bar of ``label`` (percent done, elapsed) five times a second.

    Parameters
    ----------
    items : iterable
    label : str
    total : int, optional
        Defaults to ``len(items)`` when it has one.
    stream : file, optional
        Where to write (default stderr); nothing is written unless :func:`enabled`.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with _row(label, total, stream) as advance:
        for item in items:
            yield item
            if advance is not None:
                advance()
