"""Validation on an engine (DuckDB, Spark): the pandas engine's figures from aggregate queries.

The rows never leave the engine, and are scanned twice. The config's scoring SELECT
(:func:`calibrate.score.sql.scoring_sql`, the SQL the export writes) on :attr:`Engine.relation`, grouped by the
validation group (the whole book, or each segment / snapshot quarter), is first reduced to a temporary table of
renewals and churns per distinct (score, p) (:meth:`Engine.materialize`); from it:

1. per account × band × outcome (the second scan, joined to that table): rows, ARR, and the sum of the rows'
   DeLong placements — the placement of a renewal is ``(#churns with a lower score + ½ #tied)/N``, of a churn
   ``(#renewals higher + ½ #tied)/M``, from a window over the per-score class counts, summed as integers (twice
   the placement) so that every engine sums exactly. Pulled to the driver (accounts × bands × 2 rows), it gives
   the band counts and Wilson intervals (exact), the spread's account bootstrap and the clustered trend (the same
   draws as pandas when accounts are numbered alike: pandas numbers them in order of appearance, an engine in
   sorted order, so sorted data give equal intervals and any other order intervals equal in law), and the AUC with
   its clustered DeLong interval (:func:`calibrate._stats.delong_from_sums`);
2. per score-decile bin (midranks, as :func:`calibrate._stats.lift_table`): rows, churns, score range, and the
   KS distance from the cumulative class counts — from the per-score table alone;
3. per probability bin (the ``p`` deciles, as :func:`calibrate._stats.reliability_curve`; the edges from the
   order statistics, interpolated as numpy does): rows, Σp, Σy and Σ(p − y)², for the reliability curve, ECE and
   the Brier score — from the per-score table alone (``p`` is a column of it).

Not on engines (NaN / None, said in ``docs/scale.md``): the calibration slope/intercept, the red book and the
CSM flag. The statistics themselves are :mod:`calibrate._stats` and
:func:`calibrate.validation.separation.validation_from_counts`, shared with the pandas path.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from calibrate._stats.calibration import P_DECIMALS
from calibrate._params import Options, validate_params
from calibrate.config.model import WeightConfig
from calibrate.validation.result import Validation
from calibrate.validation.separation import _PARAMS

__all__ = ["validate_on_engine", "validate_groups_on_engine", "scored_sql"]

By = Literal["segment", "period"]
_GROUP_PARAMS = {**_PARAMS, "by": [Options("segment", "period")]}
""":func:`validate_groups_on_engine`'s checks: :func:`validate_on_engine`'s, with ``by`` required."""
_DECILES = [j / 10 for j in range(1, 10)]


def scored_sql(engine: Any, config: WeightConfig) -> str:
    """The config's scoring SELECT over the engine's relation (DuckDB dialect; the engine transpiles it)."""
    from calibrate.score.sql import relation_scoring_sql

    return relation_scoring_sql(config, relation=engine.relation, columns=engine.columns)


_SCORES = "calibrate_scores"
"""The temporary table of rows and renewals per group × distinct score (with its p): the one scan of the scored
rows that the lift table, KS and calibration bins read (and the DeLong placements join)."""


def _group_expr(by: By | None) -> str:
    """The validation group as an engine value: ``0`` (the whole book), the segment, or ``year·10 + quarter``."""
    if by is None:
        return "0"
    if by == "segment":
        return "segment"
    return "year(snapshot_date) * 10 + quarter(snapshot_date)"


def _label(by: By | None, g: Any) -> str:
    """The group's name as pandas gives it (``2025Q3`` for a quarter)."""
    if by == "period" and not pd.isna(g):
        return f"{int(g) // 10}Q{int(g) % 10}"
    return str(g)


def _decided(as_of: str | pd.Timestamp | None, columns: tuple[str, ...]) -> str:
    cond = "renewed IS NOT NULL"
    if as_of is not None and "renewal_date" in columns:
        day = pd.Timestamp(as_of).date().isoformat()
        cond += f" AND NOT (renewal_date IS NOT NULL AND renewal_date > DATE '{day}')"
    return cond


