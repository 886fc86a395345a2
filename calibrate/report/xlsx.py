"""The tables of ``validate``, ``compare`` and ``drift`` as one Excel workbook (``--xlsx FILE``), one sheet per table.

Headers are in words (:func:`calibrate._labels.label`), as in the report; values stay numbers so the
analyst can sort and chart them. The workbook is written beside its target and moved into place, so
a failed write leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from calibrate import _labels as L

__all__ = ["write_workbook", "validation_tables", "comparison_tables", "drift_tables"]

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _worded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
    return out.rename(columns={c: L.label(str(c)) for c in out.columns})


def write_workbook(path: str | os.PathLike[str], tables: Mapping[str, pd.DataFrame | None]) -> Path:
    """Write ``tables`` (sheet name → table; ``None`` or empty tables are skipped) to one ``.xlsx`` workbook.

    Parameters
    ----------
    path : path
        The workbook to write (replaced if it exists).
    tables : mapping of str → DataFrame or None
        One sheet each, in order; names are cut to Excel's 31 characters.

    Returns
    -------
    Path

    Raises
    ------
    OSError
        The workbook's folder is missing or not writable (with the workbook's path).
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(suffix=".xlsx", prefix=".calibrate-", dir=target.parent)
    except OSError as exc:  # said about the workbook asked for, not the temporary file
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    os.close(fd)
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, frame in tables.items():
                if frame is None or frame.empty:
                    continue
                _worded(frame).to_excel(writer, sheet_name=_BAD_SHEET_CHARS.sub(" ", name)[:31], index=False)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def validation_tables(v: Any) -> dict[str, pd.DataFrame | None]:
    """The sheets of ``calibrate validate``: bands, red book, groups, reliability and lift."""
    tables: dict[str, pd.DataFrame | None] = {"Bands": v.to_frame().drop(columns=["color"], errors="ignore")}
    if v.red is not None:
        red = v.red.to_frame()
        red["metric"] = [L.label(m) for m in red["metric"]]
        tables["Red book"] = red
    tables |= {"Reliability": v.reliability, "Lift": v.lift}
    return tables


def comparison_tables(board: Any, champion: Any = None) -> dict[str, pd.DataFrame | None]:
    """The sheets of ``calibrate compare``: the leaderboard and, with two configs, the champion/challenger test."""
    frame = board.to_frame()
    frame["method"] = [L.METHOD_LABELS.get(m, m) for m in frame["method"]]
    return {"Leaderboard": frame, "Champion vs challenger": None if champion is None else champion.to_frame()}


def drift_tables(report: Any) -> dict[str, pd.DataFrame | None]:
    """The sheets of ``calibrate drift``: population drift, per-period performance and band mix."""
    return {"Population drift": report.to_frame(), "Per quarter": report.periods, "Band mix": report.bands}
