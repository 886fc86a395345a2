"""Date columns read one way per column, never value by value (contract.md §1).

A date column is read with ONE format for the whole column:

* ISO 8601 (``2025-03-31``, ``2025-03-31T09:00:00+02:00``) by default;
* a declared ``date_format`` (``%d/%m/%Y``, ``%Y%m%d`` …) when the spec gives one;
* otherwise the one format of :data:`CANDIDATES` that reads every value of the column, when the
  candidates that do all give the same dates (reported); more than one reading is refused as
  ambiguous (day/month), none as unreadable.

Numbers (``20240101``, Excel serials, epoch seconds) are dates only under a declared format. Years
outside :data:`YEARS`, and offsets that differ within a column, are refused. Every refusal names
the column, a sample value, its rows and the fix.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from calibrate.errors import DataError

__all__ = ["parse_dates", "YEARS", "CANDIDATES", "ISO", "INFERRED"]

ISO = "ISO 8601"
"""How the default format is reported."""

INFERRED = "(inferred over the whole column)"
"""The suffix of a format that was inferred, not declared: the loader reports it."""

YEARS = (1900, 2200)
"""Years a snapshot or renewal date may fall in (inclusive); outside is a placeholder or a typo."""

_TIMES = ("", " %H:%M", " %H:%M:%S")
CANDIDATES: tuple[str, ...] = tuple(
    day + time
    for day in ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%m.%d.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d",
                "%d %b %Y", "%d-%b-%Y", "%b %d %Y", "%b %d, %Y", "%d %B %Y", "%B %d %Y", "%B %d, %Y")
    for time in _TIMES
)
"""Formats tried, over the whole column, on a column that is not ISO 8601 and has no declared format."""

_ISO_RE = re.compile(
    r"\s*\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?\s*"
)

Rows = Callable[[np.ndarray | pd.Series], str]


def _first(values: pd.Series) -> str:
    """The first value, as the user wrote it (``20240101``, not ``np.int64(20240101)``)."""
    v = values.iloc[0]
    return repr(v.item() if isinstance(v, np.generic) else v)


def parse_dates(col: pd.Series, name: str, where: str, *, rows: Rows, date_format: str | None = None
                ) -> tuple[pd.Series, str]:
    """Parse one date column with one format; naive UTC ``datetime64[ns]``.

    Parameters
    ----------
    col : Series
        The column as read (strings, numbers, datetimes or ``datetime.date`` objects).
    name, where : str
        The user's column name and the source, for messages.
    rows : callable
        Formats a boolean mask as ``"rows 1, 4 and 2 more"`` (1-based).
    date_format : str, optional
        A declared ``strptime`` format, used for every value.

    Returns
    -------
    parsed : Series
    how : str
        The format used and how it was chosen (``"ISO 8601"``, ``"%d/%m/%Y (declared)"``,
        ``"%d/%m/%Y (inferred over the whole column)"``, ``"datetime"`` for a typed column).

    Raises
    ------
    DataError
        Numbers without a declared format, an ambiguous or unreadable column, values not matching
        the declared format, mixed time zones, or a year outside :data:`YEARS`.
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed, how = col, "datetime"
    elif (present := col.notna() & (col.astype(str).str.strip() != "")).any() and col[present].map(lambda v: isinstance(v, dt.date)).all():
        parsed, how = _typed(col, present, name, where, rows=rows), "datetime"
    elif date_format is not None:
        parsed, how = _declared(col, present, date_format, name, where, rows=rows), f"{date_format} (declared)"
    else:
        text = _text(col, present, name, where, rows=rows)
        parsed, how = _iso_or_inferred(text, present, name, where, rows=rows)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    year = parsed.dt.year
    out = parsed.notna() & ((year < YEARS[0]) | (year > YEARS[1]))
    if out.any():
        raise DataError(
            f"{where}: column {name!r}: date {_first(col[out])} outside the years {YEARS[0]}-{YEARS[1]} at {rows(out)}; "
            "a placeholder or a typo — fix or drop those rows"
        )
    return parsed.astype("datetime64[ns]"), how


def _typed(col: pd.Series, present: pd.Series, name: str, where: str, *, rows: Rows) -> pd.Series:
    """``datetime.date``/``datetime`` objects (a database driver, a Parquet date32 column)."""
    zones = col[present].map(lambda v: v.utcoffset() if isinstance(v, dt.datetime) else None)
    _one_zone(col, present, zones.astype(str), name, where, rows=rows)
    values = col.where(present).map(lambda v: _year_safe(v) if isinstance(v, dt.date) else v)
    return pd.to_datetime(values, utc=zones.notna().any())


