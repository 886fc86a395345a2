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

__all__ = ["population_engine", "detect_drift_engine"]

_CELLS = _drift.GRID_EDGES.shape[0]  # the last grid cell's index (x > 99)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cell(x: float) -> int:
    """The 1-point grid cell of ``x`` as the engine computes it (``LEAST(GREATEST(CEIL(x) - 1, 0), 100)``)."""
    return int(np.clip(np.ceil(x) - 1.0, 0.0, float(_CELLS)))


def _bin(edges: list[float]) -> tuple[str, np.ndarray]:
    """The right-closed reference bin of ``x`` (the number of edges below it, as ``searchsorted(side="left")``) in
    two parts: an SQL expression that is the bin on rows whose grid cell ``c`` holds an edge and ``-1`` elsewhere,
    and per cell the bin of its edge-free rows (every edge of a lower cell is below them, every other one above).

    Comparing every row with every edge is most of a scan's cost (13 variables × 10 edges per row); only the rows
    of the few cells that hold an edge are compared, the others take their cell's bin on the driver.
    """
    cells = {_cell(e) for e in edges}
    flags = [int(c in cells) for c in range(_CELLS + 1)]
    compare = " + ".join(f"CAST(x > {float(e)!r} AS INTEGER)" for e in edges) or "0"
    below = np.array([sum(_cell(e) < c for e in edges) for c in range(_CELLS + 1)], dtype=np.intp)
    return f"CASE WHEN list_extract({flags}, c + 1) = 1 THEN {compare} ELSE -1 END", below


def _scored(engine: Any, config: WeightConfig) -> str:
    """The config's scoring SQL over the engine's relation (the validation on engines scores the same way)."""
    from calibrate.validation.engine import scored_sql

    return scored_sql(engine, config)


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
    scored = _scored(engine, config) if scored is None else scored
    names = [d.name for d in config.dimensions]
    variables = [("score", ref.score)] + [(n, reference_bins(ref, n)) for n in names]
    where, notes = _window(engine, scored, since, ref.period_end)
    pick = " ".join(f"WHEN {i} THEN CAST({'score' if i == 0 else _q(n)} AS DOUBLE)" for i, (n, _) in enumerate(variables))
    parts = [_bin(list(b.edges)) for _, b in variables]
    bins = " ".join(f"WHEN {i} THEN {sql}" for i, (sql, _) in enumerate(parts))
    values = ", ".join(f"({i})" for i in range(len(variables)))
    query = (f"SELECT v, c, CASE v {bins} END AS b, COUNT(*) AS n, SUM(x) AS sx FROM ("
             f"SELECT v, x, CAST(LEAST(GREATEST(CEIL(x) - 1.0, 0.0), {_CELLS}.0) AS INTEGER) AS c FROM ("
             f"SELECT t.v AS v, CASE t.v {pick} END AS x "
             f"FROM (SELECT * FROM ({scored}) AS s0 WHERE {where}) AS s CROSS JOIN (VALUES {values}) AS t(v)) AS u0 "
             "WHERE x IS NOT NULL AND NOT isnan(x)) AS u GROUP BY 1, 2, 3")
    cells = engine.sql(query)
    counts = {}
    for i, (name, b) in enumerate(variables):
        part = cells[cells["v"] == i]
        c = part["c"].to_numpy(dtype=np.intp)
        given = part["b"].to_numpy(dtype=np.intp)
        n = part["n"].to_numpy(dtype=float)
        bc = np.bincount(np.where(given >= 0, given, parts[i][1][c]), weights=n, minlength=len(b.edges) + 1)
        gc = np.bincount(c, weights=n, minlength=_CELLS + 1)
        total = float(n.sum())
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


_PERIOD = "CAST(year(snapshot_date) AS VARCHAR) || 'Q' || CAST(quarter(snapshot_date) AS VARCHAR)"
"""The snapshot quarter as pandas labels it (``2025Q3``), as the engine validation groups by it."""


