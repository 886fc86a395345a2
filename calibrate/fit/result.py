"""What a weight fit returns (:class:`FitResult`) and the checks and helpers every fitting path shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calibrate._params import Interval, MappingOf, Options
from calibrate.config.direction import DIRECTIONS, HIGHER, LOWER, healthy
from calibrate.data.load import Accounts
from calibrate.errors import FitError

__all__ = ["FitResult", "MAX_SLOPE", "MIN_EVENTS_PER_DIMENSION", "ON_NEGATIVE", "LOGIT_PARAMS", "FIT_PARAMS"]


MIN_EVENTS_PER_DIMENSION = 10
"""Fewest churn (and renewal) events per dimension before a fit is attempted (the usual EPV rule)."""


MAX_SLOPE = 60.0
"""A fitted slope b above this (odds × e^0.6 per score point) means the outcome is (nearly) perfectly separated."""

ON_NEGATIVE = ("drop", "invert", "floor")
"""What the logit path does with a dimension whose coefficient is negative (:mod:`calibrate.fit.logit`)."""

LOGIT_PARAMS = {
    "directions": [MappingOf(Options(*DIRECTIONS)), None],
    "on_negative": [Options(*ON_NEGATIVE)],
    "penalty": [Options(None, "l1", "l2")],
    "alpha": [Interval(float, 0, 1, closed="neither")],
    "cov_type": [Options("auto", "nonrobust", "cluster")],
    "cv": [Interval(int, 2, None)],
}
"""What the logit path's options may be (:func:`calibrate._params.validate_params` constraints)."""

FIT_PARAMS = {
    "method": [Options("simplex", "logit")],
    **{k: v for k, v in LOGIT_PARAMS.items() if k not in ("cov_type", "cv")},
    "stability": [Options("auto"), Interval(float, 0, None, closed="left"), None],
}
"""What the options of :func:`calibrate.fit.weights.fit_weights` (and of the estimator) may be."""


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
        Dimension → why it was flagged (a negative or non-significant coefficient, a bound that binds, a
        weight at 0 with its score test, a split the data cannot identify).
    condition_number : float or None
        Of the scaled information matrix of the slopes (:mod:`calibrate.fit.information`); None when not computed.
    collinear : tuple of tuple of str
        Groups of dimensions whose weights the data cannot tell apart: only each group's total is determined.
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
    condition_number: float | None = None
    collinear: tuple[tuple[str, ...], ...] = ()

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
            "condition_number": None if self.condition_number is None or not np.isfinite(self.condition_number)
            else self.condition_number,
            "collinear": [list(g) for g in self.collinear],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per dimension with its weight."""
        names = list(self.weights)
        return pd.DataFrame(
            {
                "dimension": names,
                "weight": [self.weights[n] for n in names],
                "direction": [self.directions.get(n, HIGHER) for n in names],
                "flag": [self.flags.get(n, "") for n in names],
            }
        )

    def summary(self) -> str:
        """A short text table of the weights and the link."""
        lines = [f"{self.method} fit on {self.n:,} rows ({self.n_accounts:,} accounts, {self.n_events:,} churned)"]
        for name, w in self.weights.items():
            inverted = " (inverted: lower is healthier)" if self.directions.get(name) == LOWER else ""
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


def _check_fit_data(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], *,
                    min_events_per_dimension: int = MIN_EVENTS_PER_DIMENSION) -> None:
    k = x.shape[1]
    need = min_events_per_dimension * k
    churned = int((y == 0).sum())
    renewed = int((y == 1).sum())
    if min(churned, renewed) < need:
        which, have = ("churn", churned) if churned <= renewed else ("renewal", renewed)
        raise FitError(
            f"too few {which} events to fit {k} weights: {have} found, {need} needed "
            f"({min_events_per_dimension} per dimension); add more history or fit fewer dimensions"
        )
    spread = x.max(axis=0) - x.min(axis=0)  # no n × k temporary (x.std would make one)
    flat = [names[j] for j in np.flatnonzero(spread < 1e-9)]
    if flat:
        raise FitError(
            f"dimension(s) {flat} are constant in the training data and carry no information; "
            "drop them from --dimensions or fix the source column"
        )


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
    return {n: (directions or {}).get(n, HIGHER) for n in names}  # the values: checked by FIT_PARAMS


def _oriented(x: np.ndarray, names: tuple[str, ...], directions: Mapping[str, str], *, copy: bool = True) -> np.ndarray:
    """Sub-scores on 0–1, with lower-is-healthier dimensions flipped (100 − s); in place when ``copy=False``."""
    x = np.array(x, dtype=float, copy=True) if copy else x
    x /= 100.0
    return healthy(x, [directions.get(n, HIGHER) for n in names], top=1.0, inplace=True)


def _train_subset(data: Accounts, train_until: str | None) -> Accounts:
    if train_until is None:
        return data
    if "snapshot_date" not in data.frame:
        raise FitError("--train-until needs a snapshot_date column; map it in the data spec or drop the option")
    return data.subset(data.frame["snapshot_date"] <= pd.Timestamp(train_until))


def _json_option(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


WEIGHT_BY = ("arr",)
"""Columns a fit can weight its rows by (``weight_by``)."""


def _row_weights(data: Accounts, weight_by: str | None) -> np.ndarray | None:
    """The rows' weights for ``weight_by`` (None: every row counts once)."""
    if weight_by is None:
        return None
    if weight_by not in WEIGHT_BY:
        raise FitError(f"weight_by must be one of {list(WEIGHT_BY)} or None; got {weight_by!r}")
    if weight_by not in data.frame:
        raise FitError(f"weight_by={weight_by!r} needs an {weight_by} column in the data; map it or drop the option")
    w = data.frame[weight_by].to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isfinite(w) & (w >= 0)) or w.sum() <= 0:
        raise FitError(f"weight_by={weight_by!r}: the {weight_by} column must be >= 0 and filled on every row, "
                       "with a positive total; fill or fix it")
    return w


def _arrays(data: Accounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    from calibrate import _stats  # scipy-backed; imported where used

    frame = data.frame
    x = frame[list(data.dimensions)].to_numpy(dtype=float, copy=True)
    y = frame["renewed"].to_numpy(dtype=float)
    # accounts as codes in sorted id order: every consumer needs only their equality and order (the clustered
    # tests, grouped folds, the bootstrap), and 8 bytes a row beat a Python string (at 1e7 rows 0.08 vs 0.7 GB)
    groups = _stats.account_codes(frame["account_id"])[0]
    dates = frame["snapshot_date"].to_numpy() if "snapshot_date" in frame else None
    return x, y, groups, dates


def _with_options(fit: FitResult, extra: dict[str, Any]) -> FitResult:
    from dataclasses import replace

    return replace(fit, options={**fit.options, **extra})
