"""Fit dimension weights from renewal outcomes.

The simplex model is ``P(renew) = sigmoid(a + b · Σ wᵢ sᵢ/100)`` with ``wᵢ ≥ 0``, ``Σ wᵢ = 1`` and
``b ≥ 0``. Writing ``v = b·w`` turns it into a logistic regression with ``v ≥ 0``
(``b = Σ v``, ``w = v / b``), which is convex: it is solved exactly by L-BFGS-B with box bounds
and an analytic gradient (performance.md). "Fit unconstrained, then clip" is *not* this optimum
when a true weight is zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calibrate.errors import FitError
from calibrate.load import Accounts

__all__ = ["FitResult", "fit_weights", "MIN_EVENTS_PER_DIMENSION"]

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
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per dimension with its weight."""
        return pd.DataFrame({"dimension": list(self.weights), "weight": list(self.weights.values())})

    def summary(self) -> str:
        """A short text table of the weights and the link."""
        lines = [f"{self.method} fit on {self.n:,} rows ({self.n_accounts:,} accounts, {self.n_events:,} churned)"]
        lines += [f"  {name:<14} {w:6.3f}" for name, w in self.weights.items()]
        lines.append(f"  link: logit P(renew) = {self.intercept:.3f} + {self.slope:.4f} * score")
        return "\n".join(lines)

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
    sd = x.std(axis=0)
    flat = [names[j] for j in np.flatnonzero(sd < 1e-9)]
    if flat:
        raise FitError(
            f"dimension(s) {flat} are constant in the training data and carry no information; "
            "drop them from --dimensions or fix the source column"
        )


def simplex_mle(x: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None) -> tuple[np.ndarray, float, bool]:
    """Maximum likelihood of ``logit P(y=1) = a + x @ v`` with ``v ≥ 0`` (x scaled to 0–1).

    Returns ``(v, a, converged)``. Solved by L-BFGS-B with an analytic gradient, BLAS threads
    pinned to one (numpy's and scipy's OpenBLAS otherwise compete on small machines).
    """
    from scipy.optimize import minimize
    from scipy.special import expit
    from threadpoolctl import threadpool_limits

    n, k = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    total = w.sum()
    ybar = np.average(y, weights=w)
    a0 = float(np.log(ybar / (1 - ybar)))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = theta[0] + x @ theta[1:]
        # log(1 + e^eta) - y*eta, numerically stable
        nll = np.logaddexp(0.0, eta) - y * eta
        resid = w * (expit(eta) - y)
        grad = np.concatenate(([resid.sum()], x.T @ resid)) / total
        return float(w @ nll) / total, grad

    theta0 = np.concatenate(([a0], np.full(k, 0.1)))
    bounds = [(None, None)] + [(0.0, None)] * k
    with threadpool_limits(1, user_api="blas"):
        res = minimize(
            loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
        )
    return res.x[1:], float(res.x[0]), bool(res.success)


def fit_weights(
    data: Accounts,
    *,
    method: str = "simplex",
    train_until: str | None = None,
) -> FitResult:
    """Fit the dimension weights of a health score from renewal outcomes.

    Parameters
    ----------
    data : Accounts
        Loaded snapshots (see :func:`calibrate.load_accounts`).
    method : {"simplex"}
        Constrained maximum likelihood with the weights on the simplex.
    train_until : str, optional
        Fit only on snapshots dated on or before this ISO date (needs ``snapshot_date``).

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        Too few churn events, a constant dimension, or (near) perfect separation.
    """
    if method != "simplex":
        raise FitError(f"The 'method' parameter must be one of {{'simplex'}}. Got {method!r} instead.")
    if train_until is not None:
        if "snapshot_date" not in data.frame:
            raise FitError("--train-until needs a snapshot_date column; map it in the data spec or drop the option")
        data = data.subset(data.frame["snapshot_date"] <= pd.Timestamp(train_until))
    frame = data.frame
    names = data.dimensions
    x = frame[list(names)].to_numpy(dtype=float) / 100.0
    y = frame["renewed"].to_numpy(dtype=float)
    _check_fit_data(x, y, names)
    v, a, converged = simplex_mle(x, y)
    b = float(v.sum())
    if b <= 0:
        raise FitError(
            "no dimension is positively associated with renewal in this data (every weight fits to zero); "
            "check the outcome coding (renewed=1) and each dimension's direction"
        )
    if b > MAX_SLOPE or not converged:
        raise FitError(
            f"the fit did not settle (slope {b:.1f} on the 0-1 score scale): renewals are (nearly) perfectly "
            "separated by the score; check for leakage (a sub-score computed after the renewal) or add data"
        )
    eta = a + x @ v
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    weights = {name: float(wi) for name, wi in zip(names, v / b)}
    return FitResult(
        weights=weights,
        intercept=a,
        slope=b / 100.0,
        log_likelihood=loglik,
        n=len(frame),
        n_events=int((y == 0).sum()),
        n_accounts=int(frame["account_id"].nunique()),
        method=method,
        converged=converged,
        options={"train_until": train_until},
    )
