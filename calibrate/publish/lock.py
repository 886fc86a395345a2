"""The publish lock: one publisher at a time per store.

Every command that writes a store (``run``, ``fit``, ``config publish``, ``register``, ``promote``)
holds an exclusive ``fcntl.flock`` on ``<store>/.calibrate-publish.lock`` for each store it writes,
taken in a fixed order (sorted paths) so two publishers never deadlock. The kernel releases the
lock when its process dies, so a crash never leaves a stale lock behind. A second publisher waits
up to ``CALIBRATE_LOCK_TIMEOUT`` seconds (default 600) and then stops with exit 2 and one line.
The lock is taken before MLflow opens its store, so two runs on a fresh store no longer race in
its schema migration.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from calibrate.errors import CalibrateError

__all__ = ["LOCK_FILE", "PublishLockedError", "publish_lock"]

LOCK_FILE = ".calibrate-publish.lock"
_HELD: set[Path] = set()  # locks this process holds (a nested publish step does not lock itself out)


class PublishLockedError(CalibrateError):
    """Another publish holds the lock of a store for longer than the wait allowed."""


def _timeout() -> float:
    raw = os.environ.get("CALIBRATE_LOCK_TIMEOUT", "600")
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise PublishLockedError(f"CALIBRATE_LOCK_TIMEOUT={raw!r} is not a number of seconds; set it to e.g. 600") from None


@contextlib.contextmanager
def _one_lock(directory: Path, timeout: float) -> Iterator[None]:
    import fcntl

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    with open(path, "a+", encoding="utf-8") as fh:
        deadline, told = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "?"
                if time.monotonic() >= deadline:
                    raise PublishLockedError(
                        f"{path}: another publish is in progress (pid {holder}); wait for it to finish, or raise "
                        f"CALIBRATE_LOCK_TIMEOUT (now {timeout:g} s)") from None
                if not told:
                    print(f"calibrate: waiting for another publish in progress ({path}, pid {holder})", file=sys.stderr)
                    told = True
                time.sleep(0.2)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        _HELD.add(directory)
        try:
            yield
        finally:
            _HELD.discard(directory)
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def publish_lock(*directories: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the publish lock of every store in ``directories`` (created when missing).

    Raises
    ------
    PublishLockedError
        Another process kept a lock past ``CALIBRATE_LOCK_TIMEOUT`` seconds.
    """
    timeout = _timeout()
    with contextlib.ExitStack() as stack:
        for directory in sorted({Path(d).resolve() for d in directories}):
            if directory not in _HELD:
                stack.enter_context(_one_lock(directory, timeout))
        yield
