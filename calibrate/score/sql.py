"""The score as SQL: one sqlglot expression that scores every row of a table exactly as :func:`calibrate.score.scorer.score_frame`.

:func:`scoring_sql` is what :func:`calibrate.publish.export.export_sql` writes for a warehouse job and what the
engines (``--engine duckdb|spark``) run to score, validate and write scores — one query, so the production scorer
and calibrate agree by construction. The operations it mirrors are listed in :mod:`calibrate.publish.export`.
:func:`relation_config` points a config at an engine's relation (dimensions under their names, transformed ones
read raw from ``raw_<name>``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import reduce
from typing import Literal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect

from calibrate._params import Options, validate_params
from calibrate.config.model import Dimension, Transform, WeightConfig
from calibrate.errors import ConfigError
from calibrate.score.scorer import BAND_DECIMALS

__all__ = ["scoring_sql", "relation_config", "relation_scoring_sql", "DIALECTS", "Dialect"]

Dialect = Literal["duckdb", "postgres", "snowflake", "bigquery", "spark"]
DIALECTS: tuple[str, ...] = ("duckdb", "postgres", "snowflake", "bigquery", "spark")
DIALECT_PARAMS = {"dialect": [Options(*DIALECTS)]}
"""The one check of a ``dialect`` option (every function that takes one)."""


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

    band_case = lambda values, if_null: _band_case(config, score, values, if_null)  # noqa: E731
    p_renew = _p_renew(config, score)
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


def _band_case(config: WeightConfig, score: Callable[[], exp.Expression], values: list[exp.Expression],
               if_null: exp.Expression) -> exp.Expression:
    """The band rule in SQL: ``values[j]`` for the band holding ``score()`` rounded to :data:`BAND_DECIMALS`
    decimals (half-open ``[min, max)``, the top band includes 100), ``if_null`` for a NULL score."""
    rounded = lambda: exp.Round(this=score(), decimals=exp.Literal.number(BAND_DECIMALS))  # noqa: E731
    ifs = [exp.If(this=score().is_(exp.null()), true=if_null)]
    ifs += [exp.If(this=rounded() < exp.Literal.number(repr(float(nxt.min))), true=value)
            for nxt, value in zip(config.bands[1:], values[:-1])]
    return exp.Case(ifs=ifs, default=values[-1])


def _p_renew(config: WeightConfig, score: Callable[[], exp.Expression]) -> exp.Expression:
    """The calibrated renewal probability of ``score()`` (NULL without a calibration)."""
    cal = config.calibration
    if cal is None:
        return exp.cast(exp.null(), exp.DataType.Type.DOUBLE)
    if cal.method == "isotonic":
        return _interp(score, cal.knots, cal.probabilities)
    return _num(1) / exp.paren(_num(1) + exp.Exp(this=-exp.paren(_num(cal.intercept) + _num(cal.slope) * score())))


def p_renew_sql(config: WeightConfig, score: str) -> str:
    """The scoring SELECT's ``p_renew`` of the column ``score``, in DuckDB's dialect (as :func:`band_index_sql`)."""
    return _p_renew(config, lambda: exp.column(score)).sql(dialect="duckdb")


def band_index_sql(config: WeightConfig, score: str) -> str:
    """The scoring SELECT's ``band_index`` (0 = lowest band, -1 for a NULL score) of the column ``score``, in
    DuckDB's dialect: for a query that bands distinct scores rather than rows (the engines' validation)."""
    values = [exp.Literal.number(i) for i in range(len(config.bands))]
    return _band_case(config, lambda: exp.column(score), values, exp.Literal.number(-1)).sql(dialect="duckdb")


def _numeric_round(node: exp.Expression) -> exp.Expression:
    """PostgreSQL has ROUND(numeric, int) only: round the score as NUMERIC there."""
    if isinstance(node, exp.Round):
        node.set("this", exp.cast(node.this, exp.DataType.Type.DECIMAL))
    return node


@validate_params(DIALECT_PARAMS)
def scoring_sql(config: WeightConfig, *, dialect: Dialect = "duckdb", table: str = "accounts", header: bool = True) -> str:
    """The scoring SELECT over ``table`` in ``dialect`` (:func:`calibrate.publish.export.export_sql` documents it).

    Raises
    ------
    ParameterError
        An unknown dialect.
    ConfigError
        A table name with more than three parts.
    """
    query = _scoring_query(config, _table(table, dialect), lambda name: _identifier(name, dialect))
    if dialect == "postgres":
        query = query.transform(_numeric_round, copy=False)
    text = query.sql(dialect=dialect, pretty=True, identify=True)
    if not header:
        return text
    lines = [
        f"-- {config.name} v{config.version}: score, band and code (generated by calibrate; do not edit)",
        f"-- dialect {dialect}; content_hash {config.content_hash or '(unsealed)'}; missing rule '{config.missing}'",
        f"-- bands are half-open [min, max) on the score rounded to {BAND_DECIMALS} decimals; the top band includes 100",
    ]
    return "\n".join([*lines, text]) + "\n"


def relation_config(config: WeightConfig, *, segment: str | None = None) -> WeightConfig:
    """``config`` reading an engine's relation: each dimension from its name (a transformed one from ``raw_<name>``),
    the segment weights from ``segment`` (the relation's column holding the config's segment)."""
    dims = [d.model_copy(update={"column": f"raw_{d.name}" if d.transform is not None else d.name})
            for d in config.dimensions]
    update: dict[str, object] = {"dimensions": dims}
    if config.segments is not None and segment is not None:
        update["segments"] = config.segments.model_copy(update={"column": segment})
    return config.model_copy(update=update)


def relation_scoring_sql(config: WeightConfig, *, relation: str, columns: tuple[str, ...]) -> str:
    """The scoring SELECT over an engine's ``relation`` (calibrate's column names; ``columns`` are those it has), in
    DuckDB's dialect: what an engine runs (and transpiles) to score, validate and write scores."""
    segment = None
    if config.segments is not None:
        seg = config.segments
        segment = next((c for c in (seg.name, seg.column) if c and c in columns), "segment")
    return scoring_sql(relation_config(config, segment=segment), dialect="duckdb", table=relation, header=False)
