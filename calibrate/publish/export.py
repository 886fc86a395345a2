"""The config leaves Python: the reference scorer on files, and the same score as SQL.

:func:`score_accounts` is what ``calibrate score`` runs: it loads data *without* needing an
outcome, reads each dimension from the column the config names, applies the config's
``missing`` rule, and scores with :func:`calibrate.score.scorer.score_frame` (the one scoring function).

:func:`export_sql` writes one ``SELECT`` that computes the same contributions, score, band, band
code, band index and renewal probability from the dimension columns, so a warehouse job can score
without Python. The query is one sqlglot expression rendered by sqlglot's dialects (types, string
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

import operator
import os
import re
from collections.abc import Callable
from functools import reduce
from pathlib import Path
from typing import Literal

import pandas as pd
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect

from calibrate.config.model import Dimension, Transform, WeightConfig
from calibrate.data.load import Accounts, DataSpec, load_accounts
from calibrate.data.transforms import apply_transform
from calibrate.errors import ConfigError, DataError
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

_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")
"""A name the user's warehouse treats as case-insensitive: lowercase letters, digits and underscores."""


def _identifier(name: str, dialect: Dialect) -> exp.Identifier:
    """``name`` as an identifier that resolves to the column or table the user's data has in ``dialect``.

    A plain lowercase name (:data:`_PLAIN`) is case-insensitive: sqlglot's normalization of ``dialect``
    writes it in the case that dialect stores unquoted names in (``USAGE`` on Snowflake, ``usage``
    elsewhere). Any other name (upper or mixed case, spaces, quotes) is kept exactly as written.
    Both are rendered quoted, so reserved words and odd characters are safe.
    """
    ident = exp.to_identifier(name, quoted=False)
    if _PLAIN.fullmatch(name):
        ident = SqlglotDialect.get_or_raise(dialect).normalize_identifier(ident)
    ident.set("quoted", True)
    return ident


def _table(table: str, dialect: Dialect) -> exp.Table:
    """``[catalog.][schema.]table`` as a sqlglot table, each part an :func:`_identifier`."""
    parts = table.split(".")
    if len(parts) > 3 or not all(parts):
        raise ConfigError(f"table {table!r}: name it as table, schema.table or catalog.schema.table")
    this, db, catalog = ([_identifier(p, dialect) for p in reversed(parts)] + [None, None])[:3]
    return exp.Table(this=this, db=db, catalog=catalog)


def _num(x: float) -> exp.Expression:
    """``x`` as a double-precision literal (its shortest round-trip decimal, so the same double)."""
    return exp.cast(exp.Literal.number(repr(float(x))), exp.DataType.Type.DOUBLE)


def _interp(x: Callable[[], exp.Expression], xs: list[float], ys: list[float]) -> exp.Expression:
    """``numpy.interp(x, xs, ys)`` as SQL: clamped at both ends, linear in between, NULL stays NULL."""
    ifs = [exp.If(this=x().is_(exp.null()), true=exp.null()), exp.If(this=x() <= _num(xs[0]), true=_num(ys[0]))]
    for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]):
        slope = (y1 - y0) / (x1 - x0)
        ifs.append(exp.If(this=x() <= _num(x1), true=_num(slope) * exp.paren(x() - _num(x0)) + _num(y0)))
    return exp.paren(exp.Case(ifs=ifs, default=_num(ys[-1])))


def _binned(column: Callable[[], exp.Expression], t: Transform) -> exp.Expression:
    """A learned (``binned``) transform as SQL, exactly :func:`calibrate.data.transforms.apply_transform`: the points
    of the bin ``CAST(x AS DOUBLE)`` falls in (``x < cut``, cut-points ascending), or of the label
    ``TRIM(CAST(x AS TEXT))`` (an unlisted or blank label as missing); a NULL scores the missing points (or NULL)."""
    gap = exp.cast(exp.null(), exp.DataType.Type.DOUBLE) if t.missing is None else _num(t.missing)
    ifs = [exp.If(this=column().is_(exp.null()), true=gap)]
    if t.categories is not None:
        key = lambda: exp.Trim(this=exp.cast(column(), exp.DataType.Type.TEXT))  # noqa: E731
        ifs += [exp.If(this=exp.EQ(this=key(), expression=exp.Literal.string(label)), true=_num(points))
                for label, points in t.categories.items()]
        return exp.paren(exp.Case(ifs=ifs, default=gap))
    x = lambda: exp.cast(column(), exp.DataType.Type.DOUBLE)  # noqa: E731
    ifs += [exp.If(this=x() < _num(cut), true=_num(points)) for cut, points in zip(t.knots, t.values)]
    return exp.paren(exp.Case(ifs=ifs, default=_num(t.values[-1])))


