"""Logistic regression on the dimensions, and its mapping to score weights.

:func:`fit_logit` fits ``logit P(renew) = c₀ + Σ cᵢ·sᵢ`` (sᵢ in points, 0–100) with statsmodels
and reports each coefficient with its standard error, 95 % interval, p-value and odds ratio per
10 points. Weights are proportional to the positive coefficients. A dimension whose coefficient
is negative points the wrong way (the seeds' "loud accounts": more contact, more churn) and is
flagged by name together with every non-significant one (p > alpha); ``on_negative`` says what
becomes of it, and the choice is reported in the result:

- ``"drop"``: weight 0;
- ``"invert"``: the dimension becomes lower-is-healthier, with weight ∝ |cᵢ|;
- ``"floor"``: it keeps the floor weight ``floor`` (the rest share 1 − floor·#floored).

With snapshots repeated per account the standard errors are clustered by account
(``cov_type="auto"``). ``penalty="l1"|"l2"`` fits scikit-learn's LogisticRegression on
standardised dimensions with the strength chosen by cross-validated log-loss over folds grouped
by account (GroupKFold); the table then also holds the penalised coefficients the weights come
from (its standard errors stay those of the unpenalised fit, which are not valid after selection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate._params import validate_params
from calibrate.config.direction import HIGHER, LOWER, healthy, opposite
from calibrate.data.load import Accounts
from calibrate.errors import FitError
from calibrate.fit.result import (
    LOGIT_PARAMS,
    MAX_SLOPE,
    ON_NEGATIVE,
    FitResult,
    _arrays,
    _check_fit_data,
    _directions,
    _train_subset,
    _with_options,
)

__all__ = ["LogitResult", "fit_logit", "logit_arrays", "ON_NEGATIVE", "C_GRID"]

C_GRID: tuple[float, ...] = tuple(float(c) for c in np.logspace(-4, 2, 13))
"""Inverse regularisation strengths (on standardised dimensions) the cross-validation tries."""


@dataclass(frozen=True)
class LogitResult:
    """A logistic regression on the dimensions and the weights it implies.

    Attributes
    ----------
    table : DataFrame
        Index = dimension; ``coef`` (log-odds per point), ``se``, ``z``, ``p_value``, ``ci_low``,
        ``ci_high`` (95 %), ``odds_ratio_10`` with ``or_ci_low``/``or_ci_high`` (per 10 points),
        ``coef_penalised`` (with a penalty), ``flag``.
    intercept, intercept_se : float
    weights, directions, flags : dict
        The score weights, each dimension's direction after ``on_negative``, and why a dimension was flagged.
    on_negative : str
    alpha : float
    cov_type : str
        ``"nonrobust"`` or ``"cluster"`` (by account).
    penalty : str or None
    C : float or None
        The cross-validated inverse strength (standardised scale) when penalised.
    cv_log_loss : dict
        C → mean held-out log-loss (penalised fits).
    fit : FitResult
        The weights as a fit (link refitted on the composite score), what a config is built from.
    """

    table: pd.DataFrame
    intercept: float
    intercept_se: float
    weights: dict[str, float]
    directions: dict[str, str]
    flags: dict[str, str]
    on_negative: str
    alpha: float
    cov_type: str
    penalty: str | None
    C: float | None
    fit: FitResult
    cv_log_loss: dict[str, float] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table with each dimension's weight and direction."""
        out = self.table.copy()
        out["weight"] = [self.weights[n] for n in out.index]
        out["direction"] = [self.directions[n] for n in out.index]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary."""
        table = self.table.replace({np.nan: None})
        return {
            "coefficients": {n: dict(row) for n, row in table.to_dict(orient="index").items()},
            "intercept": self.intercept, "intercept_se": self.intercept_se,
            "weights": dict(self.weights), "directions": dict(self.directions), "flags": dict(self.flags),
            "on_negative": self.on_negative, "alpha": self.alpha, "cov_type": self.cov_type,
            "penalty": self.penalty, "C": self.C, "cv_log_loss": dict(self.cv_log_loss), "fit": self.fit.to_dict(),
        }

    def summary(self) -> str:
        """Coefficient table, flagged dimensions, the on_negative choice and the weights."""
        f = self.fit
        se = "clustered by account" if self.cov_type == "cluster" else "model-based"
        lines = [f"logistic regression on {f.n:,} rows ({f.n_accounts:,} accounts, {f.n_events:,} churned); "
                 f"standard errors {se}" + (f"; {self.penalty} penalty, C={self.C:g} by grouped CV" if self.penalty else ""),
                 f"  {'dimension':<14} {'coef/pt':>9} {'se':>8} {'95% CI':>19} {'p':>8} {'OR/10pt':>8}  weight"]
        for n, r in self.table.iterrows():
            lines.append(f"  {n:<14} {r['coef']:9.4f} {r['se']:8.4f} [{r['ci_low']:8.4f},{r['ci_high']:8.4f}] "
                         f"{r['p_value']:8.3g} {r['odds_ratio_10']:8.3f}  {self.weights[n]:.3f}"
                         + (" (inverted)" if self.directions[n] == LOWER else "")
                         + (f"  penalised coef {r['coef_penalised']:.4f}" if "coef_penalised" in r else ""))
        if self.flags:
            lines.append(f"  flagged (alpha={self.alpha:g}); on_negative={self.on_negative!r}:")
            lines += [f"    {n}: {why}" for n, why in self.flags.items()]
        else:
            lines.append(f"  no dimension flagged (alpha={self.alpha:g}); on_negative={self.on_negative!r}")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Odds ratio per 10 points with 95 % intervals; returns the Axes."""
        from calibrate.plots import plot_odds_ratios

        return plot_odds_ratios(self.table, ax=ax)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(float_format=lambda v: f"{v:.4g}")

    def __repr__(self) -> str:
        flagged = f", flagged {sorted(self.flags)}" if self.flags else ""
        w = ", ".join(f"{k}={v:.3f}" for k, v in self.weights.items())
        return f"<LogitResult on {self.fit.n:,} rows, on_negative={self.on_negative!r}: {w}{flagged}>"


