"""Load account snapshots and refuse bad data with a one-line message (contract.md §1).

:func:`load_accounts` reads CSV or Parquet (by extension), or takes a DataFrame, maps the
user's column names to calibrate's through a :class:`DataSpec`, coerces types and checks every
rule of the contract. Rows in messages are counted from 1, header excluded (row 1 is line 2 of
a CSV file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from calibrate.data._digest import sha256_frame
from calibrate.errors import DataError, LeakageError

__all__ = ["DataSpec", "Accounts", "load_accounts", "DEFAULT_DIMENSIONS"]

DEFAULT_DIMENSIONS: tuple[str, ...] = ("usage", "engagement", "support", "commercial")

_RENEWED_LABELS = {"1", "1.0", "true", "yes", "y", "renewed", "t"}
_CHURNED_LABELS = {"0", "0.0", "false", "no", "n", "churned", "f"}


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
    """

    dimensions: tuple[str, ...] = DEFAULT_DIMENSIONS
    columns: dict[str, str] = field(default_factory=dict)
    churn_column: str | None = None
    on_missing: Literal["error", "keep", "median"] = "error"

    def column(self, name: str) -> str:
        """The user's column for calibrate's ``name``."""
        return self.columns.get(name, name)


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
    """

    frame: pd.DataFrame
    dimensions: tuple[str, ...]
    source: str
    sha256: str
    imputed: dict[str, int] = field(default_factory=dict)
    spec: DataSpec = field(default_factory=DataSpec)

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


def read_frame(path: Path) -> tuple[pd.DataFrame, str]:
    where = str(path)
    if not path.is_file():
        raise DataError(f"{where}: file not found; check the path passed as --data")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{where}: the file is empty; export the account snapshots again")
    digest = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    if suffix == ".parquet" or suffix == ".pq":
        try:
            return pd.read_parquet(io.BytesIO(raw)), digest
        except Exception as exc:  # pyarrow raises several unrelated types
            raise DataError(f"{where}: not a readable Parquet file ({type(exc).__name__}); re-export it") from None
    if suffix not in {".csv", ".txt", ".gz"}:
        raise DataError(f"{where}: unknown file type {suffix!r}; use .csv or .parquet, or a database URL with --query")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{where}: not UTF-8 text (byte {exc.start} cannot be decoded); re-save the file as UTF-8 CSV"
        ) from None
    header = next(csv.reader(io.StringIO(text)), [])
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise DataError(f"{where}: duplicated column(s) {dupes} in the header; keep one column of each name")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={c: str for c in header if "id" in c.lower()},
                            float_precision="round_trip")  # exact: the default parser can miss by an ulp
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{where}: not a readable CSV ({str(exc).splitlines()[0]}); check quoting and delimiters") from None
    return frame, digest


def load_accounts(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    spec: DataSpec | None = None,
    query: str | None = None,
    require_outcome: bool = True,
    allow_pending: bool = False,
) -> Accounts:
    """Read and validate account snapshots.

    Parameters
    ----------
    source : path, database URL or DataFrame
        A ``.csv`` or ``.parquet`` file, a DataFrame, or a SQLAlchemy database URL
        (``postgresql://…``, ``duckdb:///file.duckdb``) used with ``query``.
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
    if isinstance(source, pd.DataFrame):
        where = "<DataFrame>"
        dupes = sorted({str(c) for c in source.columns[source.columns.duplicated()]})
        if dupes:
            raise DataError(f"{where}: duplicated column(s) {dupes}; keep one column of each name")
        raw, digest = source.copy(), sha256_frame(source)
    elif query is not None or "://" in str(source):
        from calibrate.data.sql import read_sql

        raw, where, digest = read_sql(str(source), query)
    else:
        where = str(source)
        raw, digest = read_frame(Path(source))
    return _validate(raw, spec, where, digest, require_outcome=require_outcome, allow_pending=allow_pending)


def _validate(raw: pd.DataFrame, spec: DataSpec, where: str, digest: str, *, require_outcome: bool = True,
              allow_pending: bool = False) -> Accounts:
    if len(raw) == 0:
        raise DataError(f"{where}: no data rows; export the account snapshots again")
    if len(spec.dimensions) < 2:
        raise DataError(f"{where}: a health score needs at least 2 dimensions; got {list(spec.dimensions)}")
    repeated = sorted({d for d in spec.dimensions if spec.dimensions.count(d) > 1})
    if repeated:
        raise DataError(f"{where}: dimension(s) {repeated} listed more than once; name each dimension once")
    outcome_col = spec.churn_column or spec.column("renewed")
    required = {"account_id": spec.column("account_id")} | ({"renewed": outcome_col} if require_outcome else {})
    required |= {d: spec.column(d) for d in spec.dimensions}
    missing = [col for col in required.values() if col not in raw.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {missing}; the file has {list(raw.columns)[:12]} — "
            "rename nothing, map them with --dimensions / a data spec"
        )
    optional = {k: spec.column(k) for k in ("snapshot_date", "renewal_date", "arr", "segment")}
    optional = {k: v for k, v in optional.items() if v in raw.columns}
    mapped = {**required, **optional}
    rename = {user: ours for ours, user in mapped.items()}
    frame = raw.rename(columns=rename)
    frame = frame.loc[:, ~frame.columns.duplicated()].reset_index(drop=True)

    ids = frame["account_id"]
    if ids.isna().any():
        raise DataError(f"{where}: column {spec.column('account_id')!r}: empty account id at {_rows(ids.isna())}; fill it")
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
        values = pd.to_numeric(frame[dim], errors="coerce")
        bad = values.isna() & frame[dim].notna()
        if bad.any():
            first = frame[dim][bad].iloc[0]
            raise DataError(
                f"{where}: column {col!r}: non-numeric value {first!r} at {_rows(bad)}; sub-scores must be numbers 0-100"
            )
        values = values.astype(float)
        out = (values < 0) | (values > 100)
        if out.any():
            raise DataError(
                f"{where}: column {col!r}: value {values[out].iloc[0]:g} out of range 0-100 at {_rows(out)}; "
                "rescale the sub-score to 0-100 (or declare a transform)"
            )
        gaps = values.isna()
        if gaps.any():
            if spec.on_missing == "error":
                raise DataError(
                    f"{where}: column {col!r}: missing sub-score at {_rows(gaps)}; fill it, or choose "
                    "DataSpec(on_missing='median') (imputation, reported) or 'keep' (a config that redistributes weight)"
                )
            if spec.on_missing == "median":
                imputed[dim] = int(gaps.sum())
                values = values.fillna(values.median())
        frame[dim] = values

    for col in ("snapshot_date", "renewal_date"):
        if col in frame:
            frame[col] = _dates(frame[col], spec.column(col), where)
    if "snapshot_date" in frame:
        dup = frame.duplicated(["account_id", "snapshot_date"], keep="first")
        if dup.any():
            raise DataError(
                f"{where}: duplicate (account_id, snapshot_date) at {_rows(dup)} "
                f"(account {frame['account_id'][dup].iloc[0]!r}); keep one snapshot per account and date"
            )
        if "renewal_date" in frame:
            leak = frame["renewal_date"].notna() & (frame["renewal_date"] <= frame["snapshot_date"])
            if leak.any():
                raise LeakageError(
                    f"{where}: column {spec.column('renewal_date')!r}: renewal on or before the snapshot at "
                    f"{_rows(leak)} — the outcome was known when the sub-scores were measured (leakage); "
                    "drop those rows or use the snapshot taken before the renewal"
                )
    if "arr" in frame:
        arr = pd.to_numeric(frame["arr"], errors="coerce")
        bad = (arr.isna() & frame["arr"].notna()) | (arr < 0)
        if bad.any():
            raise DataError(f"{where}: column {spec.column('arr')!r}: ARR must be a number >= 0; bad at {_rows(bad)}")
        frame["arr"] = arr.astype(float)
    if "segment" in frame:
        frame["segment"] = frame["segment"].astype("string").fillna("(none)").astype(str)

    classes = set(frame["renewed"].dropna().unique().tolist()) if require_outcome else {0, 1}
    if len(classes) < 2:
        only = "renewed" if classes == {1} else "churned"
        raise DataError(
            f"{where}: column {outcome_col!r}: every row is {only}; calibrating needs both renewals and "
            "churns — widen the period or check the outcome mapping"
        )
    return Accounts(
        frame=frame, dimensions=tuple(spec.dimensions), source=where, sha256=digest, imputed=imputed, spec=spec
    )


def parse_outcome(col: pd.Series, name: str, where: str, *, is_churn: bool) -> pd.Series:
    if col.isna().any():
        raise DataError(
            f"{where}: column {name!r}: missing outcome at {_rows(col.isna())}; drop rows whose renewal is "
            "not decided yet, or fill the outcome"
        )
    text = col.astype(str).str.strip().str.lower()
    renewed = text.isin(_RENEWED_LABELS)
    churned = text.isin(_CHURNED_LABELS)
    bad = ~(renewed | churned)
    if bad.any():
        raise DataError(
            f"{where}: column {name!r}: outcome '{col[bad].iloc[0]}' at {_rows(bad)} is not 0/1, true/false "
            "or yes/no; map the labels to 0/1"
        )
    value = renewed.astype(int)
    return (1 - value) if is_churn else value


def _dates(col: pd.Series, name: str, where: str) -> pd.Series:
    parsed = pd.to_datetime(col, errors="coerce", format="mixed")
    bad = parsed.isna() & col.notna()
    if bad.any():
        raise DataError(
            f"{where}: column {name!r}: unreadable date {col[bad].iloc[0]!r} at {_rows(bad)}; use YYYY-MM-DD"
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")
