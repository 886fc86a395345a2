"""Population drift on an engine (DuckDB, Spark): PSI/CSI, KS and Wasserstein from counts the engine returns.

:func:`population_engine` asks for the new window's counts in **one aggregate query**: every variable (the
score and each dimension) on its reference decile bins and on the 1-point grid, with its sum, by a cross join
of the scored rows with the variable index (``GROUP BY variable, bin, cell``: at most ``(k + 1) × 11 × 100``
small rows come back). A second query counts the rows per band, the rows and the accounts. Everything after the
counts is the pandas path's own arithmetic (:func:`calibrate.drift.signals.population_from_counts`,
:func:`calibrate.drift.parts.population_from_counts`), so the figures are :func:`~calibrate.drift.detect_drift`'s
(tests: PSI within 1e-9).

The scored rows are the config's scoring SQL over the relation (:func:`calibrate.score.sql.scoring_sql`, what
the export writes), so the score is the production scorer's by construction.
Per-period performance (AUC, spread) and the label-free estimate are not computed here yet; the weight refit
is :func:`calibrate.fit.engine.fit_engine` with the periods as a ``where`` condition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from calibrate.config.model import WeightConfig
from calibrate.drift import signals as _drift
from calibrate.drift.parts import population_from_counts, reference_bins
from calibrate.drift.policy import DriftPolicy
from calibrate.errors import ConfigError, DataError
from calibrate.score.sql import relation_config, scoring_sql

__all__ = ["population_engine"]

_CELLS = _drift.GRID_EDGES.shape[0]  # the last grid cell's index (x > 99)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _bin(edges: list[float]) -> str:
    """The right-closed reference bin of ``x`` (the number of edges below it), as ``searchsorted(side="left")``."""
    return " + ".join(f"CASE WHEN x > {float(e)!r} THEN 1 ELSE 0 END" for e in edges) or "0"


def _window(engine: Any, scored: str, since: str | None, ref_end: str | None) -> tuple[str, list[str]]:
    """The new window's condition and the notes (as :func:`~calibrate.drift.detect_drift` chooses it)."""
    start = since or ref_end
    if start is None:
        return "TRUE", []
    op = ">=" if since else ">"
    cond = f"CAST(snapshot_date AS TIMESTAMP) {op} CAST('{pd.Timestamp(start).isoformat()}' AS TIMESTAMP)"
    n = int(engine.sql(f"SELECT COUNT(*) AS n FROM ({scored}) AS s WHERE {cond}").iloc[0, 0])
    if n:
        return cond, []
    if since:
        raise DataError(f"drift data: no snapshot on or after --since {since}; choose an earlier date")
    return "TRUE", ["no snapshot after the reference period: the whole data is the new window"]


def population_engine(
    engine: Any,
    config: WeightConfig,
    *,
    scored: str | None = None,
    since: str | None = None,
    policy: DriftPolicy | None = None,
    n_sim: int = 2000,
    seed: int = 0,
    floor: float = 1e-4,
) -> dict[str, Any]:
    """The population part of :func:`~calibrate.drift.detect_drift` on ``engine``.

    Parameters
    ----------
    engine : Engine
        From :func:`calibrate.data.engines.open_engine`.
    config : WeightConfig
        With a drift reference.
    scored : str, optional
        SQL (DuckDB dialect) of the scored rows: the relation's columns with ``score`` and ``band_index``; default
        the config's scoring SQL over ``engine.relation`` (:func:`calibrate.score.sql.scoring_sql`).
    since, policy, n_sim, seed, floor :
        As for :func:`~calibrate.drift.detect_drift`.

    Returns
    -------
    dict
        ``population`` (the report's table), ``bands``, ``red_share``, ``window`` and ``notes``.
    """
    ref = config.reference
    if ref is None:
        raise ConfigError(f"config {config.name} v{config.version} has no drift reference; refit it with "
                          "`calibrate run` (configs written since drift support carry one)")
    policy = DriftPolicy() if policy is None else policy
    opts = {**policy.model_dump(), "n_sim": n_sim, "floor": floor}
    if scored is None:
        segment = "segment" if config.segments is not None else None
        scored = scoring_sql(relation_config(config, segment=segment), table=engine.relation, header=False)
    names = [d.name for d in config.dimensions]
    variables = [("score", ref.score)] + [(n, reference_bins(ref, n)) for n in names]
    where, notes = _window(engine, scored, since, ref.period_end)
    pick = " ".join(f"WHEN {i} THEN CAST({'score' if i == 0 else _q(n)} AS DOUBLE)" for i, (n, _) in enumerate(variables))
    bins = " ".join(f"WHEN {i} THEN {_bin(list(b.edges))}" for i, (_, b) in enumerate(variables))
    values = ", ".join(f"({i})" for i in range(len(variables)))
    query = (f"SELECT v, CASE v {bins} END AS b, CAST(LEAST(GREATEST(CEIL(x) - 1.0, 0.0), {_CELLS}.0) AS INTEGER) AS c, "
             f"COUNT(*) AS n, SUM(x) AS sx FROM (SELECT t.v AS v, CASE t.v {pick} END AS x "
             f"FROM (SELECT * FROM ({scored}) AS s0 WHERE {where}) AS s CROSS JOIN (VALUES {values}) AS t(v)) AS u "
             "WHERE x IS NOT NULL AND NOT isnan(x) GROUP BY 1, 2, 3")
    cells = engine.sql(query)
    counts = {}
    for i, (name, b) in enumerate(variables):
        part = cells[cells["v"] == i]
        bc = np.bincount(part["b"].to_numpy(dtype=np.intp), weights=part["n"].to_numpy(dtype=float),
                         minlength=len(b.edges) + 1)
        gc = np.bincount(part["c"].to_numpy(dtype=np.intp), weights=part["n"].to_numpy(dtype=float),
                         minlength=_CELLS + 1)
        total = float(part["n"].sum())
        counts[name] = (bc, gc, float(part["sx"].sum()) / total if total else float("nan"))
    totals = engine.sql(f"SELECT band_index, COUNT(*) AS n, COUNT(DISTINCT account_id) AS a, "
                        f"MIN(snapshot_date) AS lo, MAX(snapshot_date) AS hi FROM ({scored}) AS s WHERE {where} "
                        "GROUP BY GROUPING SETS ((band_index), ()) ORDER BY band_index")
    overall = totals[totals["band_index"].isna()].iloc[0]
    per_band = totals[totals["band_index"].notna() & (totals["band_index"] >= 0)]
    band_counts = np.zeros(len(config.bands))
    band_counts[per_band["band_index"].to_numpy(dtype=np.intp)] = per_band["n"].to_numpy(dtype=float)
    n_new_acc = int(overall["a"])
    pop, band_tab, red_share = population_from_counts(counts, band_counts, config, ref, n_new_acc=n_new_acc,
                                                      opts=opts, seed=seed)
    window = {"reference_start": ref.period_start, "reference_end": ref.period_end, "n_reference": ref.n,
              "n_reference_accounts": ref.n_accounts,
              "new_start": str(pd.Timestamp(overall["lo"]).date()), "new_end": str(pd.Timestamp(overall["hi"]).date()),
              "n_new": int(overall["n"]), "n_new_accounts": n_new_acc, "effective_size": "accounts"}
    return {"population": pop, "bands": band_tab, "red_share": red_share, "window": window, "notes": notes}
