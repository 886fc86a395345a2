"""The data contract on an engine: the relation in calibrate's names, and its checks as aggregate queries.

:func:`create_relation` maps the user's columns (a :class:`~calibrate.data.load.DataSpec`) to calibrate's in a
view; :func:`check_contract` refuses bad data with the pandas loader's messages (:mod:`calibrate.data._contract`):
missing columns, an empty book, empty ids, non-numeric or out-of-range sub-scores, missing sub-scores (unless
kept), a 0–1 scale, outcomes that are not 0/1 labels, missing outcomes (unless pending is allowed), one class
only, duplicate (account, snapshot date) rows, renewal on or before the snapshot, bad ARR. A file's row numbers
mean nothing on an engine: messages say how many rows and one account instead. The rules are checked by one
scan of plain aggregates (counts, minima, maxima) and, for duplicates, a grouping by account of one bit per day
(DuckDB) or a grouping by a 64-bit hash of (account, snapshot date); a broken rule costs a query more, to count
and show it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd

from calibrate.data import _contract
from calibrate.data.load import DataSpec
from calibrate.errors import DataError, LeakageError

__all__ = ["create_relation", "check_contract", "quote", "RELATION", "SOURCE_VIEW"]

_OPTIONAL = ("snapshot_date", "renewal_date", "arr", "segment")
SOURCE_VIEW = "calibrate_source"
"""The source as read, with the user's column names."""
RELATION = "calibrate_snapshots"
"""The snapshots in calibrate's column names (:attr:`calibrate.data.engines.Engine.relation`)."""


def quote(name: str) -> str:
    """``name`` as a quoted identifier (DuckDB dialect; sqlglot renders it for the engine)."""
    return '"' + name.replace('"', '""') + '"'


def _labels(labels: Collection[str]) -> str:
    return ", ".join("'" + s + "'" for s in sorted(labels))


def _outcome_text(column: str) -> str:
    return f"lower(trim(CAST({quote(column)} AS VARCHAR)))"


_NUMBER_TYPES = ("tinyint", "smallint", "int", "integer", "bigint", "hugeint", "utinyint", "usmallint", "uinteger",
                 "ubigint", "float", "real", "double", "boolean")
"""Source types (DuckDB's and Spark's ``typeof``) whose outcome values are compared as numbers, not as text."""


def _outcome_case(engine: Any, column: str, renewed: str, churned: str) -> str:
    """The relation's ``renewed`` from the outcome column: a number (or boolean) 1/0 compared as a number — the
    labels' text form of such a column is ``1``/``0``/``1.0``/``0.0``/``true``/``false``, so this is the same
    outcome without turning every row into text (a third of a scan on 5·10⁷ rows) —, anything else through its
    trimmed, lower-case text against the contract's labels."""
    kind = engine.sql(f"SELECT typeof({quote(column)}) AS t FROM {SOURCE_VIEW} LIMIT 1")
    if len(kind) and str(kind.iloc[0, 0]).lower() in _NUMBER_TYPES:
        value = f"CAST({quote(column)} AS DOUBLE)"
        return f"CASE WHEN {value} = 1 THEN {renewed} WHEN {value} = 0 THEN {churned} END"
    text = _outcome_text(column)
    return (f"CASE WHEN {text} IN ({_labels(_contract.RENEWED_LABELS)}) THEN {renewed} "
            f"WHEN {text} IN ({_labels(_contract.CHURNED_LABELS)}) THEN {churned} END")