def _penalised_coefficients(
    xo: np.ndarray, y: np.ndarray, groups: np.ndarray | None, penalty: str, seed: int, cv: int
) -> tuple[np.ndarray, float, float, dict[str, float]]:
    """Coefficients per point of a penalised logistic regression, C by account-grouped CV log-loss."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupKFold

    mu, sd = xo.mean(axis=0), xo.std(axis=0)
    z = (xo - mu) / sd
    g = np.arange(len(y)) if groups is None else pd.factorize(pd.Series(groups))[0]
    folds = list(GroupKFold(n_splits=cv, shuffle=True, random_state=seed).split(z, y, g))
    l1_ratio, solver = (1.0, "saga") if penalty == "l1" else (0.0, "lbfgs")

    def model(c: float) -> Any:
        return LogisticRegression(C=c, l1_ratio=l1_ratio, solver=solver, max_iter=5000, tol=1e-8)

    scores: dict[str, float] = {}
    for c in C_GRID:
        losses = [log_loss(y[te], model(c).fit(z[tr], y[tr]).predict_proba(z[te])[:, 1], labels=[0, 1])
                  for tr, te in folds]
        scores[f"{c:g}"] = float(np.mean(losses))
    best = min(C_GRID, key=lambda c: (scores[f"{c:g}"], c))
    m = model(best).fit(z, y)
    coef = m.coef_[0] / sd
    return coef, float(m.intercept_[0] - coef @ mu), best, scores


def _flag(name: str, coef: float, p: float, alpha: float, odds10: float, penalised: bool) -> str | None:
    reasons = []
    if coef < 0:
        reasons.append(f"negative coefficient (odds ratio {odds10:.3f} per 10 points): points the wrong way")
    elif coef == 0 and penalised:
        reasons.append("shrunk to exactly 0 by the L1 penalty")
    if not p <= alpha:
        reasons.append(f"not significant (p = {p:.3g} > {alpha:g})")
    return "; ".join(reasons) or None


@validate_params(LOGIT_PARAMS)
def logit_arrays(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    *,
    groups: np.ndarray | None = None,
    directions: Mapping[str, str] | None = None,
    on_negative: Literal["drop", "invert", "floor"] = "drop",
    alpha: float = 0.05,
    floor: float | Mapping[str, float] | None = None,
    penalty: Literal["l1", "l2"] | None = None,
    cov_type: Literal["auto", "nonrobust", "cluster"] = "auto",
    cv: int = 5,
    seed: int = 0,
) -> LogitResult:
    """The logit path on arrays (``x`` in points, 0–100, ``names`` order); see :func:`fit_logit`."""
    import statsmodels.api as sm

    if isinstance(floor, Mapping):
        raise FitError("with method='logit', floor is the single weight on_negative='floor' gives; pass a number")
    floor_w = float(floor or 0.0)
    if on_negative == "floor" and not 0 < floor_w < 1:
        raise FitError("on_negative='floor' needs a floor weight in (0, 1), e.g. --floor 0.05")
    names = tuple(names)
    dirs = dict(directions or {n: HIGHER for n in names})
    xo = healthy(np.asarray(x, dtype=float), [dirs[n] for n in names])
    _check_fit_data(xo / 100.0, y, names)
    repeated = groups is not None and pd.Series(groups).duplicated().any()
    kind = ("cluster" if repeated else "nonrobust") if cov_type == "auto" else cov_type
    kwargs: dict[str, Any] = {}
    if kind == "cluster":
        kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(pd.Series(groups))[0]}}
    import warnings

    with warnings.catch_warnings():  # separation / non-convergence become the FitError below
        warnings.simplefilter("ignore")
        res = sm.Logit(y, sm.add_constant(xo, has_constant="add")).fit(disp=0, method="newton", maxiter=100, **kwargs)
    params = np.asarray(res.params)
    if not res.mle_retvals.get("converged", True) or np.abs(params[1:]).sum() * 100 > MAX_SLOPE:
        raise FitError(
            f"the fit did not settle (slope {np.abs(params[1:]).sum() * 100:.1f} on the 0-1 score scale): renewals are "
            "(nearly) perfectly separated by the dimensions; check for leakage (a sub-score computed after the renewal) or add data"
        )
    bse, pv, ci = np.asarray(res.bse), np.asarray(res.pvalues), np.asarray(res.conf_int(alpha=0.05))
    table = pd.DataFrame(
        {"coef": params[1:], "se": bse[1:], "z": params[1:] / bse[1:], "p_value": pv[1:],
         "ci_low": ci[1:, 0], "ci_high": ci[1:, 1], "odds_ratio_10": np.exp(10 * params[1:]),
         "or_ci_low": np.exp(10 * ci[1:, 0]), "or_ci_high": np.exp(10 * ci[1:, 1])},
        index=pd.Index(names, name="dimension"),
    )
    coef, C, cv_scores = params[1:], None, {}
    if penalty is not None:
        coef, _, C, cv_scores = _penalised_coefficients(xo, y, groups, penalty, seed, cv)
        table["coef_penalised"] = coef
    flags: dict[str, str] = {}
    for n, c, p in zip(names, coef, table["p_value"]):
        why = _flag(n, float(c), float(p), alpha, float(np.exp(10 * c)), penalty is not None)
        if why:
            flags[n] = why
    table["flag"] = [flags.get(n, "") for n in names]
    raw = np.where(coef > 0, coef, 0.0)
    final_dirs = dict(dirs)
    floored = np.zeros(len(names), dtype=bool)
    for j, n in enumerate(names):
        if coef[j] < 0:
            if on_negative == "invert":
                raw[j] = -coef[j]
                final_dirs[n] = opposite(dirs[n])
                flags[n] += f"; inverted to {final_dirs[n]}"
            elif on_negative == "floor":
                floored[j] = True
                flags[n] += f"; kept at the floor weight {floor_w:g}"
            else:
                flags[n] += "; dropped (weight 0)"
    rest = 1.0 - floor_w * floored.sum()
    if raw[~floored].sum() <= 0 or rest <= 0:
        raise FitError(
            "no dimension is positively associated with renewal in this data (every coefficient is <= 0); "
            "check the outcome coding (renewed=1), each dimension's direction, or use on_negative='invert'"
        )
    w = np.where(floored, floor_w, rest * raw / raw[~floored].sum())
    weights = {n: float(v) for n, v in zip(names, w)}
    fit = _composite_fit(x, y, names, weights, final_dirs, groups, flags,
                         {"on_negative": on_negative, "alpha": alpha, "floor": floor_w or None, "penalty": penalty,
                          "C": C, "cov_type": kind, "flagged": sorted(flags)})
    return LogitResult(
        table=table, intercept=float(params[0]), intercept_se=float(bse[0]), weights=weights, directions=final_dirs,
        flags=flags, on_negative=on_negative, alpha=alpha, cov_type=kind, penalty=penalty, C=C, fit=fit,
        cv_log_loss=cv_scores,
    )


def _composite_fit(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], weights: dict[str, float], dirs: dict[str, str],
    groups: np.ndarray | None, flags: dict[str, str], options: dict[str, Any],
) -> FitResult:
    """The link ``logit P = a + slope·score`` refitted on the composite score the weights define."""
    import statsmodels.api as sm

    xo = healthy(x, [dirs[n] for n in names])
    score = xo @ np.array([weights[n] for n in names])
    link = sm.Logit(y, sm.add_constant(score, has_constant="add")).fit(disp=0, method="newton", maxiter=100)
    a, s = (float(v) for v in np.asarray(link.params))
    return FitResult(
        weights=weights, intercept=a, slope=s, log_likelihood=float(link.llf), n=len(y),
        n_events=int((y == 0).sum()), n_accounts=len(y) if groups is None else int(pd.unique(np.asarray(groups)).size),
        method="logit", converged=bool(link.mle_retvals.get("converged", True)),
        options={k: v for k, v in options.items() if v is not None}, directions=dirs, flags=dict(flags),
    )


@validate_params(LOGIT_PARAMS)
def fit_logit(
    data: Accounts,
    *,
    train_until: str | None = None,
    directions: Mapping[str, str] | None = None,
    on_negative: Literal["drop", "invert", "floor"] = "drop",
    alpha: float = 0.05,
    floor: float | None = None,
    penalty: Literal["l1", "l2"] | None = None,
    cov_type: Literal["auto", "nonrobust", "cluster"] = "auto",
    cv: int = 5,
    seed: int = 0,
) -> LogitResult:
    """Logistic regression on the dimensions: coefficient table and the weights it implies.

    Parameters
    ----------
    data : Accounts
    train_until : str, optional
        Fit on snapshots up to this ISO date only.
    directions : dict, optional
        Name → direction of the input dimensions (default all higher-is-healthier).
    on_negative : {"drop", "invert", "floor"}, default "drop"
        What a negative coefficient becomes (module docstring). Always reported.
    alpha : float, default 0.05
        Coefficients with p > alpha are flagged as not significant.
    floor : float, optional
        The weight ``on_negative="floor"`` gives (required then, e.g. 0.05).
    penalty : {None, "l1", "l2"}
        Regularised fit (scikit-learn), strength by GroupKFold CV on ``account_id``.
    cov_type : {"auto", "nonrobust", "cluster"}, default "auto"
        Standard errors; ``auto`` clusters by account when an account has several snapshots.
    cv : int, default 5
        Folds of the penalised fit's cross-validation.
    seed : int, default 0
        Seed of the fold assignment.

    Returns
    -------
    LogitResult

    Raises
    ------
    FitError
        Too few events, a constant dimension, separation, or every coefficient ≤ 0 (with drop/floor).
    """
    data = _train_subset(data, train_until)
    x, y, groups, _ = _arrays(data)
    names = data.dimensions
    result = logit_arrays(x, y, names, groups=groups, directions=_directions(directions, None, names),
                          on_negative=on_negative, alpha=alpha, floor=floor, penalty=penalty, cov_type=cov_type,
                          cv=cv, seed=seed)
    from dataclasses import replace

    return replace(result, fit=_with_options(result.fit, {"train_until": train_until}))
