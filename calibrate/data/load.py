"""Load account snapshots and refuse bad data with a one-line message (contract.md §1).

:func:`load_accounts` reads CSV (plain, ``.gz``, ``.bz2`` or ``.zip``), Parquet or Excel ``.xlsx``
(by extension), or takes a pandas or polars DataFrame or a pyarrow Table, maps the user's column
names to calibrate's through a :class:`DataSpec`, coerces types and checks every rule of the
contract. A mapped column always wins over a column that merely carries calibrate's name. Dates are
read with one format per column (:mod:`calibrate.data._dates`). Rows in messages are counted from 1,
header excluded (row 1 is line 2 of a CSV file).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate.data import _contract
from calibrate.data._dates import INFERRED, parse_dates
from calibrate.data._digest import sha256_frame
from calibrate.data._read import as_frame, no_duplicates, read_frame, release_arrow_buffers
from calibrate.errors import DataError, LeakageError

__all__ = ["DataSpec", "Accounts", "load_accounts", "read_sheet", "DEFAULT_DIMENSIONS"]

DEFAULT_DIMENSIONS: tuple[str, ...] = ("usage", "engagement", "support", "commercial")

_RENEWED_LABELS = _contract.RENEWED_LABELS
_CHURNED_LABELS = _contract.CHURNED_LABELS


@dataclass(frozen=True)
class DataSpec:
    """How the user's columns map to calibrate's.

    Parameters
    ----------
    dimensions : tuple of str
        Dimension names, in order. Each is read from ``columns.get(name, name)``.
    columns : dict
        calibrate name → the user's column name, for any column named differently
        (``account_id``, ``snapshot_date``, ``renewal_date``, ``renewed``, ``arr``, ``segment``
        or a dimension).
    churn_column : str, optional
        Read the outcome from a *churn* column instead (``renewed = not churned``), e.g. ``"Churn"``.
    on_missing : {"error", "keep", "median"}
        Missing sub-scores: refuse (default), keep as NaN (for a config that redistributes weight),
        or impute the column median (reported in :attr:`Accounts.imputed`).
    date_format : str or dict, optional
        ``strptime`` format of the date columns (``"%d/%m/%Y"``, ``"%Y%m%d"`` for integers like
        20240101): one for both, or calibrate name → format (``{"snapshot_date": "%d/%m/%Y"}``).
        Without one, dates must be ISO 8601 or read one unambiguous way over the whole column.
    allow_unit_scale : bool, default False
        Accept a book whose sub-scores all lie in [0, 1] (refused by default: a 0–1 scale).
    sheet : str, optional
        The worksheet of an ``.xlsx`` source (default: the first).
    """

    dimensions: tuple[str, ...] = DEFAULT_DIMENSIONS
    columns: dict[str, str] = field(default_factory=dict)
    churn_column: str | None = None
    on_missing: Literal["error", "keep", "median"] = "error"
    date_format: str | dict[str, str] | None = None
    allow_unit_scale: bool = False
    sheet: str | None = None

    def column(self, name: str) -> str:
        """The user's column for calibrate's ``name``."""
        return self.columns.get(name, name)

    def format_of(self, name: str) -> str | None:
        """The declared date format of calibrate's date column ``name`` (``None``: ISO 8601 or inferred)."""
        if isinstance(self.date_format, dict):
            return self.date_format.get(name)
        return self.date_format