def create_relation(engine: Any, spec: DataSpec, *, require_outcome: bool = True) -> tuple[str, ...]:
    """Create :data:`~calibrate.data.engines.RELATION` over the source view; return the calibrate columns it has.

    Raises
    ------
    DataError
        A required column is missing (the loader's message), or one column is mapped to two roles.
    """

    have = engine.names(SOURCE_VIEW)
    where = engine.source
    if len(spec.dimensions) < 2:
        raise DataError(f"{where}: a health score needs at least 2 dimensions; got {list(spec.dimensions)}")
    outcome = spec.churn_column or spec.column("renewed")
    required = {"account_id": spec.column("account_id")} | ({"renewed": outcome} if require_outcome else {})
    required |= {d: spec.column(d) for d in spec.dimensions}
    missing = [c for c in required.values() if c not in have]
    if missing:
        raise DataError(_contract.missing_columns(where, missing, have))
    optional = {k: spec.column(k) for k in _OPTIONAL if spec.column(k) in have}
    roles: dict[str, list[str]] = {}
    for ours, user in {**required, **optional}.items():
        roles.setdefault(user, []).append(ours)
    for user, ours in roles.items():
        if len(ours) > 1:
            raise DataError(f"{where}: column {user!r} is mapped to {ours}; each dimension (and key) needs a column "
                            "of its own — fix the mapping in the data spec")
    select = [f"CAST({quote(required['account_id'])} AS VARCHAR) AS account_id"]
    if require_outcome:
        renewed, churned = ("0", "1") if spec.churn_column else ("1", "0")
        select.append(_outcome_case(engine, outcome, renewed, churned) + " AS renewed")
    select += [f"TRY_CAST({quote(spec.column(d))} AS DOUBLE) AS {quote(d)}" for d in spec.dimensions]
    select += [f"{quote(spec.column(d))} AS {quote('raw_' + d)}" for d in spec.dimensions]
    for k, user in optional.items():
        if k in ("snapshot_date", "renewal_date"):
            select.append(f"TRY_CAST({quote(user)} AS DATE) AS {k}")
        elif k == "arr":
            select.append(f"TRY_CAST({quote(user)} AS DOUBLE) AS arr")
        else:
            select.append(f"COALESCE(CAST({quote(user)} AS VARCHAR), '(none)') AS segment")
    used = set(required.values()) | set(optional.values())
    ours = {"account_id", "renewed", *spec.dimensions, *optional, *(f"raw_{d}" for d in spec.dimensions)}
    select += [quote(c) for c in have if c not in used and c not in ours]  # other columns, unchanged (csm_red...)
    engine.execute(f"CREATE OR REPLACE TEMP VIEW {RELATION} AS SELECT {', '.join(select)} FROM {SOURCE_VIEW}")
    return ("account_id", *(["renewed"] if require_outcome else []), *spec.dimensions, *optional)


def _count(flag: str) -> str:
    return f"SUM(CASE WHEN {flag} THEN 1 ELSE 0 END)"


def _at(engine: Any, flag: str, n: int | None = None) -> tuple[str, Any]:
    """``"n rows (account 'X' one of them)"`` for rows where ``flag`` holds, and that row (``n`` counted if not given:
    the one scan of :func:`check_contract` learns only *whether* some rules are broken)."""

    if n is None:
        n = int(engine.sql(f"SELECT {_count(flag)} AS n FROM {RELATION}").iloc[0, 0])
    row = engine.sql(f"SELECT * FROM {RELATION} WHERE {flag} ORDER BY account_id LIMIT 1").iloc[0]
    return f"{n:,} row{'s' if n != 1 else ''} (account {str(row['account_id'])!r} among them)", row


def _hash64(engine: Any) -> str:
    """A 64-bit hash of (account, snapshot date) on ``engine`` (DuckDB's ``hash``; Spark's ``hash`` has 32 bits)."""
    return "hash(account_id, snapshot_date)" if engine.dialect == "duckdb" else "xxhash64(account_id, snapshot_date)"


_BITMAP_BYTES = 256 * 2**20
"""Most memory the duplicate screen's per-account date bitmaps may take (accounts × days / 8, estimated with a
margin); above it, or off DuckDB, the screen groups the rows by a hash of (account, snapshot date)."""


