"""Bootstrap intervals for the fitted weights, resampling accounts (not rows).

Each resample draws as many accounts as the data holds, with replacement; an account's
snapshots move together (row weights = how often its account was drawn). The simplex model is
refitted from a warm start at the full-data solution with the same floors, caps, fixed weights
and stability λ. The intervals are percentile intervals of the resampled weights.

On large books every refit costs a pass over all the rows; with ``accounts_per_resample=m``
each resample draws only ``m < n`` accounts (the m-out-of-n bootstrap of Bickel, Götze & van
Zwet 1997) and its deviation from the full fit is shrunk by ``sqrt(m / n)`` before the
percentiles are taken, so a refit costs about ``m / n`` of a full one.

From :data:`NEWTON_ACCOUNTS` accounts per resample on (and for the plain simplex: no floor, cap or
fixed weight), a resample is not refitted but takes **one Newton step** from the full-data optimum
``θ̂``: its gradient at ``θ̂`` is the count-weighted sum of per-account gradients (aggregated once),
its curvature the full data's (the loss's Hessian at ``θ̂``, plus the stability penalty's), and the
step is the minimiser of that quadratic over ``v ≥ 0`` (a 13-variable box QP when a bound binds).
This is the one-step / estimating-function bootstrap (Davidson & MacKinnon 1999; Hu & Kalbfleisch
2000): to first order each resample's refit *is* that step, and the neglected terms shrink as
``1/n`` against the interval's ``1/sqrt(n)``; bench/bench_weight_bootstrap.py measures it against
the refits (same draws) and tests/test_fit_bootstrap.py checks the coverage on a book of known truth.

When the data cannot tell some dimensions' weights apart (``FitResult.collinear``: perfectly or nearly
collinear dimensions), every resample keeps the full fit's arbitrary split, so their percentile
interval would claim a precision the data do not have. Their intervals are **widened** to every split
of the group's total: from each one's floor (0) to the upper bound of the group's total weight (at most
its cap), and the result names the groups (:attr:`WeightIntervals.not_identified`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate._params import Interval, Options, validate_params
from calibrate.data.load import Accounts
from calibrate.errors import FitError
from calibrate.fit.result import (
    FIT_PARAMS,
    _arrays,
    _current_weights,
    _json_option,
    _oriented,
    _row_weights,
    _train_subset,
)
from calibrate.fit.simplex import (
    Bounds, link_theta, logistic_terms, penalty_terms, quadratic_step, resolve_bounds, solve_simplex,
)
from calibrate.fit.weights import FitResult, fit_weights

__all__ = ["NEWTON_ACCOUNTS", "WeightIntervals", "bootstrap_weights", "newton_draws"]

NEWTON_ACCOUNTS = 10_000
"""From this many accounts per resample on, ``resample_fit="auto"`` takes one Newton step per resample
instead of a refit (plain simplex only; see the module docstring)."""

_ROW_BLOCK = 1 << 20  # rows per block of the Hessian pass (bounds its temporaries to ~k·8 MB)
_STEP_COUNTS = 1 << 22  # accounts drawn per block of Newton steps (a 64 MB sparse count matrix)


@dataclass(frozen=True)
class WeightIntervals:
    """Percentile bootstrap intervals of the weights, resampling accounts (not rows).

    Attributes
    ----------
    weights : dict
        The point estimate (the fit on all the data).
    low, high : dict
        Dimension → interval bounds at ``level``.
    level : float
    n_boot, seed : int
    draws : ndarray (n_boot, k)
        Every resample's weights (columns in ``weights`` order).
    n_accounts : int
    options : dict
        The fit options every resample used.
    accounts_per_resample : int or None
        ``m`` of an m-out-of-n bootstrap (``draws`` are then already rescaled to ``n``); None
        when every resample drew all ``n_accounts``.
    not_identified : tuple of tuple of str
        Groups of collinear dimensions whose intervals were widened to every split of their total.
    """

    weights: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    level: float
    n_boot: int
    seed: int
    draws: np.ndarray = field(repr=False)
    n_accounts: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    accounts_per_resample: int | None = None
    not_identified: tuple[tuple[str, ...], ...] = ()
    resample_fit: Literal["refit", "newton"] = "refit"

    @property
    def method(self) -> str:
        """How the draws were made, in words."""
        how = ("" if self.resample_fit == "refit" else
               "; each resample one Newton step from the full fit (one-step bootstrap, Davidson & MacKinnon 1999)")
        if self.accounts_per_resample is None:
            return "percentile bootstrap over accounts" + how
        return (f"m-out-of-n percentile bootstrap over accounts (m = {self.accounts_per_resample:,} of "
                f"n = {self.n_accounts:,}, deviations rescaled by sqrt(m/n); Bickel, Götze & van Zwet 1997){how}")

    def to_frame(self) -> pd.DataFrame:
        """One row per dimension: weight, ci_low, ci_high, bootstrap standard error."""
        names = list(self.weights)
        return pd.DataFrame(
            {
                "dimension": names,
                "weight": [self.weights[n] for n in names],
                "ci_low": [self.low[n] for n in names],
                "ci_high": [self.high[n] for n in names],
                "se": self.draws.std(axis=0, ddof=1),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (without the raw draws)."""
        return {
            "weights": dict(self.weights), "ci_low": dict(self.low), "ci_high": dict(self.high),
            "level": self.level, "n_boot": self.n_boot, "seed": self.seed, "n_accounts": self.n_accounts,
            "accounts_per_resample": self.accounts_per_resample, "resample_fit": self.resample_fit,
            "method": self.method, "options": dict(self.options),
            "not_identified": [list(g) for g in self.not_identified],
        }

    def summary(self) -> str:
        """Text table of each weight with its interval."""
        head = f"weights with {self.level:.0%} intervals ({self.method}, {self.n_boot} resamples, seed {self.seed})"
        rows = [f"  {n:<14} {w:6.3f}  [{self.low[n]:.3f}, {self.high[n]:.3f}]" for n, w in self.weights.items()]
        notes = [f"  {', '.join(g)}: not identifiable (collinear); intervals widened to every split of their total"
                 for g in self.not_identified]
        return "\n".join([head, *rows, *notes])

    def plot(self, ax: Any = None) -> Any:
        """Bars of the weights with their intervals; returns the Axes."""
        from calibrate.plots import plot_weights

        ivs = {n: (self.low[n], self.high[n]) for n in self.weights}
        return plot_weights({"fitted": self.weights}, ax=ax, intervals={"fitted": ivs})

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        w = ", ".join(f"{n}={self.weights[n]:.3f} [{self.low[n]:.3f}, {self.high[n]:.3f}]" for n in self.weights)
        return f"<WeightIntervals {self.level:.0%}, {self.n_boot} resamples: {w}>"