@dataclass(frozen=True)
class Accounts:
    """Validated account snapshots in calibrate's column names.

    Attributes
    ----------
    frame : DataFrame
        ``account_id`` (str), ``renewed`` (int 0/1), the dimensions (float 0–100), and when present
        ``snapshot_date``/``renewal_date`` (datetime), ``arr`` (float), ``segment`` (str), plus any
        other columns of the source unchanged.
    dimensions : tuple of str
    source : str
        Where the data came from (a path, ``"<DataFrame>"`` or a redacted database URL).
    sha256 : str
        Content hash of the source, recorded in the config's provenance.
    imputed : dict
        Dimension → number of values imputed (empty unless ``on_missing="median"``).
    spec : DataSpec
        The mapping the data was loaded with (a fitted config records the user's column names).
    notes : tuple of str
        What the loader decided that the user should know: a date format inferred for a column,
        columns set aside because a mapped column took their name (the CLI prints them on stderr).
    """

    frame: pd.DataFrame
    dimensions: tuple[str, ...]
    source: str
    sha256: str
    imputed: dict[str, int] = field(default_factory=dict)
    spec: DataSpec = field(default_factory=DataSpec)
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def n_accounts(self) -> int:
        """Number of distinct accounts."""
        return int(self.frame["account_id"].nunique())

    @property
    def n_churned(self) -> int:
        """Number of rows whose renewal did not happen (0 for data loaded without outcomes)."""
        if "renewed" not in self.frame:
            return 0
        return int((self.frame["renewed"] == 0).sum())

    @property
    def period(self) -> tuple[str | None, str | None]:
        """First and last snapshot date (ISO), or ``(None, None)`` without snapshot dates."""
        if "snapshot_date" not in self.frame:
            return None, None
        d = self.frame["snapshot_date"]
        return d.min().date().isoformat(), d.max().date().isoformat()

    def subset(self, mask: np.ndarray | pd.Series) -> Accounts:
        """The same data restricted to the rows where ``mask`` is true."""
        return replace(self, frame=self.frame.loc[np.asarray(mask)].reset_index(drop=True))

    def describe(self) -> pd.DataFrame:
        """Per dimension (and ``renewed`` when present): ``count``, ``mean``, ``std``, ``min``, ``max``.

        Aggregates only — what a notebook shows instead of raw rows.
        """
        cols = [*self.dimensions, *(["renewed"] if "renewed" in self.frame else [])]
        table = self.frame[cols].astype(float).describe().T[["count", "mean", "std", "min", "max"]]
        return table.astype({"count": int}).rename_axis("column")

    def _repr_html_(self) -> str:
        from calibrate._html import result_html

        return result_html(self, self.describe())

    def __repr__(self) -> str:
        return (
            f"<Accounts {len(self):,} rows, {self.n_accounts:,} accounts, {self.n_churned:,} churned, "
            f"dimensions {list(self.dimensions)} from {self.source}>"
        )


