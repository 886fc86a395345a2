"""The simplex fit and its weight intervals on an engine (DuckDB, Spark): the rows stay where they are.

The model and its options are :mod:`calibrate.fit.simplex`'s: ``logit P(renew) = a + x @ v``, ``x`` the healthy
sub-scores on 0–1, ``v = b·w ≥ 0``. It is solved by **Newton steps whose loss, gradient and Hessian are one
aggregate query per step**: at ``θ = (a, v)`` the engine returns ``Σ sᵢ ℓᵢ``, the ``k + 1`` gradient sums
``Σ sᵢ(pᵢ − yᵢ)·[1, xᵢ]`` and the ``(k + 1)(k + 2)/2`` Hessian sums ``Σ sᵢ pᵢ(1 − pᵢ)·[1, xᵢ][1, xᵢ]ᵀ``
(``s`` the row weights: 1, or ``arr`` with ``weight_by``) — 105 sums for 12 dimensions. The driver then
minimises that quadratic model over the feasible set (``v ≥ 0`` and the floors, caps and fixed weights as
linear constraints; the stability penalty is quadratic and added exactly): the active-set QP
:func:`calibrate.fit.simplex.quadratic_step` the one-step bootstrap uses too, a (k + 1)-variable problem —
the Newton loop :func:`calibrate.fit.simplex.newton_simplex` the pandas fit runs on its rows. A
step that does not lower the loss is halved (one more query each). The loss is convex, so this reaches the
pandas fit's optimum (tests: weights within 1e-4 of :func:`~calibrate.fit.weights.fit_weights`); 6–10 queries
from the same start on typical books, each one scan.

Supported on every engine: the plain simplex, ``floor``, ``cap``, ``fixed``, a numeric ``stability`` (with
``current``), ``weight_by="arr"``, ``train_until``. Refused (one line, exit 2 on the command line):
``method="logit"`` and its options (``penalty``, ``on_negative``), ``stability="auto"``.

**Weight intervals** (:func:`bootstrap_engine`) are the account bootstrap's one-step form (the pandas path's
from :data:`~calibrate.fit.bootstrap.NEWTON_ACCOUNTS` accounts on): one ``GROUP BY account_id`` query at the
optimum pulls each account's ``k + 1`` gradient sums and row-weight total to the driver — memory
``accounts × (k + 2)`` floats (100,000 accounts × 12 dimensions: 11 MB) plus the ``(k + 1)²`` Hessian — and each
resample is one Newton step from the full fit (:class:`~calibrate.fit.bootstrap._OneStep`). Accounts are
ordered by ``account_id`` as the pandas path orders them, so a seed draws the same accounts. The step needs
the plain simplex (or a stability penalty): with floors, caps or fixed weights the intervals are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from calibrate.errors import FitError
from calibrate.fit.bootstrap import WeightIntervals, _OneStep, newton_draws, _percentile_intervals
from calibrate.fit.information import score_tests
from calibrate.fit.result import MAX_SLOPE, MIN_EVENTS_PER_DIMENSION, WEIGHT_BY, FitResult, _current_weights, \
    _directions, _json_option
from calibrate.fit.simplex import Bounds, Moments, initial_theta, newton_simplex, resolve_bounds
from calibrate.fit.weights import simplex_result

__all__ = ["EngineFit", "fit_engine", "bootstrap_engine"]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Design:
    """The fit's rows and columns as SQL over ``engine.relation``: ``y``, the row weight ``s`` and ``x₁ … x_k``."""

    relation: str
    names: tuple[str, ...]
    directions: dict[str, str]
    where: str
    weight: str

    def rows(self) -> str:
        xs = ", ".join(f"{'1.0 - ' if self.directions[n] == 'lower_is_healthier' else ''}"
                       f"CAST({_q(n)} AS DOUBLE) / 100.0 AS x{j}" for j, n in enumerate(self.names))
        return (f"SELECT account_id, CAST(renewed AS DOUBLE) AS y, {self.weight} AS s, {xs} "
                f"FROM {self.relation} WHERE {self.where}")

    def at(self, theta: np.ndarray) -> str:
        """The rows with ``eta``, ``p`` and the residual ``r = s(p − y)`` and curvature ``h = s·p(1 − p)`` at ``θ``."""
        eta = " + ".join([repr(float(theta[0]))] + [f"{float(t)!r} * x{j}" for j, t in enumerate(theta[1:])])
        return (f"SELECT *, s * (p - y) AS r, s * p * (1.0 - p) AS h FROM (SELECT *, 1.0 / (1.0 + EXP(-eta)) AS p "
                f"FROM (SELECT *, {eta} AS eta FROM ({self.rows()}) AS d) AS e) AS f")