def _scoring_query(config: WeightConfig, table: exp.Table, ident: Callable[[str], exp.Identifier]) -> exp.Select:
    """The scoring SELECT as one sqlglot expression (dialect-free but for the identifiers ``ident`` makes)."""
    col = lambda name, of: exp.column(ident(name), table=ident(of))  # noqa: E731

    def raw(d: Dimension) -> exp.Expression:
        return exp.cast(col(d.column, "src"), exp.DataType.Type.DOUBLE)

    def sub_score(d: Dimension) -> exp.Expression:
        if d.transform is None:
            return raw(d)
        if d.transform.kind == "binned":
            return _binned(lambda: col(d.column, "src"), d.transform)
        return _interp(lambda: raw(d), d.transform.knots, d.transform.values)

    def healthy(d: Dimension) -> exp.Expression:
        value = sub_score(d)
        return exp.paren(_num(100) - value) if d.direction == "lower_is_healthier" else value

    def weight(d: Dimension) -> exp.Expression:
        """The row's weight on ``d``: a CASE on the segment column for segment weights, else the number."""
        if config.segments is None:
            return _num(d.weight)
        label = lambda: exp.cast(col(config.segments.column, "src"), exp.DataType.Type.VARCHAR)  # noqa: E731
        return exp.paren(exp.Case(ifs=[exp.If(this=label().eq(exp.Literal.string(s)), true=_num(w[d.name]))
                                       for s, w in config.segments.weights.items()], default=_num(d.weight)))

    def weight_if_present(d: Dimension) -> exp.Expression:
        binned = d.transform is not None and d.transform.kind == "binned"  # a learned transform may score a NULL
        present = (sub_score(d) if binned else col(d.column, "src")).is_(exp.null())
        return exp.Case(ifs=[exp.If(this=present, true=_num(0))], default=weight(d))

    contributions = []
    for d in config.dimensions:
        if config.missing == "redistribute":
            total = exp.Nullif(this=reduce(operator.add, map(weight_if_present, config.dimensions)), expression=_num(0))
            value = exp.paren(weight_if_present(d) / exp.paren(total)) * exp.Coalesce(this=healthy(d), expressions=[_num(0)])
        else:
            value = healthy(d) * weight(d)
        contributions.append(exp.alias_(value, ident(f"contribution_{d.name}")))
    score_sum = reduce(operator.add, (col(f"contribution_{d.name}", "c") for d in config.dimensions))
    score = lambda: col("score", "s")  # noqa: E731

    def band_case(values: list[exp.Expression], if_null: exp.Expression) -> exp.Expression:
        rounded = lambda: exp.Round(this=score(), decimals=exp.Literal.number(BAND_DECIMALS))  # noqa: E731
        ifs = [exp.If(this=score().is_(exp.null()), true=if_null)]
        ifs += [exp.If(this=rounded() < exp.Literal.number(repr(float(nxt.min))), true=value)
                for nxt, value in zip(config.bands[1:], values[:-1])]
        return exp.Case(ifs=ifs, default=values[-1])

    cal = config.calibration
    if cal is None:
        p_renew: exp.Expression = exp.cast(exp.null(), exp.DataType.Type.DOUBLE)
    elif cal.method == "isotonic":
        p_renew = _interp(score, cal.knots, cal.probabilities)
    else:
        p_renew = _num(1) / exp.paren(_num(1) + exp.Exp(this=-exp.paren(_num(cal.intercept) + _num(cal.slope) * score())))
    star = lambda of: exp.Column(this=exp.Star(), table=ident(of))  # noqa: E731
    inner = exp.select(star("src"), *contributions).from_(exp.alias_(table, ident("src"), table=True))
    middle = exp.select(star("c"), exp.alias_(score_sum, ident("score"))).from_(inner.subquery(ident("c")))
    return exp.select(
        star("s"),
        exp.alias_(band_case([exp.Literal.string(b.name) for b in config.bands], exp.null()), ident("band")),
        exp.alias_(band_case([exp.Literal.string(b.code) for b in config.bands], exp.null()), ident("band_code")),
        exp.alias_(band_case([exp.Literal.number(i) for i in range(len(config.bands))], exp.Literal.number(-1)),
                   ident("band_index")),
        exp.alias_(p_renew, ident("p_renew")),
    ).from_(middle.subquery(ident("s")))


def _numeric_round(node: exp.Expression) -> exp.Expression:
    """PostgreSQL has ROUND(numeric, int) only: round the score as NUMERIC there."""
    if isinstance(node, exp.Round):
        node.set("this", exp.cast(node.this, exp.DataType.Type.DECIMAL))
    return node


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
    dialect : {"duckdb", "postgres", "snowflake", "bigquery"}, default "duckdb"
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
    if dialect not in DIALECTS:
        raise ConfigError(f"The 'dialect' parameter must be one of {set(DIALECTS)}. Got {dialect!r} instead.")
    query = _scoring_query(config, _table(table, dialect), lambda name: _identifier(name, dialect))
    if dialect == "postgres":
        query = query.transform(_numeric_round, copy=False)
    header = [
        f"-- {config.name} v{config.version}: score, band and code (generated by calibrate; do not edit)",
        f"-- dialect {dialect}; content_hash {config.content_hash or '(unsealed)'}; missing rule '{config.missing}'",
        f"-- bands are half-open [min, max) on the score rounded to {BAND_DECIMALS} decimals; the top band includes 100",
    ]
    return "\n".join([*header, query.sql(dialect=dialect, pretty=True, identify=True)]) + "\n"
