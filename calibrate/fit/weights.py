"""Fit dimension weights from renewal outcomes.

The simplex model is ``P(renew) = sigmoid(a + b · Σ wᵢ sᵢ/100)`` with ``wᵢ ≥ 0``, ``Σ wᵢ = 1`` and
``b ≥ 0``. Writing ``v = b·w`` turns it into a logistic regression with ``v ≥ 0``
(``b = Σ v``, ``w = v / b``), which is convex: it is solved exactly by L-BFGS-B with box bounds
and an analytic gradient (performance.md). "Fit unconstrained, then clip" is *not* this optimum
when a true weight is zero. Floors, caps, fixed weights and a stability penalty toward the
current weights stay convex (see :mod:`calibrate.fit.simplex`); ``method="logit"`` is the
statsmodels path of :mod:`calibrate.fit.logit`; :func:`calibrate.fit.bootstrap.bootstrap_weights`
gives account-level percentile intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate._params import validate_params
from calibrate.data.load import Accounts
from calibrate.errors import FitError
from calibrate.fit.result import (
    FIT_PARAMS,
    MAX_SLOPE,
    MIN_EVENTS_PER_DIMENSION,
    FitResult,
    _arrays,
    _check_fit_data,
    _current_weights,
    _directions,
    _json_option,
    _oriented,
    _row_weights,
    _train_subset,
    _with_options,
)
from calibrate.fit.information import collinear_groups, information_matrix, zero_weight_tests
from calibrate.fit.simplex import Bounds, initial_theta, logistic_terms, resolve_bounds, simplex_mle, solve_simplex

__all__ = [
    "FitResult",
    "fit_weights",
    "simplex_mle",
    "MIN_EVENTS_PER_DIMENSION",
    "STABILITY_GRID",
]


STABILITY_GRID: tuple[float, ...] = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""λ values ``stability="auto"`` tries, scored by out-of-time log-loss."""


def _log_loss(x: np.ndarray, y: np.ndarray, v: np.ndarray, a: float, sample_weight: np.ndarray | None = None) -> float:
    """Mean (row-weighted) log-loss of ``logit P(y=1) = a + x @ v``."""
    eta = a + x @ v
    return float(np.average(np.logaddexp(0.0, eta) - y * eta, weights=sample_weight))


def _usable_start(start: np.ndarray | None, x01: np.ndarray, y: np.ndarray, sw: np.ndarray | None,
                  bounds: Bounds) -> np.ndarray | None:
    """``start`` when Newton may begin there, else None (the cold start): finite, of the right length, on the plain
    simplex (a start is not checked against floors, caps or fixed weights: those fits start cold), and no worse in
    (weighted) log-loss than the cold start — a saturating link (a hand-edited config's slope) would leave Newton
    nothing to descend and report its own weights as the optimum."""
    if start is None:
        return None
    theta = np.asarray(start, dtype=float)
    if theta.shape != (x01.shape[1] + 1,) or not np.isfinite(theta).all() or (theta[1:] < 0).any() or not bounds.plain:
        return None
    cold = initial_theta(float(np.average(y, weights=sw)), x01.shape[1], bounds)
    worse = _log_loss(x01, y, theta[1:], theta[0], sw) > _log_loss(x01, y, cold[1:], cold[0], sw)
    return None if worse else theta


def _auto_stability(
    x: np.ndarray, y: np.ndarray, dates: np.ndarray | None, bounds: Bounds, target: np.ndarray
) -> tuple[float, dict[str, float]]:
    """Choose λ by out-of-time validation: fit on the earlier snapshot dates, log-loss on the later quarter."""
    if dates is None:
        raise FitError("stability='auto' needs a snapshot_date column to validate out of time; map it or pass a number")
    distinct = np.unique(dates)
    if len(distinct) < 2:
        raise FitError(
            "stability='auto' needs at least 2 snapshot dates (fit on earlier, validate on later); pass a number instead"
        )
    cut = distinct[len(distinct) - max(1, round(0.25 * len(distinct)))]
    train, test = dates < cut, dates >= cut
    v0, _, _, _ = solve_simplex(x[train], y[train], bounds=bounds)
    scale = max(float(v0.sum()), 1e-6)
    losses: dict[str, float] = {}
    theta = None
    for lam in STABILITY_GRID:
        v, a, _, _ = solve_simplex(x[train], y[train], bounds=bounds, stability=lam, target=target,
                                   slope_scale=scale, theta0=theta)
        theta = np.concatenate(([a], v))
        losses[repr(lam)] = _log_loss(x[test], y[test], v, a)
    best = min(losses.values())
    chosen = max(lam for lam in STABILITY_GRID if losses[repr(lam)] <= best + 1e-12)
    return chosen, losses