def _rows_cte(engine: Any, config: WeightConfig, by: By | None, as_of: Any) -> str:
    arr = ", arr" if "arr" in engine.columns else ""
    return (f"WITH scored AS ({scored_sql(engine, config)}),\n"
            f"d AS (SELECT {_group_expr(by)} AS g, account_id, CAST(renewed AS INTEGER) AS y, score{arr} "
            f"FROM scored WHERE {_decided(as_of, engine.columns)})\n")


_PLACES = "calibrate_placements"
"""The temporary table of :func:`_places`: one row per group × distinct score (read by the cells' join and the lift
table; a few hundred thousand rows at most, so it costs a query nothing to keep)."""


def _places(config: WeightConfig) -> str:
    """Per distinct score of each group: the class counts, their running sums (ties share a score), the score's
    band (the scoring SELECT's rule, :func:`calibrate.score.sql.band_index_sql`: banding the distinct scores, not
    the rows, costs a query on the engine nothing) and twice a renewal's / a churn's DeLong placement there."""
    from calibrate.score.sql import band_index_sql

    return (f"SELECT g, score, pos, neg, cneg, cpos, tpos, tneg, {band_index_sql(config, 'score')} AS b, "
            "2 * (cneg - neg) + neg AS place_pos, 2 * (tpos - cpos) + pos AS place_neg FROM ("
            "SELECT g, score, pos, neg, SUM(neg) OVER (PARTITION BY g ORDER BY score) AS cneg, "
            "SUM(pos) OVER (PARTITION BY g ORDER BY score) AS cpos, SUM(pos) OVER (PARTITION BY g) AS tpos, "
            f"SUM(neg) OVER (PARTITION BY g) AS tneg FROM {_SCORES}) AS c")  # one row per (g, score) already


def _aggregates(engine: Any, config: WeightConfig, by: By | None, as_of: Any, n_bins: int,
                diagnostics: bool) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Two scans of the scored rows (the per-score counts, then the per-account cells); the rest reads the first."""
    from calibrate.score.sql import p_renew_sql

    rows = _rows_cte(engine, config, by, as_of)
    # p is a function of the score: computed on the distinct scores (the scoring SELECT's p_renew), not the rows
    engine.materialize(_SCORES, rows + f"SELECT g, score, ROUND({p_renew_sql(config, 'score')}, {P_DECIMALS}) AS p, "
                                       "pos, neg FROM (SELECT g, score, SUM(y) AS pos, COUNT(*) - SUM(y) AS neg "
                                       "FROM d GROUP BY g, score) AS s")
    engine.materialize(_PLACES, _places(config))
    # twice the placement sum, in integers: exact on every engine (module docstring); each row's band is its
    # score's. The whole book has one group: joined on the score alone (a 5e7-row probe on one key, not two)
    on = "d.score = w.score" if by is None else "d.g = w.g AND d.score = w.score"
    arr = "SUM(d.arr)" if "arr" in engine.columns else "CAST(NULL AS DOUBLE)"
    cells = engine.sql(
        rows + f"SELECT d.g AS g, d.account_id AS account_id, w.b AS b, d.y AS y, COUNT(*) AS n, "
        f"{arr} AS arr, SUM(CASE WHEN d.y = 1 THEN w.place_pos ELSE w.place_neg END) AS place2 "
        f"FROM d JOIN (SELECT g, score, b, place_pos, place_neg FROM {_PLACES}) AS w ON {on} "
        "GROUP BY d.g, d.account_id, w.b, d.y")
    lift = calib = None
    if diagnostics:
        rank = "(cneg + cpos - (pos + neg) + (pos + neg + 1) / 2.0)"
        lift = engine.sql(
            f"SELECT g, LEAST(CAST(FLOOR(({rank} - 1.0) * {int(n_bins)} / (tpos + tneg)) AS BIGINT), "
            f"{int(n_bins) - 1}) AS bin, SUM(pos + neg) AS n, SUM(neg) AS events, MIN(score) AS lo, MAX(score) AS hi, "
            f"MAX(ABS(CAST(cpos AS DOUBLE) / tpos - CAST(cneg AS DOUBLE) / tneg)) AS ks FROM {_PLACES} GROUP BY 1, 2")
        calib = _calibration_bins(engine, cells, n_bins) if config.calibration is not None else None
    return cells, lift, calib


def _lit(value: Any) -> str:
    """A group value as a SQL literal (an integer, or a quoted string)."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def _lerp(lo: float, hi: float, t: float) -> float:
    """numpy's linear interpolation (``np.percentile``'s ``_lerp``), exactly."""
    diff = hi - lo
    return hi - diff * (1.0 - t) if t >= 0.5 else lo + diff * t