class _AccountRows:
    """Row indices (ascending) of a set of accounts, from the rows grouped by account once."""

    def __init__(self, codes: np.ndarray, n_acc: int) -> None:
        self.order = np.argsort(codes, kind="stable")
        self.size = np.bincount(codes, minlength=n_acc)
        self.start = np.cumsum(self.size) - self.size

    def __call__(self, accounts: np.ndarray) -> np.ndarray:
        size = self.size[accounts]
        offset = np.repeat(self.start[accounts] - (np.cumsum(size) - size), size)
        return np.sort(self.order[offset + np.arange(int(size.sum()))])


def _row_aggregates(x01: np.ndarray, y: np.ndarray, codes: np.ndarray, n_acc: int, row_w: np.ndarray | None,
                    theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :class:`_OneStep` needs, in one pass over the rows (in blocks of :data:`_ROW_BLOCK`): each account's
    gradient sums ``Σ sᵢ(pᵢ − yᵢ)·[1, xᵢ]`` (n_acc × (k + 1)), its row-weight total, and the Hessian sums
    ``Σ sᵢ pᵢ(1 − pᵢ)·[1, xᵢ][1, xᵢ]ᵀ`` at ``θ̂`` (the engine fit computes the same by SQL)."""
    from scipy.sparse import csc_array

    k = x01.shape[1]
    grad = np.zeros((n_acc, k + 1))
    total = np.zeros(n_acc)
    hess = np.zeros((k + 1, k + 1))
    for s in range(0, len(y), _ROW_BLOCK):
        xb, yb, cb = x01[s : s + _ROW_BLOCK], y[s : s + _ROW_BLOCK], codes[s : s + _ROW_BLOCK]
        rw = np.ones(len(yb)) if row_w is None else row_w[s : s + _ROW_BLOCK]
        p = logistic_terms(theta[0] + xb @ theta[1:])[1]
        r, h = (p - yb) * rw, p * (1.0 - p) * rw
        total += np.bincount(cb, weights=rw, minlength=n_acc)
        grad[:, 0] += np.bincount(cb, weights=r, minlength=n_acc)
        # accounts × rows, one entry per row (its residual): the product sums each account's r·x in one pass
        grad[:, 1:] += csc_array((r, cb, np.arange(len(yb) + 1)), shape=(n_acc, len(yb))) @ xb
        xh = xb * h[:, None]
        hess[0, 0] += h.sum()
        hess[0, 1:] += xh.sum(axis=0)
        hess[1:, 1:] += xb.T @ xh
    hess[1:, 0] = hess[0, 1:]
    hess[1:, 1:] = 0.5 * (hess[1:, 1:] + hess[1:, 1:].T)  # exactly symmetric, as the fit's (row_moments)
    return grad, total, hess


class _OneStep:
    """One Newton step per resample from the full-data optimum ``θ̂ = (a, v)`` of the simplex model.

    Built from aggregates at ``θ̂`` (:func:`_row_aggregates` on arrays, SQL on an engine): each account's
    gradient of the (row-weighted) log-loss and its row-weight total, and the Hessian sums. A resample
    drawing accounts ``A`` (with repeats) then has gradient ``Σ_{a∈A} G_a / Σ_{a∈A} T_a`` plus the stability
    penalty's, and its step minimises ``gᵀδ + ½ δᵀHδ`` over ``v̂ + δ_v ≥ 0`` (``H`` the mean Hessian) — the
    unconstrained Newton step when it stays feasible, else the box QP
    (:func:`calibrate.fit.simplex.quadratic_step`). Resamples go in blocks of at most :data:`_STEP_COUNTS`
    drawn accounts (one resample when one resample's accounts alone exceed it), their counts a sparse matrix.
    Memory: ``(k + 2)·n_accounts`` floats for the aggregates plus that block, whatever ``n_boot``.
    """

    def __init__(self, grad: np.ndarray, total: np.ndarray, hess_sums: np.ndarray, theta: np.ndarray,
                 penalty: tuple[float, np.ndarray, float] | None) -> None:
        k = grad.shape[1] - 1
        self.theta, self.grad, self.total = theta, grad, total
        hess = hess_sums / total.sum()
        self.pen_grad = np.zeros(k + 1)
        if penalty is not None and penalty[0] > 0:  # the penalty is quadratic in v: its gradient and Hessian are exact
            _, self.pen_grad[1:], pen_hess = penalty_terms(theta[1:], penalty)
            hess[1:, 1:] += pen_hess
        self.hess = hess
        self.inv = np.linalg.pinv(hess, hermitian=True)  # min-norm step: a flat direction keeps the full fit's split

    def __call__(self, drawn: np.ndarray) -> np.ndarray:
        """``(a, v)`` of each resample (rows of ``drawn``: the accounts it draws, with repeats)."""
        from scipy.sparse import csr_array

        (b, m), n_acc = drawn.shape, self.total.shape[0]
        # resamples × accounts counts, sparse: m entries per resample (repeats summed by the product), not n_acc
        counts = csr_array((np.ones(b * m), drawn.reshape(-1), np.arange(0, b * m + 1, m)), shape=(b, n_acc))
        g = (counts @ self.grad) / (counts @ self.total)[:, None] + self.pen_grad
        theta = self.theta - g @ self.inv.T
        for r in np.flatnonzero((theta[:, 1:] < 0).any(axis=1)):  # a bound binds: the box QP
            theta[r] = quadratic_step(self.theta, g[r], self.hess)
        return theta


@validate_params({
    **FIT_PARAMS,
    "method": [Options("simplex")],
    "n_boot": [Interval(int, 2, None)],
    "level": [Interval(float, 0, 1, closed="neither")],
    "accounts_per_resample": [Interval(int, 2, None), None],
    "resample_fit": [Options("auto", "refit", "newton")],
})
def bootstrap_weights(
    data: Accounts,
    *,
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
    accounts_per_resample: int | None = None,
    resample_fit: Literal["auto", "refit", "newton"] = "auto",
    full_fit: FitResult | None = None,
    **fit_options: Any,
) -> WeightIntervals:
    """Percentile intervals for each weight by a bootstrap that resamples accounts, not rows.

    Every resample draws ``n_accounts`` accounts with replacement (an account's snapshots move
    together), refits the simplex model with the same options from a warm start at the full-data
    solution, and keeps the weights. With ``stability="auto"`` the λ chosen on the full data is
    held fixed across resamples.

    With ``accounts_per_resample=m`` smaller than the number of accounts ``n``, each resample
    draws only ``m`` accounts with replacement (the m-out-of-n bootstrap) and its weights
    ``w*_m`` enter as ``w + sqrt(m/n) · (w*_m − w)`` around the full fit ``w``: the law of
    ``sqrt(m) (w*_m − w)`` approximates that of ``sqrt(n) (w − w_true)`` (Bickel, Götze & van
    Zwet 1997). A rescaled draw is a convex combination of two simplex points, so it stays on
    the simplex. A refit then costs about ``m / n`` of a full one; the intervals are as wide as
    the full bootstrap's up to Monte-Carlo error when ``m`` holds a few thousand accounts or more
    (tests/test_fit_bootstrap.py checks width and coverage on a book of known truth).

    Parameters
    ----------
    data : Accounts
    n_boot : int, default 500
    seed : int, default 0
    level : float, default 0.95
    accounts_per_resample : int, optional
        ``m`` of the m-out-of-n bootstrap; None (default) or ``m >= n`` resamples all accounts
        (the ordinary bootstrap, unchanged draws).
    resample_fit : {"auto", "refit", "newton"}, default "auto"
        How a resample's weights are found: a warm-started refit, or one Newton step from the full fit
        (module docstring; plain simplex only). ``"auto"``: the step from :data:`NEWTON_ACCOUNTS`
        accounts per resample on, refits below. Either way the same accounts are drawn for a seed.
    full_fit : FitResult, optional
        ``fit_weights(data, **fit_options)`` when the caller already has it (it is not fitted again).
    **fit_options
        As for :func:`fit_weights` (``method="simplex"`` only).

    Returns
    -------
    WeightIntervals

    References
    ----------
    Bickel, P. J., Götze, F. & van Zwet, W. R. (1997). Resampling fewer than n observations:
    gains, losses, and remedies for losses. Statistica Sinica 7, 1–31.
    Davidson, R. & MacKinnon, J. G. (1999). Bootstrap testing in nonlinear models. International
    Economic Review 40, 487–508. Hu, F. & Kalbfleisch, J. D. (2000). The estimating function
    bootstrap. Canadian Journal of Statistics 28, 449–499.
    """
    full = full_fit if full_fit is not None else fit_weights(data, **fit_options)
    data = _train_subset(data, fit_options.get("train_until"))
    x, y, groups, _ = _arrays(data)
    row_w = _row_weights(data, fit_options.get("weight_by"))
    names = data.dimensions
    x01 = _oriented(x, names, full.directions, copy=False)
    bounds = resolve_bounds(names, floor=fit_options.get("floor"), cap=fit_options.get("cap"),
                            fixed=fit_options.get("fixed"))
    lam = float(full.options.get("stability_lambda", 0.0))
    target = _current_weights(fit_options.get("current"), names) if lam > 0 else None
    w_full = np.array([full.weights[n] for n in names])
    theta0 = link_theta(full.intercept, full.slope, w_full)
    codes, n_acc = groups, int(groups.max()) + 1 if len(groups) else 0  # _arrays numbers accounts 0..n-1
    m = n_acc if accounts_per_resample is None else min(int(accounts_per_resample), n_acc)
    if resample_fit == "newton" and not bounds.plain:
        raise FitError("resample_fit='newton' needs the plain simplex (no floor, cap or fixed weight); "
                       "use resample_fit='refit'")
    newton = resample_fit == "newton" or (resample_fit == "auto" and bounds.plain and m >= NEWTON_ACCOUNTS)
    step = (_OneStep(*_row_aggregates(x01, y, codes, n_acc, row_w, theta0), theta0,
                     (lam, target, full.slope * 100.0) if lam > 0 else None) if newton else None)
    rows_of = _AccountRows(codes, n_acc) if m < n_acc and step is None else None
    rng = np.random.default_rng(seed)
    # the same accounts for a seed, whichever way the resamples are fitted: ``rng.integers`` draws the same
    # stream whether a block of resamples is drawn at once (the Newton steps) or one by one (the refits)
    v_all = newton_draws(step, n_boot, rng, m) if step is not None else np.empty((n_boot, len(names)))
    for r in range(n_boot if step is None else 0):
        counts = np.bincount(rng.integers(0, n_acc, m), minlength=n_acc)
        # the rows of the drawn accounts, in data order (a mask over all rows costs more when m << n)
        keep = rows_of(np.flatnonzero(counts)) if rows_of is not None else counts[codes] > 0
        sw = counts[codes[keep]].astype(float) * (1.0 if row_w is None else row_w[keep])
        v_all[r], _, _, _ = solve_simplex(x01[keep], y[keep], sample_weight=sw, bounds=bounds, stability=lam,
                                          target=target, slope_scale=full.slope * 100.0, theta0=theta0)
    return _percentile_intervals(v_all, full, names, bounds, level=level, seed=seed, n_accounts=n_acc,
                                accounts_per_resample=m, resample_fit="newton" if newton else "refit",
                                options={k: _json_option(v) for k, v in fit_options.items() if k != "current"})


def newton_draws(step: _OneStep, n_boot: int, rng: np.random.Generator, m: int | None = None) -> np.ndarray:
    """``v`` of ``n_boot`` one-step resamples of ``m`` accounts each (default all), in blocks of at most
    :data:`_STEP_COUNTS` drawn accounts (the accounts :func:`bootstrap_weights` draws for the same ``rng``: the
    generator's stream does not depend on the block size)."""
    n_acc = step.total.shape[0]
    m = n_acc if m is None else m
    v_all = np.empty((n_boot, step.grad.shape[1] - 1))
    block = max(1, min(n_boot, _STEP_COUNTS // m))
    for r in range(0, n_boot, block):
        v_all[r : r + min(block, n_boot - r)] = step(rng.integers(0, n_acc, (min(block, n_boot - r), m)))[:, 1:]
    return v_all


def _percentile_intervals(v_all: np.ndarray, full: FitResult, names: tuple[str, ...], bounds: Bounds, *,
                         level: float, seed: int, n_accounts: int, accounts_per_resample: int,
                         resample_fit: Literal["refit", "newton"], options: dict[str, Any]) -> WeightIntervals:
    """The :class:`WeightIntervals` of resampled ``v`` (n_boot × k): weights on the simplex, m-out-of-n rescaled,
    percentile bounds, collinear groups widened (module docstring); the pandas and the engine bootstraps share it."""
    n_acc, m = n_accounts, accounts_per_resample
    w_full = np.array([full.weights[n] for n in names])
    total = v_all.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(total > 0, v_all / total, np.nan)
    draws = w if m == n_acc else w_full + np.sqrt(m / n_acc) * (w - w_full)  # m-out-of-n: rescaled to n
    tail = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(draws, [tail, 1.0 - tail], axis=0)
    for group in full.collinear:  # the split is arbitrary: every split of the group's total is consistent
        idx = [names.index(n) for n in group]
        total_hi = float(np.nanquantile(draws[:, idx].sum(axis=1), 1.0 - tail))
        lo[idx] = bounds.lo[idx]
        hi[idx] = np.minimum(bounds.hi[idx], np.maximum(total_hi, bounds.lo[idx]))
    return WeightIntervals(
        weights=dict(full.weights),
        low={n: float(v) for n, v in zip(names, lo)},
        high={n: float(v) for n, v in zip(names, hi)},
        level=level, n_boot=v_all.shape[0], seed=seed, draws=draws, n_accounts=n_acc,
        options=options,
        accounts_per_resample=m if m < n_acc else None,
        not_identified=full.collinear,
        resample_fit=resample_fit,
    )
