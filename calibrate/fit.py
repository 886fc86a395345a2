"""Fit dimension weights from renewal outcomes.

The simplex model is ``P(renew) = sigmoid(a + b · Σ wᵢ sᵢ/100)`` with ``wᵢ ≥ 0``, ``Σ wᵢ = 1`` and
``b ≥ 0``. Writing ``v = b·w`` turns it into a logistic regression with ``v ≥ 0``
(``b = Σ v``, ``w = v / b``), which is convex: it is solved exactly by L-BFGS-B with box bounds
and an analytic gradient (performance.md). "Fit unconstrained, then clip" is *not* this optimum
when a true weight is zero. Floors, caps, fixed weights and a stability penalty toward the
current weights stay convex (see :mod:`calibrate.simplex`); ``method="logit"`` is the
statsmodels path of :mod:`calibrate.logit`; :func:`calibrate.fit_bootstrap.bootstrap_weights`
gives account-level percentile intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from calibrate.errors import FitError
from calibrate.load import Accounts
from calibrate.simplex import Bounds, resolve_bounds, simplex_mle, solve_simplex

__all__ = [
    "FitResult",
    "fit_weights",
    "simplex_mle",
    "MIN_EVENTS_PER_DIMENSION",
    "STABILITY_GRID",
]

MIN_EVENTS_PER_DIMENSION = 10
"""Fewest churn (and renewal) events per dimension before a fit is attempted (the usual EPV rule)."""

MAX_SLOPE = 60.0
"""A fitted slope b above this (odds × e^0.6 per score point) means the outcome is (nearly) perfectly separated."""


@dataclass(frozen=True)
class FitResult:
    """Fitted weights and the logistic link of the score.

    Attributes
    ----------
    weights : dict
        Dimension → weight (≥ 0, summing to 1).
    intercept, slope : float
        ``P(renew) = sigmoid(intercept + slope · score)`` with ``score`` on 0–100.
    log_likelihood : float
    n, n_events, n_accounts : int
        Rows, churn events, distinct accounts used.
    method : str
    converged : bool
    options : dict
        The options the fit ran with (recorded in the config's provenance).
    directions : dict
        Dimension → ``"higher_is_healthier"`` / ``"lower_is_healthier"`` the weights apply to.
    flags : dict
        Dimension → why it was flagged (a negative or non-significant coefficient, a bound that binds).
    """

    weights: dict[str, float]
    intercept: float
    slope: float
    log_likelihood: float
    n: int
    n_events: int
    n_accounts: int
    method: str
    converged: bool
    options: dict[str, Any] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field."""
        return {
            "weights": dict(self.weights),
            "intercept": self.intercept,
            "slope": self.slope,
            "log_likelihood": self.log_likelihood,
            "n": self.n,
            "n_events": self.n_events,
            "n_accounts": self.n_accounts,
            "method": self.method,
            "converged": self.converged,
            "options": dict(self.options),
            "directions": dict(self.directions),
            "flags": dict(self.flags),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per dimension with its weight."""
        names = list(self.weights)
        return pd.DataFrame(
            {
                "dimension": names,
                "weight": [self.weights[n] for n in names],
                "direction": [self.directions.get(n, "higher_is_healthier") for n in names],
                "flag": [self.flags.get(n, "") for n in names],
            }
        )

    def summary(self) -> str:
        """A short text table of the weights and the link."""
        lines = [f"{self.method} fit on {self.n:,} rows ({self.n_accounts:,} accounts, {self.n_events:,} churned)"]
        for name, w in self.weights.items():
            inverted = " (inverted: lower is healthier)" if self.directions.get(name) == "lower_is_healthier" else ""
            flag = f"  <- {self.flags[name]}" if name in self.flags else ""
            lines.append(f"  {name:<14} {w:6.3f}{inverted}{flag}")
        lines.append(f"  link: logit P(renew) = {self.intercept:.3f} + {self.slope:.4f} * score")
        shown = {k: v for k, v in self.options.items() if v not in (None, 0.0, {}, []) and k != "stability_grid"}
        if shown:
            lines.append("  options: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def plot(self, ax: Any = None) -> Any:
        """Bar chart of the weights; returns the Axes."""
        from calibrate.plots import plot_weights

        return plot_weights({"fitted": self.weights}, ax=ax)

    def __repr__(self) -> str:
        w = ", ".join(f"{k}={v:.3f}" for k, v in self.weights.items())
        return f"<FitResult {self.method} on {self.n:,} rows, {self.n_events:,} churned: {w}>"


def _check_fit_data(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> None:
    k = x.shape[1]
    need = MIN_EVENTS_PER_DIMENSION * k
    churned = int((y == 0).sum())
    renewed = int((y == 1).sum())
    if min(churned, renewed) < need:
        which, have = ("churn", churned) if churned <= renewed else ("renewal", renewed)
        raise FitError(
            f"too few {which} events to fit {k} weights: {have} found, {need} needed "
            f"({MIN_EVENTS_PER_DIMENSION} per dimension); add more history or fit fewer dimensions"
        )
    spread = x.max(axis=0) - x.min(axis=0)  # no n × k temporary (x.std would make one)
    flat = [names[j] for j in np.flatnonzero(spread < 1e-9)]
    if flat:
        raise FitError(
            f"dimension(s) {flat} are constant in the training data and carry no information; "
            "drop them from --dimensions or fix the source column"
        )



STABILITY_GRID: tuple[float, ...] = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
"""λ values ``stability="auto"`` tries, scored by out-of-time log-loss."""

METHODS = ("simplex", "logit")
HIGHER, LOWER = "higher_is_healthier", "lower_is_healthier"


def _current_weights(current: Any, names: tuple[str, ...]) -> np.ndarray | None:
    """The current weights (a WeightConfig or a mapping) in ``names`` order, normalised."""
    if current is None:
        return None
    weights = current.weights if hasattr(current, "weights") else dict(current)
    missing = [n for n in names if n not in weights]
    if missing:
        raise FitError(
            f"the current weights have no {missing}; pass a --current config with the same dimensions as the data"
        )
    w = np.array([float(weights[n]) for n in names])
    if w.sum() <= 0 or (w < 0).any():
        raise FitError("the current weights must be >= 0 with a positive sum; check the --current config")
    return w / w.sum()


def _directions(directions: Mapping[str, str] | None, current: Any, names: tuple[str, ...]) -> dict[str, str]:
    if directions is None and current is not None and hasattr(current, "dimensions"):
        directions = {d.name: d.direction for d in current.dimensions}
    out = {n: (directions or {}).get(n, HIGHER) for n in names}
    bad = {n: d for n, d in out.items() if d not in (HIGHER, LOWER)}
    if bad:
        raise FitError(f"directions {bad} must be {HIGHER!r} or {LOWER!r}")
    return out


def _oriented(x: np.ndarray, names: tuple[str, ...], directions: Mapping[str, str], *, copy: bool = True) -> np.ndarray:
    """Sub-scores on 0–1, with lower-is-healthier dimensions flipped (100 − s); in place when ``copy=False``."""
    x = np.array(x, dtype=float, copy=True) if copy else x
    x /= 100.0
    for j, n in enumerate(names):
        if directions.get(n) == LOWER:
            x[:, j] = 1.0 - x[:, j]
    return x


def _log_loss(x: np.ndarray, y: np.ndarray, v: np.ndarray, a: float) -> float:
    eta = a + x @ v
    return float(np.mean(np.logaddexp(0.0, eta) - y * eta))


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


def _train_subset(data: Accounts, train_until: str | None) -> Accounts:
    if train_until is None:
        return data
    if "snapshot_date" not in data.frame:
        raise FitError("--train-until needs a snapshot_date column; map it in the data spec or drop the option")
    return data.subset(data.frame["snapshot_date"] <= pd.Timestamp(train_until))


def _json_option(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


def fit_arrays(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    *,
    method: str = "simplex",
    groups: np.ndarray | None = None,
    dates: np.ndarray | None = None,
    directions: Mapping[str, str] | None = None,
    floor: float | Mapping[str, float] | None = None,
    cap: float | Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
    current: Any = None,
    stability: float | str = 0.0,
    on_negative: str = "drop",
    alpha: float = 0.05,
    penalty: str | None = None,
    seed: int = 0,
    copy: bool = True,
) -> FitResult:
    """The fit on arrays: what :func:`fit_weights` and :class:`~calibrate.estimator.HealthScoreClassifier` share.

    ``x`` holds the sub-scores on 0–100 in ``names`` order, ``y`` is 1 for renewed; ``groups``
    (account ids) and ``dates`` (snapshot dates) are optional. Options as in :func:`fit_weights`.
    ``copy=False`` lets the simplex path rescale ``x`` in place (saves one n × k copy).
    """
    if method not in METHODS:
        raise FitError(f"The 'method' parameter must be one of {{'simplex', 'logit'}}. Got {method!r} instead.")
    names = tuple(names)
    y = np.asarray(y, dtype=float)
    dirs = _directions(directions, current, names)
    n_accounts = len(y) if groups is None else int(pd.unique(np.asarray(groups)).size)
    if method == "logit":
        if cap is not None or fixed or stability not in (0, 0.0, None):
            raise FitError("cap, fixed and stability apply to method='simplex' only; drop them or use the simplex method")
        from calibrate.logit import logit_arrays

        return logit_arrays(x, y, names, groups=groups, directions=dirs, on_negative=on_negative, alpha=alpha,
                            floor=floor, penalty=penalty, seed=seed).fit
    if penalty is not None:
        raise FitError("penalty (L1/L2) applies to method='logit' only; drop it or pass method='logit'")
    x01 = _oriented(x, names, dirs, copy=copy)
    _check_fit_data(x01, y, names)
    bounds = resolve_bounds(names, floor=floor, cap=cap, fixed=fixed)
    target = _current_weights(current, names)
    options: dict[str, Any] = {"floor": _json_option(floor), "cap": _json_option(cap), "fixed": _json_option(fixed)}
    lam = 0.0
    if stability not in (0, 0.0, None):
        if target is None:
            raise FitError("a stability penalty pulls toward the current weights; pass --current CONFIG (current=...)")
        if stability == "auto":
            lam, losses = _auto_stability(x01, y, None if dates is None else np.asarray(dates), bounds, target)
            options["stability_grid"] = losses
        else:
            lam = float(stability)
            if not np.isfinite(lam) or lam < 0:
                raise FitError(f"stability must be 'auto' or a number >= 0; got {stability!r}")
        options |= {"stability": stability, "stability_lambda": lam,
                    "current_weights": {n: float(w) for n, w in zip(names, target)}}
    v, a, converged, solver = solve_simplex(x01, y, bounds=bounds)
    if lam > 0:
        v, a, converged, solver = solve_simplex(x01, y, bounds=bounds, stability=lam, target=target,
                                                slope_scale=max(float(v.sum()), 1e-6),
                                                theta0=np.concatenate(([a], v)))
    b = float(v.sum())
    if b <= 1e-10:
        raise FitError(
            "no dimension is positively associated with renewal in this data (every weight fits to zero); "
            "check the outcome coding (renewed=1) and each dimension's direction"
        )
    if b > MAX_SLOPE or not converged:
        raise FitError(
            f"the fit did not settle (slope {b:.1f} on the 0-1 score scale): renewals are (nearly) perfectly "
            "separated by the score; check for leakage (a sub-score computed after the renewal) or add data"
        )
    w = v / b
    w = np.where(bounds.fixed, bounds.lo, w)  # exact, not 1e-12 off
    w /= w.sum()
    eta = a + x01 @ v
    options["solver"] = solver
    return FitResult(
        weights={n: float(wi) for n, wi in zip(names, w)},
        intercept=a,
        slope=b / 100.0,
        log_likelihood=float(np.sum(y * eta - np.logaddexp(0.0, eta))),
        n=len(y),
        n_events=int((y == 0).sum()),
        n_accounts=n_accounts,
        method=method,
        converged=converged,
        options={k: val for k, val in options.items() if val is not None},
        directions=dirs,
        flags=_bound_flags(names, w, bounds),
    )


def _bound_flags(names: tuple[str, ...], w: np.ndarray, bounds: Bounds) -> dict[str, str]:
    flags = {}
    for j, n in enumerate(names):
        if bounds.fixed[j]:
            flags[n] = f"fixed at {bounds.lo[j]:g}"
        elif bounds.lo[j] > 0 and w[j] <= bounds.lo[j] + 1e-6:
            flags[n] = f"at its floor {bounds.lo[j]:g}: the data would give it less"
        elif bounds.hi[j] < 1 and w[j] >= bounds.hi[j] - 1e-6:
            flags[n] = f"at its cap {bounds.hi[j]:g}: the data would give it more"
        elif w[j] <= 1e-6:
            flags[n] = "weight 0: no positive association with renewal given the other dimensions"
    return flags


def _arrays(data: Accounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    frame = data.frame
    x = frame[list(data.dimensions)].to_numpy(dtype=float, copy=True)
    y = frame["renewed"].to_numpy(dtype=float)
    groups = frame["account_id"].to_numpy()
    dates = frame["snapshot_date"].to_numpy() if "snapshot_date" in frame else None
    return x, y, groups, dates


def fit_weights(
    data: Accounts,
    *,
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
    seed: int = 0,
) -> FitResult:
    """Fit the dimension weights of a health score from renewal outcomes.

    Parameters
    ----------
    data : Accounts
        Loaded snapshots (see :func:`calibrate.load_accounts`).
    method : {"simplex", "logit"}, default "simplex"
        ``"simplex"``: constrained maximum likelihood with the weights on the simplex.
        ``"logit"``: statsmodels Logit on the dimensions, weights ∝ positive coefficients
        (see :func:`calibrate.logit.fit_logit` for the coefficient table).
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
        ``λ`` of the penalty ``λ·‖w − w_current‖²`` (convex form: :mod:`calibrate.simplex`); ``"auto"``
        picks λ from :data:`STABILITY_GRID` by out-of-time log-loss (earlier snapshot dates vs the last quarter).
    directions : dict, optional
        Name → ``"higher_is_healthier"``/``"lower_is_healthier"`` (default: from ``current``, else higher).
    on_negative : {"drop", "invert", "floor"}, default "drop"
        ``method="logit"`` only: what a negative coefficient becomes.
    alpha : float, default 0.05
        ``method="logit"`` only: coefficients with p > alpha are flagged.
    penalty : {None, "l1", "l2"}
        ``method="logit"`` only: regularised fit, strength by account-grouped cross-validation.
    seed : int, default 0
        Seed of the cross-validation folds (logit with a penalty).

    Returns
    -------
    FitResult
        ``options`` records every option (provenance); ``flags`` names dimensions at a bound or pointing the wrong way.

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
        penalty=penalty, seed=seed, copy=False,
    )
    return _with_options(fit, {"train_until": train_until})


def _with_options(fit: FitResult, extra: dict[str, Any]) -> FitResult:
    from dataclasses import replace

    return replace(fit, options={**fit.options, **extra})