def _calibration_bins(engine: Any, cells: pd.DataFrame, n_bins: int) -> pd.DataFrame:
    """Rows, Σp, Σy and Σ(p − y)² per ``p`` decile bin of each group, on the edges ``np.percentile`` gives.

    The edges come from the order statistics themselves (the values at the two ranks around ``(n − 1)·q``,
    found with a window over the distinct ``p`` values) and are interpolated here exactly as numpy does, so that
    a row whose ``p`` equals an edge falls in the same bin on every engine. Both queries read the per-score table
    (:data:`_SCORES`), not the rows.
    """
    totals = cells.groupby("g")["n"].sum()
    qs = [j / n_bins for j in range(1, n_bins)]
    wanted: dict[Any, list[tuple[int, int, float]]] = {}
    for g, tot in totals.items():
        spots = []
        for q in qs:
            h = (int(tot) - 1) * q
            lo = int(np.floor(h))
            spots.append((lo, min(lo + 1, int(tot) - 1), h - lo))
        wanted[g] = spots
    ranks = " OR ".join(
        f"(g = {_lit(g)} AND ({' OR '.join(f'(first <= {r} AND {r} < upto)' for r in sorted({x for s in spots for x in s[:2]}))}))"
        for g, spots in wanted.items())
    found = engine.sql(
        f"WITH pv AS (SELECT g, p, SUM(pos + neg) AS c FROM {_SCORES} WHERE p IS NOT NULL GROUP BY g, p),\n"
        "pc AS (SELECT g, p, SUM(c) OVER (PARTITION BY g ORDER BY p) AS upto, c FROM pv),\n"
        f"pf AS (SELECT g, p, upto - c AS first, upto FROM pc)\nSELECT g, p, first, upto FROM pf WHERE {ranks}")
    edges: dict[Any, list[float]] = {}
    for g, spots in wanted.items():
        mine = found[found["g"] == g]
        first, upto, value = (mine[c].to_numpy() for c in ("first", "upto", "p"))
        at = lambda r: float(value[(first <= r) & (r < upto)][0])  # noqa: E731
        edges[g] = [_lerp(at(lo), at(hi), t) for lo, hi, t in spots]
    edge = lambda j: "CASE g " + " ".join(  # noqa: E731
        f"WHEN {_lit(g)} THEN CAST('{e[j]!r}' AS DOUBLE)" for g, e in edges.items()) + " END"
    case = " ".join(f"WHEN p <= {edge(j)} THEN {j}" for j in range(len(qs)))
    return engine.sql(
        f"SELECT g, CASE {case} ELSE {len(qs)} END AS bin, SUM(pos + neg) AS n, SUM(p * (pos + neg)) AS sp, "
        f"SUM(pos) AS sy, SUM(pos * (p - 1) * (p - 1) + neg * p * p) AS sq FROM {_SCORES} WHERE p IS NOT NULL "
        "GROUP BY 1, 2")