@validate_params(FIT_PARAMS)
def fit_arrays(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    *,
    method: Literal["simplex", "logit"] = "simplex",
    groups: np.ndarray | None = None,
    dates: np.ndarray | None = None,
    directions: Mapping[str, str] | None = None,
    floor: float | Mapping[str, float] | None = None,
    cap: float | Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    current: Any = None,
    stability: float | str = 0.0,
    on_negative: Literal["drop", "invert", "floor"] = "drop",
    alpha: float = 0.05,
    penalty: Literal["l1", "l2"] | None = None,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    min_events_per_dimension: int = MIN_EVENTS_PER_DIMENSION,
    max_slope: float = MAX_SLOPE,
    copy: bool = True,
    start: np.ndarray | None = None,
) -> FitResult:
    """The fit on arrays: what :func:`fit_weights` and :class:`~calibrate.fit.estimator.HealthScoreClassifier` share.

    ``x`` holds the sub-scores on 0–100 in ``names`` order, ``y`` is 1 for renewed; ``groups``
    (account ids), ``dates`` (snapshot dates) and ``sample_weight`` (row weights, simplex only) are
    optional. ``min_events_per_dimension`` is the events-per-dimension rule (0 switches it off);
    ``max_slope`` the slope (0–1 score scale) above which the outcome counts as separated (``inf`` off).
    Other options as in :func:`fit_weights`. ``copy=False`` lets the simplex path rescale ``x`` in
    place (saves one n × k copy). ``start``: ``θ = (a, v)`` to start the plain simplex fit from
    (:func:`~calibrate.fit.simplex.link_theta` of a fit or a config on similar data: fewer Newton steps, the same
    optimum; drift's refits start from the config's and the window's); ignored where it would not help
    (:func:`_usable_start`).
    """
    names = tuple(names)
    y = np.asarray(y, dtype=float)
    dirs = _directions(directions, current, names)
    n_accounts = len(y) if groups is None else int(pd.unique(np.asarray(groups)).size)
    if method == "logit":
        if sample_weight is not None:
            raise FitError("row weights (weight_by, sample_weight) apply to method='simplex' only; drop them or use the simplex method")
        if cap is not None or fixed or stability not in (0, 0.0, None):
            raise FitError("cap, fixed and stability apply to method='simplex' only; drop them or use the simplex method")
        from calibrate.fit.logit import logit_arrays

        return logit_arrays(x, y, names, groups=groups, directions=dirs, on_negative=on_negative, alpha=alpha,
                            floor=floor, penalty=penalty, seed=seed,
                            min_events_per_dimension=min_events_per_dimension).fit
    if penalty is not None:
        raise FitError("penalty (L1/L2) applies to method='logit' only; drop it or pass method='logit'")
    x01 = _oriented(x, names, dirs, copy=copy)
    _check_fit_data(x01, y, names, min_events_per_dimension=min_events_per_dimension)
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    bounds = resolve_bounds(names, floor=floor, cap=cap, fixed=fixed)
    target = _current_weights(current, names)
    options: dict[str, Any] = {"floor": _json_option(floor), "cap": _json_option(cap), "fixed": _json_option(fixed)}
    lam = 0.0
    if stability not in (0, 0.0, None):
        if target is None:
            raise FitError("a stability penalty pulls toward the current weights; pass --current CONFIG (current=...)")
        if stability == "auto":
            if sw is not None:
                raise FitError("stability='auto' validates unweighted log-loss; with row weights pass a number")
            lam, losses = _auto_stability(x01, y, None if dates is None else np.asarray(dates), bounds, target)
            options["stability_grid"] = losses
        else:
            lam = float(stability)
        options |= {"stability": stability, "stability_lambda": lam,
                    "current_weights": {n: float(w) for n, w in zip(names, target)}}
    v, a, converged, solver = solve_simplex(x01, y, sample_weight=sw, bounds=bounds,
                                            theta0=_usable_start(start, x01, y, sw, bounds))
    if lam > 0:
        v, a, converged, solver = solve_simplex(x01, y, sample_weight=sw, bounds=bounds, stability=lam, target=target,
                                                slope_scale=max(float(v.sum()), 1e-6),
                                                theta0=np.concatenate(([a], v)))
    eta = a + x01 @ v
    repeated = n_accounts < len(y)  # an account with several snapshots (n_accounts is len(y) without groups)
    loglik = y * eta - logistic_terms(eta)[0]
    return simplex_result(
        names, v, a, converged=converged, solver=solver, bounds=bounds, options=options, directions=dirs,
        info=information_matrix(x01, y, v, a, sw),
        zero_tests=lambda zero: zero_weight_tests(x01, y, v, a, zero, sample_weight=sw, groups=groups,
                                                  robust=repeated or sw is not None),
        log_likelihood=float(np.sum(loglik) if sw is None else sw @ loglik), n=len(y), n_events=int((y == 0).sum()),
        n_accounts=n_accounts, method=method, max_slope=max_slope, alpha=alpha,
    )