def _repeats_possible(engine: Any, agg: Any) -> bool:
    """Whether some (account, snapshot date) pair may occur twice; ``False`` is exact (no pair repeats).

    On DuckDB, when the bitmaps fit :data:`_BITMAP_BYTES`: one bit per day of the book for each account
    (``bitstring_agg``), grouped by account — an account repeats a date exactly when it has more dated rows than
    bits set, or more than one undated row (undated rows share the pair (account, NULL), as in the grouping by
    the pair). 4–5× cheaper than grouping 5·10⁷ rows by their pair (bench/bench_engines.py). Otherwise a grouping
    by a 64-bit hash of the pair, which a collision (about 10⁻⁴ at 5·10⁷ rows) can only make say ``True``.
    """
    first, last, accounts = (agg.get(k) for k in ("first_day", "last_day", "accounts_approx"))
    if engine.dialect == "duckdb" and not pd.isna(first) and not pd.isna(accounts):
        days = int((pd.Timestamp(last) - pd.Timestamp(first)).days) + 1
        if 1.25 * float(accounts) * (days / 8 + 16) <= _BITMAP_BYTES:  # HLL's estimate, a margin; per state 16 B
            day = f"CAST(snapshot_date - DATE '{pd.Timestamp(first).date().isoformat()}' AS INTEGER)"
            extra = engine.sql(
                "SELECT SUM(dated - COALESCE(bit_count(bits), 0) + GREATEST(rows_ - dated - 1, 0)) AS extra FROM ("
                f"SELECT COUNT(*) AS rows_, COUNT(snapshot_date) AS dated, bitstring_agg({day}, 0, {days - 1}) AS bits "
                f"FROM {RELATION} GROUP BY account_id) AS a").iloc[0, 0]
            return bool(int(extra or 0))
    shared = engine.sql(f"SELECT COUNT(*) AS c FROM (SELECT {_hash64(engine)} AS h FROM {RELATION} "
                        "GROUP BY 1 HAVING COUNT(*) > 1) AS d").iloc[0, 0]
    return bool(int(shared or 0))


def _duplicates(engine: Any, agg: Any) -> Any:
    """Groups and rows of duplicate (account, snapshot date) pairs, and one account; ``None`` when there are none.

    A cheap screen (:func:`_repeats_possible`) first; only when it finds a possible repeat, the exact grouping
    by the pair (a string and a date) counts them.
    """
    if not _repeats_possible(engine, agg):
        return None
    dup = engine.sql(f"SELECT COUNT(*) AS groups, SUM(c) AS rows_, MIN(account_id) AS account FROM ("
                     f"SELECT account_id, snapshot_date, COUNT(*) AS c FROM {RELATION} "
                     "GROUP BY account_id, snapshot_date HAVING COUNT(*) > 1) AS d").iloc[0]
    return dup if int(dup["groups"] or 0) else None