def _check_by(engine: Any, by: By) -> None:
    from calibrate.errors import DataError

    need = "segment" if by == "segment" else "snapshot_date"
    if need not in engine.columns:
        raise DataError(f"validate by {by}: the data have no {need!r} column; map one or drop --by")


def _one(cells: pd.DataFrame, lift: pd.DataFrame | None, calib: pd.DataFrame | None, n_pending: int,
         config: WeightConfig, *, n_boot: int, seed: int, as_of: Any, n_bins: int, arr: bool) -> Validation:
    """One group's :class:`Validation` from its aggregates (the shared statistics)."""
    from calibrate import _stats
    from calibrate.validation.separation import validation_from_counts

    classes = config.bands
    n_classes = len(classes)
    names = [b.name for b in classes]
    top, red = n_classes - 1, names.index(config.red_band)
    acc, accounts = pd.factorize(cells["account_id"], sort=True)  # numbered in sorted order (module docstring)
    b = cells["b"].to_numpy(dtype=np.int64)
    y = cells["y"].to_numpy(dtype=np.int64)
    cnt = cells["n"].to_numpy(dtype=np.int64)
    n_rows, n_acc = int(cnt.sum()), len(accounts)
    full = sp.csr_array((cnt.astype(float), (acc, 2 * b + y)), shape=(n_acc, 2 * n_classes))
    biggest = int(np.bincount(acc, weights=cnt).max()) if n_acc else 0
    per_class = np.asarray(full.sum(axis=0, dtype=np.float64)).ravel()
    n = np.rint(per_class[0::2] + per_class[1::2]).astype(np.int64)
    k = np.rint(per_class[1::2]).astype(np.int64)
    spread, trend = _stats.spread_and_trend_matrix(full, n_classes, top=top, red=red, n_rows=n_rows, biggest=biggest,
                                                   n_boot=n_boot, seed=seed)
    pos, place = y == 1, cells["place2"].to_numpy(dtype=float) / 2
    m_i = np.bincount(acc[pos], weights=cnt[pos], minlength=n_acc)
    n_i = np.bincount(acc[~pos], weights=cnt[~pos], minlength=n_acc)
    m_tot, n_tot = m_i.sum(), n_i.sum()
    v10 = np.bincount(acc[pos], weights=place[pos], minlength=n_acc) / max(n_tot, 1)
    v01 = np.bincount(acc[~pos], weights=place[~pos], minlength=n_acc) / max(m_tot, 1)
    auc = _stats.delong_from_sums(v10, v01, m_i, n_i)
    arr_sums = None
    if arr:
        a = cells["arr"].to_numpy(dtype=float)
        a_n = np.bincount(b, weights=a, minlength=n_classes)
        arr_sums = (a_n, np.bincount(b, weights=a * y, minlength=n_classes), float(a.sum()))
    extra: dict[str, Any] = {}
    if lift is not None and len(lift):
        bins = lift.groupby("bin").agg(n=("n", "sum"), events=("events", "sum"), lo=("lo", "min"), hi=("hi", "max"))
        bins = bins.reindex(range(n_bins))
        count = bins["n"].fillna(0).to_numpy(dtype=np.int64)
        extra["lift"] = _stats.lift_from_bins(count, bins["events"].fillna(0).to_numpy(dtype=float),
                                              bins["lo"].to_numpy(dtype=float), bins["hi"].to_numpy(dtype=float))
        extra["ks"] = float(lift["ks"].max())
    if calib is not None and len(calib) and config.calibration is not None:
        bins = calib.set_index("bin").sort_index().reindex(range(n_bins))
        counts = bins["n"].fillna(0).to_numpy(dtype=np.int64)
        extra["reliability"] = _stats.reliability_from_sums(counts, bins["sp"].fillna(0).to_numpy(dtype=float),
                                                            bins["sy"].fillna(0).to_numpy(dtype=float))
        extra["brier"] = float(bins["sq"].sum() / counts.sum())
    return validation_from_counts(n, k, classes, red_band=config.red_band, spread=spread, auc=auc,
                                  trend_accounts=trend, n_accounts=n_acc, n_boot=n_boot, seed=seed, arr_sums=arr_sums,
                                  n_pending=n_pending, as_of=as_of, **extra)


