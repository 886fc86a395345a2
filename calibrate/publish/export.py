"""The config leaves Python: the reference scorer on files, and the same score as SQL.

:func:`score_accounts` is what ``calibrate score`` runs: it loads data *without* needing an
outcome, reads each dimension from the column the config names, applies the config's
``missing`` rule, and scores with :func:`calibrate.score.scorer.score_frame` (the one scoring function).

:func:`export_sql` writes one ``SELECT`` that computes the same contributions, score, band, band
code, band index and renewal probability from the dimension columns, so a warehouse job can score
without Python. It mirrors :func:`calibrate.score.scorer.score_values` operation for operation:

* an inverted dimension contributes ``w · (100 − s)``;
* ``missing="redistribute"``: a row's weight on a present dimension is ``w / Σ w(present)`` and a
  missing dimension contributes 0; a row with every value missing has a NULL score;
* ``missing="error"``: a NULL sub-score gives a NULL score and band (SQL cannot refuse a row;
  check ``score IS NULL`` in the job);
* the score is rounded to :data:`calibrate.score.scorer.BAND_DECIMALS` decimals before it is compared with
  the half-open band edges (the top band includes 100), exactly as :func:`~calibrate.score.scorer.band_index`;
* ``p_renew = 1 / (1 + exp(−(intercept + slope · score)))`` (NULL without a calibration); an isotonic
  calibration is the same clamped linear interpolation over its knots as ``numpy.interp``;
* a dimension with a ``transform`` reads its raw column through a ``CASE`` over the stored knots
  (clamped linear interpolation, exactly :func:`calibrate.data.transforms.apply_transform`) before anything else.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Callable
from typing import Literal

import pandas as pd

from calibrate.config.model import WeightConfig
from calibrate.errors import ConfigError, DataError
from calibrate.data.load import Accounts, DataSpec, load_accounts
from calibrate.data.transforms import apply_transform
from calibrate.score.scorer import BAND_DECIMALS, score_frame

__all__ = ["scoring_spec", "load_for_scoring", "score_accounts", "output_path", "write_scores", "export_sql", "DIALECTS", "KEYS"]

Dialect = Literal["duckdb", "postgres", "snowflake", "bigquery"]
DIALECTS: tuple[str, ...] = ("duckdb", "postgres", "snowflake", "bigquery")
KEYS: tuple[str, ...] = ("account_id", "snapshot_date")
"""Columns that identify a scored row in the output of :func:`score_accounts`."""


def scoring_spec(*configs: WeightConfig, columns: dict[str, str] | None = None) -> DataSpec:
    """The :class:`~calibrate.data.load.DataSpec` that reads what ``configs`` score.

    Every dimension is read from the column its config names. Missing values are kept (NaN)
    when every config redistributes weight, and refused otherwise — the same rule the
    scorer applies, so a load for scoring never imputes.

    Parameters
    ----------
    *configs : WeightConfig
        One or more configs (a diff scores the same data with two).
    columns : dict, optional
        Extra mappings for the key columns (``account_id``, ``snapshot_date``, ``arr``...).

    Raises
    ------
    ConfigError
        Two configs read the same dimension from different columns.
    """
    mapping: dict[str, str] = dict(columns or {})
    dims: list[str] = []
    for cfg in configs:
        for d in cfg.dimensions:
            if d.name in dims and mapping[d.name] != d.column:
                raise ConfigError(
                    f"dimension {d.name!r} is read from column {mapping[d.name]!r} in one config and "
                    f"{d.column!r} in another; rename the dimension in one of them"
                )
            if d.name not in dims:
                dims.append(d.name)
                mapping[d.name] = d.column
    keep = all(cfg.missing == "redistribute" for cfg in configs)
    return DataSpec(dimensions=tuple(dims), columns=mapping, on_missing="keep" if keep else "error")


def load_for_scoring(
    source: str | os.PathLike[str] | pd.DataFrame,
    *configs: WeightConfig,
    query: str | None = None,
) -> Accounts:
    """Load data to score with ``configs``: no outcome column needed, the configs' columns and missing rule.

    A dimension with a ``transform`` is read from its raw column and transformed to 0–100 before
    the range check (:func:`calibrate.data.transforms.apply_transform`), exactly as ``score_frame`` does.
    """
    spec = scoring_spec(*configs)
    transforms = {d.column: d.transform for cfg in configs for d in cfg.dimensions if d.transform is not None}
    if transforms and not isinstance(source, pd.DataFrame):
        if query is not None or "://" in str(source):
            from calibrate.data.sql import read_sql

            source = read_sql(str(source), query)[0]
        else:
            from calibrate.data.load import read_frame

            source = read_frame(Path(source))[0]
        query = None
    if transforms:
        source = source.copy()
        for column, transform in transforms.items():
            if column in source and pd.api.types.is_numeric_dtype(source[column]):
                source[column] = apply_transform(source[column].to_numpy(dtype=float, na_value=float("nan")), transform)
    return load_accounts(source, spec=spec, query=query, require_outcome=False)


def score_accounts(
    source: str | os.PathLike[str] | pd.DataFrame | Accounts,
    config: WeightConfig,
    *,
    query: str | None = None,
) -> pd.DataFrame:
    """Score account snapshots with ``config``: the reference scorer (``calibrate score``).

    Parameters
    ----------
    source : path, database URL, DataFrame or Accounts
        Snapshots holding the columns the config names; no outcome needed.
    config : WeightConfig
    query : str, optional
        SQL for a database URL.

    Returns
    -------
    DataFrame
        ``account_id`` (and ``snapshot_date`` when present), ``score``, ``band``, ``band_code``,
        ``band_index``, ``p_renew`` and one ``contribution_<dimension>`` per dimension; the
        contributions of a row sum to its score.

    Raises
    ------
    DataError
        Bad data, or a missing sub-score under ``missing="error"``.
    """
    data = source if isinstance(source, Accounts) else load_for_scoring(source, config, query=query)
    return score_frame(data.frame, config, by="name", keys=KEYS)


def output_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if it names a ``.csv`` or ``.parquet`` file; check it before any work is done.

    Raises
    ------
    DataError
        Any other extension.
    """
    target = Path(path)
    if target.suffix.lower() not in {".csv", ".parquet", ".pq"}:
        raise DataError(f"{target}: unknown output type {target.suffix.lower()!r}; name the file .csv or .parquet")
    return target


