"""Bootstrap intervals for the fitted weights, resampling accounts (not rows).

Each resample draws as many accounts as the data holds, with replacement; an account's
snapshots move together (row weights = how often its account was drawn). The simplex model is
refitted from a warm start at the full-data solution with the same floors, caps, fixed weights
and stability λ. The intervals are percentile intervals of the resampled weights.

On large books every refit costs a pass over all the rows; with ``accounts_per_resample=m``
each resample draws only ``m < n`` accounts (the m-out-of-n bootstrap of Bickel, Götze & van
Zwet 1997) and its deviation from the full fit is shrunk by ``sqrt(m / n)`` before the
percentiles are taken, so a refit costs about ``m / n`` of a full one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calibrate._params import Interval, Options, validate_params
from calibrate.data.load import Accounts
from calibrate.fit.result import (
    FIT_PARAMS,
    _arrays,
    _current_weights,
    _json_option,
    _oriented,
    _train_subset,
)
from calibrate.fit.simplex import resolve_bounds, solve_simplex
from calibrate.fit.weights import fit_weights

__all__ = ["WeightIntervals", "bootstrap_weights"]


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

    @property
    def method(self) -> str:
        """How the draws were made, in words."""
        if self.accounts_per_resample is None:
            return "percentile bootstrap over accounts"
        return (f"m-out-of-n percentile bootstrap over accounts (m = {self.accounts_per_resample:,} of "
                f"n = {self.n_accounts:,}, deviations rescaled by sqrt(m/n); Bickel, Götze & van Zwet 1997)")

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
            "accounts_per_resample": self.accounts_per_resample, "method": self.method, "options": dict(self.options),
        }

    def summary(self) -> str:
        """Text table of each weight with its interval."""
        head = f"weights with {self.level:.0%} intervals ({self.method}, {self.n_boot} resamples, seed {self.seed})"
        rows = [f"  {n:<14} {w:6.3f}  [{self.low[n]:.3f}, {self.high[n]:.3f}]" for n, w in self.weights.items()]
        return "\n".join([head, *rows])

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


@validate_params({
    **FIT_PARAMS,
    "method": [Options("simplex")],
    "n_boot": [Interval(int, 2, None)],
    "level": [Interval(float, 0, 1, closed="neither")],
    "accounts_per_resample": [Interval(int, 2, None), None],
})
def bootstrap_weights(
    data: Accounts,
    *,
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
    accounts_per_resample: int | None = None,
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
    **fit_options
        As for :func:`fit_weights` (``method="simplex"`` only).

    Returns
    -------
    WeightIntervals

    References
    ----------
    Bickel, P. J., Götze, F. & van Zwet, W. R. (1997). Resampling fewer than n observations:
    gains, losses, and remedies for losses. Statistica Sinica 7, 1–31.
    """
    full = fit_weights(data, **fit_options)
    data = _train_subset(data, fit_options.get("train_until"))
    x, y, groups, _ = _arrays(data)
    names = data.dimensions
    x01 = _oriented(x, names, full.directions, copy=False)
    bounds = resolve_bounds(names, floor=fit_options.get("floor"), cap=fit_options.get("cap"),
                            fixed=fit_options.get("fixed"))
    lam = float(full.options.get("stability_lambda", 0.0))
    target = _current_weights(fit_options.get("current"), names) if lam > 0 else None
    w_full = np.array([full.weights[n] for n in names])
    theta0 = np.concatenate(([full.intercept], w_full * full.slope * 100.0))
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    n_acc = len(uniques)
    m = n_acc if accounts_per_resample is None else min(int(accounts_per_resample), n_acc)
    shrink = np.sqrt(m / n_acc)  # m-out-of-n: rescale each deviation from the full fit to n accounts
    rows_of = _AccountRows(codes, n_acc) if m < n_acc else None
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, len(names)))
    for r in range(n_boot):
        counts = np.bincount(rng.integers(0, n_acc, m), minlength=n_acc)
        # the rows of the drawn accounts, in data order (a mask over all rows costs more when m << n)
        keep = rows_of(np.flatnonzero(counts)) if rows_of is not None else counts[codes] > 0
        sw = counts[codes[keep]].astype(float)
        v, a, _, _ = solve_simplex(x01[keep], y[keep], sample_weight=sw, bounds=bounds, stability=lam,
                                   target=target, slope_scale=full.slope * 100.0, theta0=theta0)
        w = v / v.sum() if v.sum() > 0 else np.nan
        draws[r] = w if m == n_acc else w_full + shrink * (w - w_full)
    tail = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(draws, [tail, 1.0 - tail], axis=0)
    return WeightIntervals(
        weights=dict(full.weights),
        low={n: float(v) for n, v in zip(names, lo)},
        high={n: float(v) for n, v in zip(names, hi)},
        level=level, n_boot=n_boot, seed=seed, draws=draws, n_accounts=n_acc,
        options={k: _json_option(v) for k, v in fit_options.items() if k != "current"},
        accounts_per_resample=m if m < n_acc else None,
    )