def simplex_result(
    names: tuple[str, ...], v: np.ndarray, a: float, *, converged: bool, solver: str, bounds: Bounds,
    options: dict[str, Any], directions: dict[str, str], info: np.ndarray,
    zero_tests: Callable[[np.ndarray], dict[int, tuple[float, float]]], log_likelihood: float, n: int, n_events: int,
    n_accounts: int, method: str = "simplex", max_slope: float = MAX_SLOPE, alpha: float = 0.05,
) -> FitResult:
    """The :class:`FitResult` of a simplex optimum ``(a, v)``: the settling checks, the weights on the simplex, the
    identifiability and weight-at-zero flags — shared by the fit on arrays and the fit on an engine
    (:mod:`calibrate.fit.engine`), which differ only in how ``info`` (the Fisher information of ``(a, v)``) and the
    score tests (``zero_tests``: mask of weights at 0 → index → ``(z, p)``) are computed."""
    b = float(v.sum())
    if b <= 1e-10:
        raise FitError(
            "no dimension is positively associated with renewal in this data (every weight fits to zero); "
            "check the outcome coding (renewed=1) and each dimension's direction"
        )
    if b > max_slope or not converged:
        raise FitError(
            f"the fit did not settle (slope {b:.1f} on the 0-1 score scale): renewals are (nearly) perfectly "
            "separated by the score; check for leakage (a sub-score computed after the renewal) or add data"
        )
    w = v / b
    free = ~bounds.fixed
    if not free.all():  # fixed weights exact, not 1e-16 off; the free ones (if any) share the rest
        w = np.where(bounds.fixed, bounds.lo, w)
        if free.any():
            w[free] *= (1.0 - w[bounds.fixed].sum()) / w[free].sum()
    else:
        w /= w.sum()
    options = options | {"solver": solver}
    condition, collinear = collinear_groups(info, names)
    zero = (w <= 1e-6) & ~bounds.fixed & (bounds.lo <= 0)
    tests = zero_tests(zero) if zero.any() else {}
    return FitResult(
        weights={n: float(wi) for n, wi in zip(names, w)},
        intercept=a,
        slope=b / 100.0,
        log_likelihood=log_likelihood,
        n=n,
        n_events=n_events,
        n_accounts=n_accounts,
        method=method,
        converged=converged,
        options={k: val for k, val in options.items() if val is not None},
        directions=directions,
        flags=_bound_flags(names, w, bounds, {names[j]: t for j, t in tests.items()}, alpha)
        | _collinear_flags(collinear, condition, dict(zip(names, w))),
        condition_number=condition,
        collinear=collinear,
    )


def _collinear_flags(collinear: tuple[tuple[str, ...], ...], condition: float,
                     weights: dict[str, float]) -> dict[str, str]:
    """Each dimension of a collinear group: only the group's total weight is determined."""
    flags = {}
    for group in collinear:
        total = sum(weights[n] for n in group)
        for n in group:
            others = ", ".join(m for m in group if m != n)
            flags[n] = (f"not identifiable: collinear with {others} (information condition number {condition:.3g}); "
                        f"only their total weight {total:.3f} is determined, not its split")
    return flags