def _year_safe(value: dt.date) -> dt.date:
    # Out-of-range years are refused by the caller; clamp them here so the conversion cannot overflow.
    return value if YEARS[0] <= value.year <= YEARS[1] else value.replace(year=YEARS[0] - 1 if value.year < YEARS[0] else YEARS[1] + 1)


def _text(col: pd.Series, present: pd.Series, name: str, where: str, *, rows: Rows) -> pd.Series:
    """The column as stripped strings; numbers are refused (a date only under a declared format)."""
    numeric = pd.api.types.is_numeric_dtype(col) or col[present].map(
        lambda v: isinstance(v, (int, float, np.number)) or bool(re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", str(v)))
    ).all()
    if numeric and present.any():
        first = _first(col[present])
        hint = "%Y%m%d" if re.fullmatch(r"'?\d{8}(\.0*)?'?", first) else "the format of the export"
        raise DataError(
            f"{where}: column {name!r}: {first} is a number, not a date (at {rows(present)}); if it is a date "
            f"declare date_format={hint!r} for this column, or export dates as YYYY-MM-DD"
        )
    return col.where(present).astype("string").str.strip()


def _declared(col: pd.Series, present: pd.Series, fmt: str, name: str, where: str, *, rows: Rows) -> pd.Series:
    values = col
    if pd.api.types.is_float_dtype(col) and (col[present] == col[present].round()).all():
        values = col.astype("Int64")  # 20240101.0 (an integer column with blanks) -> "20240101"
    text = values.where(present).astype("string").str.strip()
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: column {name!r}: date_format {fmt!r} is not a strptime format ({exc})") from None
    bad = parsed.isna() & present
    if bad.any():
        raise DataError(
            f"{where}: column {name!r}: {_first(col[bad])} does not match the declared date_format {fmt!r} at "
            f"{rows(bad)}; fix those values or declare the format the export uses"
        )
    return parsed


def _one_zone(col: pd.Series, present: pd.Series, zones: pd.Series, name: str, where: str, *, rows: Rows) -> None:
    """Refuse a column whose values carry different UTC offsets (or some an offset and some none)."""
    kinds = zones[present]
    if kinds.nunique(dropna=False) > 1:
        other = present & (zones != kinds.iloc[0])
        raise DataError(
            f"{where}: column {name!r}: mixed time zones ({_first(col[present])} and {_first(col[other])}, "
            f"at {rows(other)}); export every date in one time zone (UTC, or all without an offset)"
        )


def _iso_or_inferred(text: pd.Series, present: pd.Series, name: str, where: str, *, rows: Rows
                     ) -> tuple[pd.Series, str]:
    match = text.str.fullmatch(_ISO_RE.pattern).fillna(False).astype(bool)
    if (match | ~present).all():
        offsets = text.str.extract(_ISO_RE.pattern + "$")["tz"].str.replace("Z", "+00:00").str.replace(":", "")
        _one_zone(text, present, offsets.fillna("none"), name, where, rows=rows)
        try:
            parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        except (ValueError, OverflowError) as exc:
            raise DataError(f"{where}: column {name!r}: unreadable ISO 8601 dates ({exc}); use YYYY-MM-DD") from None
        bad = parsed.isna() & present
        if bad.any():
            raise DataError(
                f"{where}: column {name!r}: {_first(text[bad])} is not a calendar date at {rows(bad)}; fix those values"
            )
        return parsed, ISO
    values = text[present]
    sample = values.iloc[: 200]
    readings: dict[str, pd.Series] = {}
    for fmt in CANDIDATES:
        if pd.to_datetime(sample, format=fmt, errors="coerce").notna().all():
            full = pd.to_datetime(values, format=fmt, errors="coerce")
            if full.notna().all():
                readings[fmt] = full
    distinct = {tuple(r.to_numpy()): fmt for fmt, r in readings.items()}
    if len(distinct) == 1:
        fmt = next(iter(readings))
        return pd.to_datetime(text, format=fmt, errors="coerce"), f"{fmt} {INFERRED}"
    if len(distinct) > 1:
        a, b = list(distinct.values())[:2]
        first = _first(values[readings[a] != readings[b]])
        raise DataError(
            f"{where}: column {name!r}: ambiguous dates — {first} reads as {a!r} and as {b!r} (day/month); "
            f"declare date_format={a!r} or {b!r} for this column"
        )
    bad = present & ~match
    raise DataError(
        f"{where}: column {name!r}: unreadable date {_first(text[bad])} at {rows(bad)}; use YYYY-MM-DD "
        "(ISO 8601), or declare the column's date_format (e.g. '%d/%m/%Y')"
    )