def _rows(mask: np.ndarray | pd.Series, limit: int = 5) -> str:
    idx = np.flatnonzero(np.asarray(mask)) + 1
    shown = ", ".join(str(i) for i in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"row{'s' if len(idx) > 1 else ''} {shown}{more}"


_SOURCE, _SHA256 = "calibrate.source", "calibrate.sha256"


def read_sheet(path: str | os.PathLike[str], sheet: str) -> pd.DataFrame:
    """One worksheet of an ``.xlsx`` file, as a frame :func:`load_accounts` records under the file's name.

    The frame's ``attrs`` carry the source (``"book.xlsx (sheet 'Q1')"``) and the file's SHA-256: what
    a config fitted on it records (the CLI's ``--sheet``).
    """
    frame, digest = read_frame(Path(path), sheet=sheet)
    frame.attrs.update({_SOURCE: f"{path} (sheet {sheet!r})", _SHA256: digest})
    return frame


def load_accounts(
    source: str | os.PathLike[str] | pd.DataFrame | Any,
    *,
    spec: DataSpec | None = None,
    query: str | None = None,
    require_outcome: bool = True,
    allow_pending: bool = False,
) -> Accounts:
    """Read and validate account snapshots.

    Parameters
    ----------
    source : path, database URL, DataFrame or Table
        A ``.csv`` (or ``.csv.gz``, ``.csv.bz2``, ``.zip``), ``.parquet`` or ``.xlsx`` file (the sheet
        from ``spec.sheet``); a pandas or polars DataFrame or a pyarrow Table (converted to pandas);
        or a SQLAlchemy database URL (``postgresql://…``, ``duckdb:///file.duckdb``) used with ``query``.
    spec : DataSpec, optional
        Column mapping and options; defaults to calibrate's column names and the four default dimensions.
    query : str, optional
        SQL to run when ``source`` is a database URL.
    require_outcome : bool, default True
        Refuse data without a valid outcome column. ``False`` loads data to *score* (no
        ``renewed`` needed): an outcome column, when present, is left as it is and unchecked.
    allow_pending : bool, default False
        Keep rows whose outcome is missing (renewal not decided yet) with ``renewed`` = NaN (the
        column is then float) instead of refusing them. For validation only, which counts them
        apart (:func:`calibrate.validation.separation.validate`); fitting refuses such data.

    Returns
    -------
    Accounts

    Raises
    ------
    DataError
        Any rule of contract.md §1 broken; the message names the file, column, first rows and the fix.
    LeakageError
        A renewal date on or before its snapshot date.
    """
    spec = spec or DataSpec()
    if not isinstance(source, (str, os.PathLike, pd.DataFrame)):
        where = f"<{type(source).__module__.split('.')[0]}.{type(source).__name__}>"
        source = as_frame(source)
    else:
        where = "<DataFrame>"
    if isinstance(source, pd.DataFrame):
        where = source.attrs.get(_SOURCE, where)
        no_duplicates(list(source.columns), where)
        raw, digest = source.copy(), source.attrs.get(_SHA256) or sha256_frame(source)
    elif query is not None or "://" in str(source):
        from calibrate.data.sql import read_sql

        raw, where, digest = read_sql(str(source), query)
    else:
        where = str(source)
        raw, digest = read_frame(Path(source), sheet=spec.sheet)
    accounts = _validate(raw, spec, where, digest, require_outcome=require_outcome, allow_pending=allow_pending)
    del raw
    release_arrow_buffers()
    return accounts


def _validate(raw: pd.DataFrame, spec: DataSpec, where: str, digest: str, *, require_outcome: bool = True,
              allow_pending: bool = False) -> Accounts:
    if len(raw) == 0:
        raise DataError(_contract.no_rows(where))
    if len(spec.dimensions) < 2:
        raise DataError(f"{where}: a health score needs at least 2 dimensions; got {list(spec.dimensions)}")
    repeated = sorted({d for d in spec.dimensions if spec.dimensions.count(d) > 1})
    if repeated:
        raise DataError(f"{where}: dimension(s) {repeated} listed more than once; name each dimension once")
    _check_names(spec.dimensions, where)
    outcome_col = spec.churn_column or spec.column("renewed")
    required = {"account_id": spec.column("account_id")} | ({"renewed": outcome_col} if require_outcome else {})
    required |= {d: spec.column(d) for d in spec.dimensions}
    missing = [col for col in required.values() if col not in raw.columns]
    if missing:
        raise DataError(_contract.missing_columns(where, missing, list(raw.columns)))
    optional = {k: spec.column(k) for k in ("snapshot_date", "renewal_date", "arr", "segment")}
    optional = {k: v for k, v in optional.items() if v in raw.columns}
    mapped = {**required, **optional}
    _one_role_per_column(mapped, where)
    rename = {user: ours for ours, user in mapped.items()}
    # A mapped column wins: a column that only carries calibrate's name is set aside (and said so).
    shadowed = [c for c in raw.columns if c in rename.values() and c not in rename]
    notes = [f"column {c!r} ignored: {c!r} is read from column {mapped[c]!r}" for c in shadowed]
    frame = raw.drop(columns=shadowed).rename(columns=rename).reset_index(drop=True)

    ids = frame["account_id"]
    if ids.isna().any():
        raise DataError(_contract.empty_id(where, spec.column('account_id'), _rows(ids.isna())))
    frame["account_id"] = ids.astype(str)

    if require_outcome:
        pending = frame["renewed"].isna() if allow_pending else None
        if pending is not None and pending.any():
            filled = frame["renewed"].astype(object).where(~pending, "1")  # checked apart, then set to NaN
            known = parse_outcome(filled, outcome_col, where, is_churn=spec.churn_column is not None)
            frame["renewed"] = known.astype(float).where(~pending)  # NaN: renewal not decided yet
        else:
            frame["renewed"] = parse_outcome(frame["renewed"], outcome_col, where, is_churn=spec.churn_column is not None)

    imputed: dict[str, int] = {}
    for dim in spec.dimensions:
        col = spec.column(dim)
        values = frame[dim]
        if values.dtype != np.float64:  # to_numeric copies even a float64 column
            values = pd.to_numeric(values, errors="coerce")
            bad = values.isna() & frame[dim].notna()
            if bad.any():
                first = frame[dim][bad].iloc[0]
                raise DataError(_contract.non_numeric(where, col, first, _rows(bad)))
            values = values.astype(float)
        out = (values < 0) | (values > 100)
        if out.any():
            raise DataError(_contract.out_of_range(where, col, values[out].iloc[0], _rows(out)))
        gaps = values.isna()
        if gaps.any():
            if spec.on_missing == "error":
                raise DataError(_contract.missing_sub_score(where, col, _rows(gaps)))
            if spec.on_missing == "median":
                imputed[dim] = int(gaps.sum())
                values = values.fillna(values.median())
        frame[dim] = values
    if not spec.allow_unit_scale:
        _not_unit_scale(frame, spec, where)

    for col in ("snapshot_date", "renewal_date"):
        if col in frame:
            frame[col], how = parse_dates(frame[col], spec.column(col), where, rows=_rows, date_format=spec.format_of(col))
            if how.endswith(INFERRED):  # ISO 8601 and a declared format are what the user asked for
                notes.append(f"column {spec.column(col)!r}: dates read as {how}")
    if "snapshot_date" in frame:
        dup = frame.duplicated(["account_id", "snapshot_date"], keep="first")
        if dup.any():
            raise DataError(_contract.duplicate_snapshot(where, _rows(dup), frame['account_id'][dup].iloc[0]))
        if "renewal_date" in frame:
            leak = frame["renewal_date"].notna() & (frame["renewal_date"] <= frame["snapshot_date"])
            if leak.any():
                raise LeakageError(_contract.leakage(where, spec.column('renewal_date'), _rows(leak)))
    if "arr" in frame:
        arr = pd.to_numeric(frame["arr"], errors="coerce")
        bad = (arr.isna() & frame["arr"].notna()) | (arr < 0)
        if bad.any():
            raise DataError(_contract.bad_arr(where, spec.column('arr'), _rows(bad)))
        frame["arr"] = arr.astype(float)
    if "segment" in frame:
        frame["segment"] = frame["segment"].astype("string").fillna("(none)").astype(str)

    classes = set(frame["renewed"].dropna().unique().tolist()) if require_outcome else {0, 1}
    if len(classes) < 2:
        only = "renewed" if classes == {1} else "churned"
        raise DataError(_contract.one_class(where, outcome_col, only))
    return Accounts(frame=frame, dimensions=tuple(spec.dimensions), source=where, sha256=digest, imputed=imputed,
                    spec=spec, notes=tuple(notes))


def _check_names(dimensions: tuple[str, ...], where: str) -> None:
    """Dimension names must be identifiers (the config's rule); a column with spaces is mapped to one."""
    from calibrate.config.model import Dimension

    pattern = Dimension.model_json_schema()["properties"]["name"]["pattern"]
    for name in dimensions:
        if not re.fullmatch(pattern, name):
            ident = re.sub(r"\W+", "_", name.strip(), flags=re.ASCII).strip("_").lower() or "dimension"
            ident = ident if re.fullmatch(pattern, ident) else f"d_{ident}"
            raise DataError(
                f"{where}: dimension name {name!r} is not an identifier (letters, digits and _); name the "
                f"dimension {ident!r} and map it to the column: columns={{{ident!r}: {name!r}}} in the data spec"
            )


def _one_role_per_column(mapped: dict[str, str], where: str) -> None:
    """Refuse one user column read as two of calibrate's columns (two dimensions, or a dimension and a key)."""
    roles: dict[str, list[str]] = {}
    for ours, user in mapped.items():
        roles.setdefault(user, []).append(ours)
    for user, ours in roles.items():
        if len(ours) > 1:
            raise DataError(
                f"{where}: column {user!r} is mapped to {ours}; each dimension (and key) needs a column of its "
                "own — fix the mapping in the data spec"
            )


def _not_unit_scale(frame: pd.DataFrame, spec: DataSpec, where: str) -> None:
    """Refuse sub-scores that all lie in [0, 1]: a 0–1 scale read as 0–100 squeezes every score into 0–1."""
    # column by column (NaN skipped): no (rows × dimensions) copy
    low = np.array([frame[d].min() for d in spec.dimensions], dtype=float)
    high = np.array([frame[d].max() for d in spec.dimensions], dtype=float)
    present = ~np.isnan(low)
    if present.any() and low[present].min() >= 0.0 and high[present].max() <= 1.0:
        cols = [spec.column(d) for d in spec.dimensions]
        raise DataError(_contract.unit_scale(where, cols))


def parse_outcome(col: pd.Series, name: str, where: str, *, is_churn: bool) -> pd.Series:
    if col.isna().any():
        raise DataError(_contract.missing_outcome(where, name, _rows(col.isna())))
    if pd.api.types.is_numeric_dtype(col) and col.isin((0, 1)).all():  # bools too: read without making text
        renewed = col == 1  # the labels "1"/"1.0"/"true" of a typed column
    else:
        text = col.astype(str).str.strip().str.lower()
        renewed = text.isin(_RENEWED_LABELS)
        bad = ~(renewed | text.isin(_CHURNED_LABELS))
        if bad.any():
            raise DataError(_contract.bad_outcome(where, name, col[bad].iloc[0], _rows(bad)))
    value = renewed.astype(int)
    return (1 - value) if is_churn else value