@validate_params(_PARAMS)
def validate_on_engine(
    engine: Any,
    config: WeightConfig,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    as_of: str | pd.Timestamp | None = None,
    by: By | None = None,
    n_bins: int = 10,
    diagnostics: bool = True,
) -> Validation:
    """:func:`calibrate.validation.separation.validate` on an engine, from aggregates (module docstring).

    Parameters
    ----------
    engine : Engine
        From :func:`calibrate.data.engines.open_engine` (with ``allow_pending=True`` to keep undecided renewals).
    config : WeightConfig
    n_boot, seed, as_of, by
        As :func:`~calibrate.validation.separation.validate`.
    n_bins : int, default 10
        Bins of the ECE, reliability curve and lift table.
    diagnostics : bool, default True
        Also the lift table, KS, reliability curve, ECE and Brier score (two more queries).

    Returns
    -------
    Validation
        The pandas engine's figures (red book, CSM flag and calibration slope/intercept left out).

    Raises
    ------
    DataError
        ``by`` names a column the data do not have, or a query fails on the engine.
    """
    if by is not None:
        _check_by(engine, by)
    options = _options(engine, n_boot=n_boot, seed=seed, as_of=as_of, n_bins=n_bins)
    pending = engine.sql(f"SELECT COUNT(*) AS n FROM {engine.relation} WHERE NOT ({_decided(as_of, engine.columns)})")
    whole = _aggregates(engine, config, None, as_of, n_bins, diagnostics)
    result = _one(*whole, int(pending["n"].sum()), config, **options)
    if by is None:
        return result
    from dataclasses import replace

    return replace(result, by=by, groups=_groups(engine, config, by, diagnostics=diagnostics, **options))


def _options(engine: Any, *, n_boot: int, seed: int, as_of: Any, n_bins: int) -> dict[str, Any]:
    """The options :func:`_one` reads for every group of a validation."""
    return {"n_boot": n_boot, "seed": seed, "as_of": as_of, "n_bins": n_bins, "arr": "arr" in engine.columns}


def _groups(engine: Any, config: WeightConfig, by: By, *, diagnostics: bool, **options: Any
            ) -> tuple[tuple[str, Validation], ...]:
    """Each group's :class:`Validation` (``by`` segment or period), from one more pair of scans."""
    cells, lift, calib = _aggregates(engine, config, by, options["as_of"], options["n_bins"], diagnostics)
    groups = []
    for g in sorted(set(cells["g"])):
        pick = lambda t: None if t is None else t[t["g"] == g]  # noqa: E731
        groups.append((_label(by, g), _one(pick(cells), pick(lift), pick(calib), 0, config, **options)))
    return tuple(groups)


@validate_params(_GROUP_PARAMS)
def validate_groups_on_engine(engine: Any, config: WeightConfig, *, by: By, n_boot: int = 2000, seed: int = 0,
                              as_of: str | pd.Timestamp | None = None, n_bins: int = 10,
                              diagnostics: bool = True) -> tuple[tuple[str, Validation], ...]:
    """The ``groups`` of :func:`validate_on_engine` with ``by`` alone, without the whole book's figures (two scans
    fewer: the drift's per-period table needs only these).

    Parameters
    ----------
    engine, config, by, n_boot, seed, as_of, n_bins, diagnostics
        As :func:`validate_on_engine` (``by`` required).

    Returns
    -------
    tuple of (str, Validation)
        Each group's name (``2025Q3``, a segment) and figures, in sorted order.
    """
    _check_by(engine, by)
    return _groups(engine, config, by, diagnostics=diagnostics,
                   **_options(engine, n_boot=n_boot, seed=seed, as_of=as_of, n_bins=n_bins))