def _bound_flags(names: tuple[str, ...], w: np.ndarray, bounds: Bounds,
                 zero_tests: Mapping[str, tuple[float, float]], alpha: float) -> dict[str, str]:
    flags = {}
    for j, n in enumerate(names):
        if bounds.fixed[j]:
            flags[n] = f"fixed at {bounds.lo[j]:g}"
        elif bounds.lo[j] > 0 and w[j] <= bounds.lo[j] + 1e-6:
            flags[n] = f"at its floor {bounds.lo[j]:g}: the data would give it less"
        elif bounds.hi[j] < 1 and w[j] >= bounds.hi[j] - 1e-6:
            flags[n] = f"at its cap {bounds.hi[j]:g}: the data would give it more"
        elif w[j] <= 1e-6:
            z, p = zero_tests.get(n, (float("nan"), float("nan")))
            if p <= alpha:
                flags[n] = (f"weight 0: points the wrong way given the other dimensions (score test z = {z:.2f}, "
                            f"p = {p:.2g}); check its direction (lower_is_healthier?)")
            else:
                flags[n] = (f"weight 0: no detectable association with renewal given the other dimensions "
                            f"(score test p = {p:.2g})")
    return flags


@validate_params(FIT_PARAMS)
def fit_weights(
    data: Accounts,
    *,
    method: Literal["simplex", "logit"] = "simplex",
    train_until: str | None = None,
    floor: float | Mapping[str, float] | None = None,
    cap: float | Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    current: Any = None,
    stability: float | str = 0.0,
    directions: Mapping[str, str] | None = None,
    on_negative: Literal["drop", "invert", "floor"] = "drop",
    alpha: float = 0.05,
    penalty: Literal["l1", "l2"] | None = None,
    seed: int = 0,
    weight_by: str | None = None,
) -> FitResult:
    """Fit the dimension weights of a health score from renewal outcomes.

    Parameters
    ----------
    data : Accounts
        Loaded snapshots (see :func:`calibrate.load_accounts`).
    method : {"simplex", "logit"}, default "simplex"
        ``"simplex"``: constrained maximum likelihood with the weights on the simplex.
        ``"logit"``: statsmodels Logit on the dimensions, weights ∝ positive coefficients
        (see :func:`calibrate.fit.logit.fit_logit` for the coefficient table).
    train_until : str, optional
        Fit only on snapshots dated on or before this ISO date (needs ``snapshot_date``).
    floor, cap : float or dict, optional
        Least / most weight per dimension (scalar for all, or name → value). ``floor=0.05`` keeps every
        dimension in the composite. With ``method="logit"``, ``floor`` is the weight
        ``on_negative="floor"`` gives a wrong-way dimension.
    fixed : dict, optional
        Name → weight the fit must keep (overrides that dimension's floor and cap).
    current : WeightConfig or dict, optional
        The weights in production: the stability penalty's target; a config also gives the directions.
    stability : float or "auto", default 0
        ``λ`` of the penalty ``λ·‖w − w_current‖²`` (convex form: :mod:`calibrate.fit.simplex`); ``"auto"``
        picks λ from :data:`STABILITY_GRID` by out-of-time log-loss (earlier snapshot dates vs the last quarter).
    directions : dict, optional
        Name → ``"higher_is_healthier"``/``"lower_is_healthier"`` (default: from ``current``, else higher).
    on_negative : {"drop", "invert", "floor"}, default "drop"
        ``method="logit"`` only: what a negative coefficient becomes.
    alpha : float, default 0.05
        Level of the flags' tests: ``method="logit"`` flags coefficients with p > alpha; the simplex fit
        says of a weight at 0 whether it points the wrong way (score test p <= alpha) or shows no effect.
    penalty : {None, "l1", "l2"}
        ``method="logit"`` only: regularised fit, strength by account-grouped cross-validation.
    seed : int, default 0
        Seed of the cross-validation folds (logit with a penalty).
    weight_by : {None, "arr"}
        Weight each row by this column (``"arr"``: fit the renewal of revenue rather than of accounts;
        simplex only).

    Returns
    -------
    FitResult
        ``options`` records every option (provenance); ``flags`` names dimensions at a bound or pointing the
        wrong way, and weights the data cannot identify (``collinear``).

    Raises
    ------
    FitError
        Too few churn events, a constant dimension, (near) perfect separation, infeasible bounds.
    """
    data = _train_subset(data, train_until)
    x, y, groups, dates = _arrays(data)
    fit = fit_arrays(
        x, y, data.dimensions, method=method, groups=groups, dates=dates, directions=directions, floor=floor,
        cap=cap, fixed=fixed, current=current, stability=stability, on_negative=on_negative, alpha=alpha,
        penalty=penalty, seed=seed, sample_weight=_row_weights(data, weight_by), copy=False,
    )
    return _with_options(fit, {"train_until": train_until} | ({"weight_by": weight_by} if weight_by else {}))