def _periods_engine(engine: Any, config: WeightConfig, scored: str, *, n_boot: int, seed: int,
                    reference_end: str | None) -> pd.DataFrame:
    """The report's per-period table on an engine: rows, accounts, outcomes, the AUC with its DeLong interval, the
    spread with its account-bootstrap interval and the band renewal rates
    (:func:`~calibrate.validation.engine.validate_groups_on_engine` by period) and the calibrated expected band
    rates; ``expected_auc`` (label-free) is NaN here."""
    from calibrate.drift.parts import MIN_PERIOD_ROWS
    from calibrate.validation.engine import validate_groups_on_engine

    z = 1.959963984540054
    names = [b.name for b in config.bands]
    per = engine.sql(f"SELECT {_PERIOD} AS period, MIN(snapshot_date) AS lo, MAX(snapshot_date) AS hi, COUNT(*) AS n, "
                     "COUNT(DISTINCT account_id) AS a, COUNT(renewed) AS n_known, SUM(renewed) AS pos "
                     f"FROM ({scored}) AS s WHERE score IS NOT NULL GROUP BY 1 ORDER BY 1")
    bands = engine.sql(f"SELECT {_PERIOD} AS period, band_index AS b, COUNT(*) AS n, SUM(p_renew) AS sp "
                       f"FROM ({scored}) AS s WHERE band_index >= 0 GROUP BY 1, 2")
    end = None if reference_end is None else pd.Timestamp(reference_end)
    groups: dict[str, Any] = {}
    if ((per["n_known"] >= MIN_PERIOD_ROWS) & (per["pos"] > 0) & (per["pos"] < per["n_known"])).any():
        groups = dict(validate_groups_on_engine(engine, config, n_boot=n_boot, seed=seed, by="period",
                                                diagnostics=False))
    rows = []
    for _, r in per.iterrows():
        known = bool(r["n_known"] >= MIN_PERIOD_ROWS and 0 < (r["pos"] or 0) < r["n_known"] and r["period"] in groups)
        row: dict[str, Any] = {"period": r["period"], "start": str(pd.Timestamp(r["lo"]).date()), "n": int(r["n"]),
                               "n_accounts": int(r["a"]), "n_known": int(r["n_known"]),
                               "in_reference": bool(end is not None and pd.Timestamp(r["hi"]) <= end),
                               "expected_auc": float("nan"), "known": known}
        vals = dict.fromkeys(["auc", "auc_se", "auc_ci_low", "auc_ci_high", "spread", "spread_ci_low",
                              "spread_ci_high"], float("nan"))
        if known:
            v = groups[r["period"]]
            vals = {"auc": v.auc, "auc_se": max(v.auc_ci[1] - v.auc, v.auc - v.auc_ci[0]) / z,
                    "auc_ci_low": v.auc_ci[0], "auc_ci_high": v.auc_ci[1], "spread": v.spread,
                    "spread_ci_low": v.spread_ci[0], "spread_ci_high": v.spread_ci[1]}
            for b in v.bands:
                vals[f"rate_{b.name}"] = float("nan") if b.renewal_rate is None else b.renewal_rate
                vals[f"rate_{b.name}_ci_low"] = float("nan") if b.ci_low is None else b.ci_low
                vals[f"rate_{b.name}_ci_high"] = float("nan") if b.ci_high is None else b.ci_high
        row.update(vals)
        mine = bands[bands["period"] == r["period"]].set_index("b")
        for k, name in enumerate(names):
            row[f"expected_rate_{name}"] = float(mine.loc[k, "sp"] / mine.loc[k, "n"]) if k in mine.index else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _weight_drift_engine(engine: Any, config: WeightConfig, periods: pd.DataFrame, *, recent_periods: int,
                         n_boot: int, seed: int, ref_accounts: int, confidence: float) -> dict[str, Any] | None:
    """The refit on the latest known periods (:func:`calibrate.fit.engine.fit_engine`) with its one-step account
    bootstrap; the out-of-time gain needs the rows' probabilities and is left out on engines."""
    from calibrate.drift.parts import weight_intervals
    from calibrate.errors import FitError
    from calibrate.fit.engine import bootstrap_engine, fit_engine

    known = periods.loc[periods["known"], "period"].tolist() if len(periods) else []
    if not known:
        return None
    recent = known[-recent_periods:]
    where = f"{_PERIOD} IN ({', '.join(repr(str(p)) for p in recent)})"
    out: dict[str, Any] = {"window": recent, "current": dict(config.weights),
                           "gain_skipped": "the out-of-time gain is computed by the pandas engine only"}
    try:
        fit = fit_engine(engine, dimensions=tuple(d.name for d in config.dimensions), where=where,
                         directions={d.name: d.direction for d in config.dimensions})
        iv = bootstrap_engine(fit, engine, n_boot=n_boot, seed=seed)
    except FitError as exc:
        out["skipped"] = str(exc)
        return out
    out["n"] = fit.fit.n
    out.update(weight_intervals(iv, config, n_accounts=fit.fit.n_accounts, ref_accounts=ref_accounts,
                                confidence=confidence))
    return out


def detect_drift_engine(
    engine: Any,
    config: WeightConfig,
    *,
    since: str | None = None,
    recent_periods: int = 2,
    weight_drift: bool = True,
    n_boot: int = 1000,
    n_boot_weights: int = 200,
    n_sim: int = 2000,
    seed: int = 0,
    policy: DriftPolicy | None = None,
    floor: float = 1e-4,
) -> Any:
    """:func:`~calibrate.drift.detect_drift` on an engine: population drift (:func:`population_engine`), the
    per-quarter performance and its trend, and the weight refit with its one-step account bootstrap, judged by the
    same findings. Not on engines (said in the report's notes): the label-free estimate and the out-of-time gain.
    """
    from calibrate.drift.detect import DriftReport, _findings
    from calibrate.drift.parts import _trend
    from calibrate.drift.policy import VERDICTS

    policy = DriftPolicy() if policy is None else policy
    pop = population_engine(engine, config, since=since, policy=policy, n_sim=n_sim, seed=seed, floor=floor)
    ref = config.reference
    scored = _scored(engine, config)
    periods = _periods_engine(engine, config, scored, n_boot=n_boot, seed=seed, reference_end=ref.period_end)
    trend = _trend(periods)
    weights = None
    if weight_drift:
        weights = _weight_drift_engine(engine, config, periods, recent_periods=recent_periods, n_boot=n_boot_weights,
                                       seed=seed, ref_accounts=ref.n_accounts or ref.n,
                                       confidence=policy.weight_confidence)
    opts = {**policy.model_dump(), "n_sim": n_sim, "floor": floor}
    val_auc = config.validation.auc.value if config.validation is not None else None
    findings = _findings(pop["population"], pop["red_share"], trend, {}, weights, val_auc, opts)
    notes = [*pop["notes"], f"--engine {engine.name}: the label-free estimate and the out-of-time gain of a refit "
                            "are computed by the pandas engine only"]
    return DriftReport(
        verdict=VERDICTS[max((VERDICTS.index(f.level) for f in findings), default=0)], findings=tuple(findings),
        population=pop["population"], bands=pop["bands"], red_share=pop["red_share"], periods=periods, trend=trend,
        label_free={}, weights=weights, window=pop["window"],
        thresholds={k: v for k, v in opts.items() if k != "n_sim"}, seed=seed, notes=tuple(notes),
    )