def check_contract(engine: Any, spec: DataSpec, *, raw: Collection[str] = (), require_outcome: bool = True,
                   allow_pending: bool = False) -> None:
    """Refuse data that break the contract, with one scan of plain aggregates (counts, minima, maxima), one
    grouping by (account, snapshot date) for duplicates, and a query more per refusal.

    Raises
    ------
    DataError, LeakageError
        The pandas loader's message for the first rule broken (module docstring).
    """

    where, cols = engine.source, engine.columns
    dims = list(spec.dimensions)
    kept = [d for d in dims if d not in raw]
    per_dim: list[str] = []
    for d in kept:
        q, r = quote(d), quote(f"raw_{d}")
        # TRY_CAST is NULL exactly where the raw value is NULL or not a number; the range test is the engine's own
        # comparison (NaN sorts above every number in DuckDB and Spark, so it is out of range as row by row)
        per_dim += [f"COUNT({r}) - COUNT({q}) AS {quote('nonnum_' + d)}", f"COUNT(*) - COUNT({r}) AS {quote('gap_' + d)}",
                    f"(MIN({q}) < 0 OR MAX({q}) > 100) AS {quote('range_' + d)}"]
    if kept:
        per_dim += [f"LEAST({', '.join(f'MIN({quote(d)})' for d in kept)}) AS lo",
                    f"GREATEST({', '.join(f'MAX({quote(d)})' for d in kept)}) AS hi"]
    parts = ["COUNT(*) AS n", "COUNT(*) - COUNT(account_id) AS no_id"]
    if require_outcome:
        parts += ["SUM(renewed) AS k1", "COUNT(renewed) AS decided"]
    if "arr" in cols:
        parts.append("MIN(arr) < 0 AS bad_arr")
    if "snapshot_date" in cols and engine.dialect == "duckdb":  # what the duplicate screen's bitmaps need
        parts += ["MIN(snapshot_date) AS first_day", "MAX(snapshot_date) AS last_day",
                  "approx_count_distinct(account_id) AS accounts_approx"]
    leak = "renewal_date IS NOT NULL AND renewal_date <= snapshot_date"
    if "renewal_date" in cols and "snapshot_date" in cols:
        parts.append(f"{_count(leak)} AS leak")
    if per_dim and getattr(engine, "footer_stats", False):
        # answered from the Parquet footers (0.02 s at 5e7 rows); asked with the rest, they force a scan of every
        # dimension column (1.8 s instead of 0.8 s; bench/bench_engines.py)
        agg = pd.concat([engine.sql(f"SELECT {', '.join(per_dim)} FROM {RELATION}").iloc[0],
                         engine.sql(f"SELECT {', '.join(parts)} FROM {RELATION}").iloc[0]])
    else:
        agg = engine.sql(f"SELECT {', '.join(parts + per_dim)} FROM {RELATION}").iloc[0]

    def n_of(key: str) -> int:
        value = agg[key]
        return 0 if pd.isna(value) else int(value)

    if n_of("n") == 0:
        raise DataError(_contract.no_rows(where))
    if n_of("no_id"):
        raise DataError(_contract.empty_id(where, spec.column("account_id"), _at(engine, "account_id IS NULL", n_of("no_id"))[0]))
    if require_outcome:
        outcome = spec.churn_column or spec.column("renewed")
        undecided = n_of("n") - n_of("decided")
        if undecided:
            n_bad, value = _outcome_rows(engine, outcome)
            if n_bad:
                at = f"{n_bad:,} row{'s' if n_bad != 1 else ''}"
                raise DataError(_contract.bad_outcome(where, outcome, value, at))
            if not allow_pending:
                at, _ = _at(engine, "renewed IS NULL", undecided)
                raise DataError(_contract.missing_outcome(where, outcome, at))
    for d in kept:
        col, q, r = spec.column(d), quote(d), quote(f"raw_{d}")
        if n_of(f"nonnum_{d}"):
            at, row = _at(engine, f"{q} IS NULL AND {r} IS NOT NULL", n_of(f"nonnum_{d}"))
            raise DataError(_contract.non_numeric(where, col, row[f"raw_{d}"], at))
        if n_of(f"range_{d}"):
            at, row = _at(engine, f"({q} < 0 OR {q} > 100)")
            raise DataError(_contract.out_of_range(where, col, float(row[d]), at))
        if n_of(f"gap_{d}") and spec.on_missing == "error":
            raise DataError(_contract.missing_sub_score(where, col, _at(engine, f"{r} IS NULL", n_of(f"gap_{d}"))[0]))
    if kept and not spec.allow_unit_scale and not pd.isna(agg["hi"]) \
            and float(agg["lo"]) >= 0.0 and float(agg["hi"]) <= 1.0:
        raise DataError(_contract.unit_scale(where, [spec.column(d) for d in kept]))
    if "snapshot_date" in cols:
        dup = _duplicates(engine, agg)
        if dup is not None:
            extra = int(dup["rows_"]) - int(dup["groups"])
            at = f"{extra:,} row{'s' if extra != 1 else ''}"
            raise DataError(_contract.duplicate_snapshot(where, at, str(dup["account"])))
        if "leak" in agg and n_of("leak"):
            raise LeakageError(_contract.leakage(where, spec.column("renewal_date"), _at(engine, leak, n_of("leak"))[0]))
    if "arr" in cols and n_of("bad_arr"):
        raise DataError(_contract.bad_arr(where, spec.column("arr"), _at(engine, "arr < 0")[0]))
    if require_outcome and (n_of("k1") == 0 or n_of("k1") == n_of("decided")):
        only = "renewed" if n_of("k1") == n_of("decided") else "churned"
        raise DataError(_contract.one_class(where, spec.churn_column or spec.column("renewed"), only))


def _outcome_rows(engine: Any, outcome: str) -> tuple[int, Any]:

    text = _outcome_text(outcome)
    labels = _labels(_contract.RENEWED_LABELS | _contract.CHURNED_LABELS)
    cond = f"{quote(outcome)} IS NOT NULL AND {text} NOT IN ({labels})"
    got = engine.sql(f"SELECT {_count(cond)} AS c, MIN(CASE WHEN {cond} THEN CAST({quote(outcome)} AS VARCHAR) END) "
                     f"AS v FROM {SOURCE_VIEW}").iloc[0]
    return int(got["c"] or 0), got["v"]