def _x(j: int) -> str:
    return "1.0" if j == 0 else f"x{j - 1}"


def _moments(engine: Any, design: _Design, theta: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """One query: total row weight, loss sum, gradient sums (k + 1) and Hessian sums ((k + 1)²) at ``θ``."""
    k1 = theta.shape[0]
    pairs = [(i, j) for i in range(k1) for j in range(i, k1)]
    cols = (["SUM(s) AS sw", "SUM(s * (GREATEST(eta, 0.0) + LN(1.0 + EXP(-ABS(eta))) - y * eta)) AS f"]
            + [f"SUM(r * {_x(i)}) AS g{i}" for i in range(k1)]
            + [f"SUM(h * {_x(i)} * {_x(j)}) AS h{i}_{j}" for i, j in pairs])
    row = engine.sql(f"SELECT {', '.join(cols)} FROM ({design.at(theta)}) AS m").iloc[0].to_numpy(dtype=float)
    grad = row[2 : 2 + k1]
    hess = np.empty((k1, k1))
    for (i, j), val in zip(pairs, row[2 + k1 :]):
        hess[i, j] = hess[j, i] = val
    return float(row[0]), float(row[1]), grad, hess


def _refuse(engine_name: str, option: str) -> FitError:
    return FitError(f"{option} is not supported by the fit on --engine {engine_name} (the simplex fit with floor, "
                    "cap, fixed, a numeric stability and weight_by is); drop it or use --engine pandas")


def _design(engine: Any, names: tuple[str, ...], dirs: dict[str, str], train_until: str | None,
            weight_by: str | None, where: str | None) -> _Design:
    conds = ["renewed IS NOT NULL"] + ([where] if where else [])
    if train_until is not None:
        if "snapshot_date" not in engine.columns:
            raise FitError("--train-until needs a snapshot_date column; map it in the data spec or drop the option")
        conds.append(f"CAST(snapshot_date AS TIMESTAMP) <= CAST('{pd.Timestamp(train_until).isoformat()}' AS TIMESTAMP)")
    weight = "1.0"
    if weight_by is not None:
        if weight_by not in WEIGHT_BY:
            raise FitError(f"weight_by must be one of {list(WEIGHT_BY)} or None; got {weight_by!r}")
        if weight_by not in engine.columns:
            raise FitError(f"weight_by={weight_by!r} needs an {weight_by} column in the data; map it or drop the option")
        weight = f"CAST({_q(weight_by)} AS DOUBLE)"
    return _Design(relation=engine.relation, names=names, directions=dirs, where=" AND ".join(conds), weight=weight)


def _profile(engine: Any, design: _Design, min_events_per_dimension: int) -> dict[str, Any]:
    """Rows, events, accounts and each dimension's range in one query, with the fit's data checks."""
    k = len(design.names)
    cols = ["COUNT(*) AS n", "SUM(y) AS renewed", "COUNT(DISTINCT account_id) AS accounts", "SUM(s) AS sw",
            "SUM(s * y) AS swy", "MIN(s) AS smin", "SUM(CASE WHEN s IS NULL THEN 1 ELSE 0 END) AS snull"]
    cols += [f"MIN(x{j}) AS lo{j}, MAX(x{j}) AS hi{j}, COUNT(x{j}) AS c{j}" for j in range(k)]
    r = engine.sql(f"SELECT {', '.join(cols)} FROM ({design.rows()}) AS d").iloc[0]
    n, renewed = int(r["n"]), int(r["renewed"] or 0)
    churned, need = n - renewed, min_events_per_dimension * k
    if min(churned, renewed) < need:
        which, have = ("churn", churned) if churned <= renewed else ("renewal", renewed)
        raise FitError(f"too few {which} events to fit {k} weights: {have} found, {need} needed "
                       f"({min_events_per_dimension} per dimension); add more history or fit fewer dimensions")
    gaps = [n_ for j, n_ in enumerate(design.names) if int(r[f"c{j}"]) < n]
    if gaps:
        raise FitError(f"dimension(s) {gaps} have missing values in the training rows; the fit needs every "
                       "sub-score: fill them in the warehouse (or load with --engine pandas --missing median)")
    flat = [n_ for j, n_ in enumerate(design.names) if float(r[f"hi{j}"]) - float(r[f"lo{j}"]) < 1e-9]
    if flat:
        raise FitError(f"dimension(s) {flat} are constant in the training data and carry no information; "
                       "drop them from --dimensions or fix the source column")
    if int(r["snull"]) or float(r["smin"]) < 0 or float(r["sw"]) <= 0:
        raise FitError("weight_by: the weight column must be >= 0 and filled on every row, with a positive total; "
                       "fill or fix it")
    return {"n": n, "n_events": churned, "n_accounts": int(r["accounts"]), "ybar": float(r["swy"]) / float(r["sw"])}


def _account_sums(engine: Any, design: _Design, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-account gradient sums (accounts × (k + 1)) and row-weight totals at ``θ``, accounts by ``account_id``."""
    k1 = theta.shape[0]
    cols = ", ".join(["SUM(s) AS t"] + [f"SUM(r * {_x(i)}) AS g{i}" for i in range(k1)])
    frame = engine.sql(f"SELECT account_id, {cols} FROM ({design.at(theta)}) AS m GROUP BY account_id "
                       "ORDER BY account_id")
    return frame[[f"g{i}" for i in range(k1)]].to_numpy(dtype=float), frame["t"].to_numpy(dtype=float)


@dataclass(frozen=True)
class EngineFit:
    """A fit on an engine: the :class:`FitResult` and what its intervals need (the design, optimum, penalty)."""

    fit: FitResult
    design: _Design
    theta: np.ndarray
    hess_sums: np.ndarray
    bounds: Bounds
    penalty: tuple[float, np.ndarray, float] | None
    queries: int


def fit_engine(
    engine: Any,
    *,
    dimensions: tuple[str, ...] | None = None,
    method: str = "simplex",
    train_until: str | None = None,
    floor: float | Mapping[str, float] | None = None,
    cap: float | Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    current: Any = None,
    stability: float | str = 0.0,
    directions: Mapping[str, str] | None = None,
    on_negative: str = "drop",
    alpha: float = 0.05,
    penalty: str | None = None,
    weight_by: str | None = None,
    where: str | None = None,
    min_events_per_dimension: int = MIN_EVENTS_PER_DIMENSION,
) -> EngineFit:
    """The simplex fit of :func:`~calibrate.fit.weights.fit_weights` computed on ``engine`` (module docstring).

    Parameters
    ----------
    engine : Engine
        From :func:`calibrate.data.engines.open_engine` (any object with ``name``, ``relation``, ``columns``,
        ``dimensions`` and ``sql``).
    dimensions : tuple of str, optional
        Default ``engine.dimensions``.
    where : str, optional
        An extra SQL condition on the rows (DuckDB dialect), e.g. the drift refit's periods.
    method, train_until, floor, cap, fixed, current, stability, directions, alpha, weight_by :
        As for :func:`~calibrate.fit.weights.fit_weights`; ``method="logit"``, ``penalty``, ``on_negative``
        other than the default and ``stability="auto"`` are refused.

    Returns
    -------
    EngineFit
        ``.fit`` is the :class:`FitResult` (``options["solver"] = "newton-sql"``; ``options["queries"]``).

    Raises
    ------
    FitError
        An unsupported option, too few events, a constant or gappy dimension, separation, infeasible bounds.
    """
    name = getattr(engine, "name", "engine")
    if method != "simplex":
        raise _refuse(name, f"method={method!r}")
    if penalty is not None:
        raise _refuse(name, "penalty (L1/L2)")
    if on_negative != "drop":
        raise _refuse(name, "on_negative")
    if stability == "auto":
        raise _refuse(name, "stability='auto'")
    names = tuple(dimensions or engine.dimensions)
    dirs = _directions(directions, current, names)
    design = _design(engine, names, dirs, train_until, weight_by, where)
    prof = _profile(engine, design, min_events_per_dimension)
    bounds = resolve_bounds(names, floor=floor, cap=cap, fixed=fixed)
    target = _current_weights(current, names)
    options: dict[str, Any] = {"floor": _json_option(floor), "cap": _json_option(cap), "fixed": _json_option(fixed)}
    lam = 0.0 if stability in (0, 0.0, None) else float(stability)
    if lam > 0:
        if target is None:
            raise FitError("a stability penalty pulls toward the current weights; pass --current CONFIG (current=...)")
        options |= {"stability": stability, "stability_lambda": lam,
                    "current_weights": {n: float(w) for n, w in zip(names, target)}}
    def moments(t: np.ndarray) -> Moments:
        return _moments(engine, design, t)

    theta, converged, queries, moments_at = newton_simplex(moments, initial_theta(prof["ybar"], len(names), bounds),
                                                           bounds, None)
    pen = None
    if lam > 0:
        pen = (lam, target, max(float(theta[1:].sum()), 1e-6))
        theta, converged, more, moments_at = newton_simplex(moments, theta, bounds, pen)
        queries += more
    sw, loss, grad, hess = moments_at
    weighted = weight_by is not None
    repeated = prof["n_accounts"] < prof["n"]

    def zero_tests(zero: np.ndarray) -> dict[int, tuple[float, float]]:
        per = -_account_sums(engine, design, theta)[0] if (repeated or weighted) else None
        return score_tests(hess, -grad, zero, per_group=per)

    fit = simplex_result(
        names, theta[1:], float(theta[0]), converged=converged, solver="newton-sql", bounds=bounds, options=options,
        directions=dirs, info=hess, zero_tests=zero_tests, log_likelihood=-loss, n=prof["n"],
        n_events=prof["n_events"], n_accounts=prof["n_accounts"], max_slope=MAX_SLOPE, alpha=alpha,
    )
    fit = replace(fit, options={**fit.options, "train_until": train_until, **({"weight_by": weight_by} if weight_by
                                                                              else {}), "engine": name, "queries": queries})
    return EngineFit(fit=fit, design=design, theta=theta, hess_sums=hess, bounds=bounds, penalty=pen, queries=queries)


def bootstrap_engine(result: EngineFit, engine: Any, *, n_boot: int = 500, seed: int = 0,
                     level: float = 0.95) -> WeightIntervals:
    """Account-bootstrap percentile intervals of an engine fit's weights, one Newton step per resample.

    One ``GROUP BY account_id`` query (module docstring); the draws, steps and percentiles are
    :func:`calibrate.fit.bootstrap.bootstrap_weights`' own, so with the same seed they draw the same accounts.

    Raises
    ------
    FitError
        Floors, caps or fixed weights (the one-step bootstrap needs the plain simplex).
    """
    if not result.bounds.plain:
        raise FitError(f"weight intervals with floors, caps or fixed weights are not supported on --engine "
                       f"{getattr(engine, 'name', 'engine')} (the one-step bootstrap needs the plain simplex); "
                       "drop the bounds or use --engine pandas")
    if n_boot < 2 or not 0 < level < 1:
        raise FitError(f"n_boot must be >= 2 and level in (0, 1); got {n_boot} and {level}")
    grad, total = _account_sums(engine, result.design, result.theta)
    step = _OneStep(grad, total, result.hess_sums, result.theta, result.penalty)
    v_all = newton_draws(step, n_boot, np.random.default_rng(seed))
    options = {k: v for k, v in result.fit.options.items()
               if k in ("floor", "cap", "fixed", "stability", "train_until", "weight_by", "engine")}
    return _percentile_intervals(v_all, result.fit, result.design.names, result.bounds, level=level, seed=seed,
                                n_accounts=total.shape[0], accounts_per_resample=total.shape[0],
                                resample_fit="newton", options=options)