def write_scores(scores: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write scores as CSV or Parquet (by extension), all-or-nothing.

    Raises
    ------
    DataError
        An extension other than ``.csv`` / ``.parquet``.
    """
    target = output_path(path)
    suffix = target.suffix.lower()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if suffix == ".csv":
            scores.to_csv(tmp, index=False)
        else:
            scores.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


# -- SQL -------------------------------------------------------------------------------------

_DOUBLE = {"duckdb": "DOUBLE", "postgres": "DOUBLE PRECISION", "snowflake": "DOUBLE", "bigquery": "FLOAT64"}


def quote_identifier(name: str, dialect: Dialect) -> str:
    """Quote one identifier for ``dialect`` (backticks on BigQuery, double quotes elsewhere)."""
    if dialect == "bigquery":
        return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
    return '"' + name.replace('"', '""') + '"'


def _string(value: str, dialect: Dialect) -> str:
    if dialect == "bigquery":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + value.replace("'", "''") + "'"


def _interp_sql(expr: str, xs: list[float], ys: list[float], num: Callable[[float], str]) -> str:
    """``numpy.interp(expr, xs, ys)`` as SQL: clamped at both ends, linear in between, NULL stays NULL."""
    parts = [f"CASE WHEN {expr} IS NULL THEN NULL", f"WHEN {expr} <= {num(xs[0])} THEN {num(ys[0])}"]
    for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]):
        slope = (y1 - y0) / (x1 - x0)
        parts.append(f"WHEN {expr} <= {num(x1)} THEN {num(slope)} * ({expr} - {num(x0)}) + {num(y0)}")
    parts.append(f"ELSE {num(ys[-1])} END")
    return "(" + " ".join(parts) + ")"


def export_sql(config: WeightConfig, *, dialect: Dialect = "duckdb", table: str = "accounts") -> str:
    """A SELECT that scores every row of ``table`` with ``config`` in ``dialect``.

    The query returns the table's columns followed by ``contribution_<dimension>`` for each
    dimension, ``score``, ``band``, ``band_code``, ``band_index`` and ``p_renew`` — the
    columns of :func:`calibrate.score.scorer.score_frame`, with the same values (module docstring).

    Parameters
    ----------
    config : WeightConfig
    dialect : {"duckdb", "postgres", "snowflake", "bigquery"}, default "duckdb"
    table : str, default "accounts"
        Table (or view) to score; dotted names (``schema.table``) are quoted part by part.

    Returns
    -------
    str
        The SQL text, with a header comment naming the config, version and content hash.

    Examples
    --------
    >>> from calibrate.config.model import Dimension, WeightConfig, default_bands
    >>> cfg = WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.5),
    ...                                Dimension(name="b", column="b", weight=0.5)], bands=default_bands())
    >>> print(export_sql(cfg).splitlines()[0])
    -- account-health v0: score, band and code (generated by calibrate; do not edit)
    """
    if dialect not in DIALECTS:
        raise ConfigError(f"The 'dialect' parameter must be one of {set(DIALECTS)}. Got {dialect!r} instead.")
    q = lambda name: quote_identifier(name, dialect)  # noqa: E731
    double = _DOUBLE[dialect]

    def num(x: float) -> str:
        return f"CAST({float(x)!r} AS {double})"

    healthy, weight_if_present = [], []
    for d in config.dimensions:
        raw = f"CAST(src.{q(d.column)} AS {double})"
        if d.transform is not None:
            raw = _interp_sql(raw, d.transform.knots, d.transform.values, num)
        healthy.append(f"({num(100)} - {raw})" if d.direction == "lower_is_healthier" else raw)
        weight_if_present.append(f"CASE WHEN src.{q(d.column)} IS NULL THEN {num(0)} ELSE {num(d.weight)} END")

    contributions = []
    if config.missing == "redistribute":
        total = "NULLIF(" + " + ".join(weight_if_present) + f", {num(0)})"
        for d, h, w in zip(config.dimensions, healthy, weight_if_present):
            contributions.append(f"({w} / {total}) * COALESCE({h}, {num(0)}) AS {q('contribution_' + d.name)}")
    else:
        for d, h in zip(config.dimensions, healthy):
            contributions.append(f"{h} * {num(d.weight)} AS {q('contribution_' + d.name)}")
    score_sum = " + ".join(f"c.{q('contribution_' + d.name)}" for d in config.dimensions)

    rounded = f"ROUND(CAST(s.{q('score')} AS NUMERIC), {BAND_DECIMALS})" if dialect == "postgres" \
        else f"ROUND(s.{q('score')}, {BAND_DECIMALS})"

    def case(values: list[str], if_null: str = "NULL") -> str:
        lines = [f"CASE WHEN s.{q('score')} IS NULL THEN {if_null}"]
        for nxt, value in zip(config.bands[1:], values[:-1]):
            lines.append(f"     WHEN {rounded} < {float(nxt.min)!r} THEN {value}")
        lines.append(f"     ELSE {values[-1]} END")
        return "\n".join("    " + line if i else line for i, line in enumerate(lines))

    if config.calibration is None:
        p_renew = f"CAST(NULL AS {double})"
    elif config.calibration.method == "isotonic":
        p_renew = _interp_sql(f"s.{q('score')}", config.calibration.knots, config.calibration.probabilities, num)
    else:
        a, b = config.calibration.intercept, config.calibration.slope
        p_renew = f"{num(1)} / ({num(1)} + EXP(-({num(a)} + {num(b)} * s.{q('score')})))"
    table_sql = ".".join(q(part) for part in table.split("."))
    header = [
        f"-- {config.name} v{config.version}: score, band and code (generated by calibrate; do not edit)",
        f"-- dialect {dialect}; content_hash {config.content_hash or '(unsealed)'}; missing rule '{config.missing}'",
        f"-- bands are half-open [min, max) on the score rounded to {BAND_DECIMALS} decimals; the top band includes 100",
    ]
    contrib_sql = ",\n        ".join(contributions)
    return "\n".join(
        header
        + [
            "SELECT",
            "    s.*,",
            "    " + case([_string(b.name, dialect) for b in config.bands]) + f" AS {q('band')},",
            "    " + case([_string(b.code, dialect) for b in config.bands]) + f" AS {q('band_code')},",
            "    " + case([str(i) for i in range(len(config.bands))], "-1") + f" AS {q('band_index')},",
            f"    {p_renew} AS {q('p_renew')}",
            "FROM (",
            f"    SELECT c.*, {score_sum} AS {q('score')}",
            "    FROM (",
            "        SELECT src.*,",
            f"        {contrib_sql}",
            f"        FROM {table_sql} AS src",
            "    ) AS c",
            ") AS s",
        ]
    ) + "\n"
