"""The config leaves Python: the reference scorer on files, and the same score as SQL.

:func:`score_accounts` is what ``calibrate score`` runs: it loads data *without* needing an
outcome, reads each dimension from the column the config names, applies the config's
``missing`` rule, and scores with :func:`calibrate.score.scorer.score_frame` (the one scoring function).

:func:`export_sql` writes one ``SELECT`` that computes the same contributions, score, band, band
code, band index and renewal probability from the dimension columns, so a warehouse job can score
without Python. The query (built in :mod:`calibrate.score.sql`, which the engines run too) is one sqlglot expression rendered by sqlglot's dialects (types, string
escapes, identifier quoting). It mirrors :func:`calibrate.score.scorer.score_values` operation for operation:

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
  (clamped linear interpolation, exactly :func:`calibrate.data.transforms.apply_transform`) before anything else;
  a learned (``binned``) transform through a ``CASE WHEN x < cut`` over its cut-points, or ``WHEN TRIM(x) = 'label'``
  over its categories, with its missing points for a NULL (and its sub-score, not the raw column, decides
  whether the dimension is present).
* a config with segment weights takes each weight from a ``CASE`` on the segment column read as text
  (``CAST(... AS VARCHAR)``, as :func:`calibrate.score.scorer.segment_labels`), the global weight otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from calibrate.config.model import WeightConfig
from calibrate.data.load import Accounts, DataSpec, load_accounts
from calibrate.data.transforms import apply_transform
from calibrate.errors import ConfigError, DataError
from calibrate.score.scorer import score_frame
from calibrate._params import validate_params
from calibrate.score.sql import DIALECT_PARAMS, DIALECTS, Dialect, scoring_sql

__all__ = ["scoring_spec", "load_for_scoring", "score_accounts", "score_on_engine", "output_path", "write_scores",
           "export_sql", "DIALECTS", "KEYS"]

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
            if column in source and (pd.api.types.is_numeric_dtype(source[column]) or transform.categories is not None):
                values = source[column].to_numpy(dtype=object) if transform.categories is not None else \
                    source[column].to_numpy(dtype=float, na_value=float("nan"))
                source[column] = apply_transform(values, transform)
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


def score_on_engine(engine: Any, config: WeightConfig, path: str | os.PathLike[str]) -> tuple[Path, int, pd.Series]:
    """``calibrate score --engine duckdb|spark``: write the scores as Parquet with the export's SQL, on the engine.

    Parameters
    ----------
    engine : Engine
        Opened on the snapshots with ``scoring_spec(config)`` (:func:`calibrate.data.engines.open_engine`).
    config : WeightConfig
    path : path
        A ``.parquet`` target (Spark writes a Parquet dataset: a directory of part files).

    Returns
    -------
    path : Path
    rows : int
    bands : Series
        Rows per band name.

    Raises
    ------
    DataError
        A target that is not ``.parquet``, or a failing query.
    """
    from calibrate.score.sql import relation_scoring_sql

    target = output_path(path)
    if target.suffix.lower() == ".csv":
        raise DataError(f"{target}: --engine {engine.name} writes Parquet; name the file .parquet")
    keys = [k for k in KEYS if k in engine.columns]
    names = [*keys, "score", "band", "band_code", "band_index", "p_renew", *(f"contribution_{d.name}" for d in config.dimensions)]
    scored = relation_scoring_sql(config, relation=engine.relation, columns=engine.columns)
    select = ", ".join('CAST("snapshot_date" AS TIMESTAMP) AS "snapshot_date"' if c == "snapshot_date" else f'"{c}"'
                       for c in names)  # a timestamp, as the pandas scorer writes it
    written = engine.write_parquet(f"SELECT {select} FROM ({scored}) AS scored", target)
    counts = engine.sql(f"SELECT band, COUNT(*) AS n FROM ({scored}) AS scored GROUP BY band")
    bands = pd.Series(counts["n"].to_numpy(dtype=int), index=counts["band"].to_numpy(dtype=object))
    return written, int(bands.sum()), bands


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


@validate_params(DIALECT_PARAMS)
def export_sql(config: WeightConfig, *, dialect: Dialect = "duckdb", table: str = "accounts") -> str:
    """A SELECT that scores every row of ``table`` with ``config`` in ``dialect``.

    The query returns the table's columns followed by ``contribution_<dimension>`` for each
    dimension, ``score``, ``band``, ``band_code``, ``band_index`` and ``p_renew`` — the
    columns of :func:`calibrate.score.scorer.score_frame`, with the same values (module docstring).
    The query is built once as a sqlglot expression and rendered with sqlglot's ``dialect``.

    Identifiers (the config's columns, the output columns, ``table``) resolve to the names as
    the user's table has them: a plain lowercase name (``[a-z_][a-z0-9_]*``) is case-insensitive
    and is written in the case ``dialect`` stores unquoted names in — ``"USAGE"`` on Snowflake,
    where a table created with an unquoted ``usage`` column holds ``USAGE`` (and SQLAlchemy reports
    it back as ``usage``); ``"usage"`` elsewhere. Any other name (upper or mixed case, spaces,
    quotes) is matched exactly as written. Every identifier is quoted (backticks on BigQuery).

    Parameters
    ----------
    config : WeightConfig
    dialect : {"duckdb", "postgres", "snowflake", "bigquery", "spark"}, default "duckdb"
    table : str, default "accounts"
        Table (or view) to score: ``table``, ``schema.table`` or ``catalog.schema.table``; each
        part is an identifier as above.

    Returns
    -------
    str
        The SQL text, with a header comment naming the config, version and content hash.

    Raises
    ------
    ConfigError
        An unknown dialect or a table name with more than three parts.

    Examples
    --------
    >>> from calibrate.config.model import Dimension, Transform, WeightConfig, default_bands
    >>> cfg = WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.5),
    ...                                Dimension(name="b", column="b", weight=0.5)], bands=default_bands())
    >>> print(export_sql(cfg).splitlines()[0])
    -- account-health v0: score, band and code (generated by calibrate; do not edit)
    """
    return scoring_sql(config, dialect=dialect, table=table)
