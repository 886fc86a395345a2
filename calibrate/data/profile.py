"""Profile a raw export's candidate signals, and tell direction from shape.

:func:`profile_export` is what ``calibrate init`` runs: for every column other than the keys and the outcome it
measures the type, the share missing, the univariate AUC against renewal with its DeLong interval (which gives the
direction, or "no detectable effect" when the interval covers 0.5), the shape across deciles (:func:`shape_test`)
and proposes a transform to 0–100 and a missing rule, with warnings: likely leakage, id-like or constant column,
wrong-way signal, threshold or U shape. :func:`assess_signals` runs the same tests on a fit's oriented sub-scores
(``calibrate fit`` reports wrong-way, no-effect and threshold/U-shaped dimensions apart).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calibrate.data.spec import Keys, Outcome, Signal, SignalProfile, label_key

__all__ = ["profile_export", "shape_test", "ShapeTest", "expected_direction", "assess_signals", "SignalCheck",
           "LEAKAGE_AUC", "SHAPE_ALPHA"]

LEAKAGE_AUC = 0.95
"""A signal whose AUC alone is at least this (or at most 1 − this) separates the outcome almost perfectly."""
SHAPE_ALPHA = 0.01
"""Significance level of the shape tests."""
N_SIM = 999
_LOWER_WORDS = re.compile(r"complain|fail|ticket|incident|escalat|overdue|late|days_since|churn|cancel|error|bug|"
                          r"outage|downgrade|refund|dispute|debt|arrear", re.IGNORECASE)
_HIGHER_WORDS = re.compile(r"satisf|csat|nps|usage|adopt|engag|login|active|seconds|frequency|tenure|health|"
                           r"renew|value|seats|licen", re.IGNORECASE)


def expected_direction(column: str) -> str | None:
    """The direction a column's name suggests, or ``None`` for a name that suggests none.

    Problem counts (complaints, failures, tickets, escalations...) are lower-is-healthier; satisfaction, usage,
    adoption, engagement, tenure... higher-is-healthier.
    """
    if _LOWER_WORDS.search(column):
        return "lower_is_healthier"
    if _HIGHER_WORDS.search(column):
        return "higher_is_healthier"
    return None


@dataclass(frozen=True)
class ShapeTest:
    """The renewal rate across a signal's deciles: ``monotone``, ``threshold``, ``u_shape`` or ``untested``.

    ``p_monotone``: likelihood-ratio test of monotone (isotonic) decile rates against free decile rates, p from a
    parametric bootstrap under the isotonic fit. ``p_linear``: deviance of a logistic fit linear in the decile
    index (χ², k − 2 df). ``p_step``: deviance of the best two-rate step (χ², k − 2 df). ``threshold``: the raw
    value where the step starts.
    """

    shape: str
    k: int
    p_monotone: float
    p_linear: float
    p_step: float
    threshold: float | None
    text: str


def _loglik(r: np.ndarray, n: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-300, 1 - 1e-16)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.sum(np.where(r > 0, r * np.log(p), 0.0) + np.where(n - r > 0, (n - r) * np.log1p(-p), 0.0)))


def _isotonic(rate: np.ndarray, n: np.ndarray, increasing: bool) -> np.ndarray:
    """Weighted pool-adjacent-violators fit of ``rate`` (weights ``n``), non-decreasing or non-increasing."""
    v = rate if increasing else -rate
    means, weights, sizes = [], [], []
    for value, w in zip(v.tolist(), n.tolist()):
        means.append(value), weights.append(w), sizes.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w2 = weights[-2] + weights[-1]
            m = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w2
            size = sizes[-2] + sizes[-1]
            del means[-1], weights[-1], sizes[-1]
            means[-1], weights[-1], sizes[-1] = m, w2, size
    fit = np.repeat(means, sizes)
    return fit if increasing else -fit


def shape_test(y: np.ndarray, x: np.ndarray, *, bins: int = 10, seed: int = 0) -> ShapeTest:
    """Test whether the renewal rate is monotone across ``x``'s deciles, and whether a step explains it.

    Parameters
    ----------
    y : array of 0/1 (1 renewed)
    x : array of float (missing dropped)
    bins : int, default 10
    seed : int, default 0
        Seed of the parametric bootstrap.

    Returns
    -------
    ShapeTest
        ``u_shape`` when ``p_monotone`` < :data:`SHAPE_ALPHA`; else ``threshold`` when a linear-logit trend is
        rejected (``p_linear`` < alpha) but a step is not (``p_step`` ≥ alpha); else ``monotone``.
    """
    import statsmodels.api as sm
    from scipy import stats

    ok = ~np.isnan(x)
    y, x = np.asarray(y, dtype=float)[ok], np.asarray(x, dtype=float)[ok]
    codes = pd.qcut(x, bins, labels=False, duplicates="drop") if np.unique(x).size > bins else \
        np.searchsorted(np.unique(x), x)
    codes = np.asarray(codes, dtype=int)
    k = int(codes.max()) + 1 if codes.size else 0
    if k < 3:
        return ShapeTest("untested", k, math.nan, math.nan, math.nan, None, "fewer than 3 distinct levels: not tested")
    n = np.bincount(codes, minlength=k).astype(float)
    r = np.bincount(codes, weights=y, minlength=k)
    rate = r / n
    ll_free = _loglik(r, n, rate)
    increasing = stats.spearmanr(np.arange(k), rate).statistic >= 0 if np.ptp(rate) > 0 else True
    iso = _isotonic(rate, n, bool(increasing))
    observed = 2.0 * (ll_free - _loglik(r, n, iso))
    rng = np.random.default_rng(seed)
    sims = rng.binomial(n.astype(int), np.clip(iso, 0, 1), size=(N_SIM, k)).astype(float)
    null = np.array([2.0 * (_loglik(s, n, s / n) - _loglik(s, n, _isotonic(s / n, n, bool(increasing)))) for s in sims])
    p_mono = float((1 + np.sum(null >= observed - 1e-9)) / (N_SIM + 1))
    with warnings.catch_warnings():  # a decile with every row renewed (or churned) is separation; the deviance holds
        warnings.simplefilter("ignore")
        glm = sm.GLM(np.column_stack([r, n - r]), sm.add_constant(np.arange(k, dtype=float)),
                     family=sm.families.Binomial()).fit()
    p_lin = float(stats.chi2.sf(glm.deviance, k - 2))
    cut_ll = []
    for c in range(1, k):
        lo, hi = slice(0, c), slice(c, k)
        p2 = np.where(np.arange(k) < c, r[lo].sum() / n[lo].sum(), r[hi].sum() / n[hi].sum())
        cut_ll.append(_loglik(r, n, p2))
    best = int(np.argmax(cut_ll)) + 1
    p_step = float(stats.chi2.sf(2.0 * (ll_free - cut_ll[best - 1]), k - 2))
    threshold = float(np.min(x[codes == best]))
    if p_mono < SHAPE_ALPHA:
        shape = "u_shape"
    elif p_lin < SHAPE_ALPHA and p_step >= SHAPE_ALPHA:
        shape = "threshold"
    else:
        shape = "monotone"
    text = (f"{k} deciles: monotone vs free rates LR p={p_mono:.3g} (parametric bootstrap, {N_SIM} draws); "
            f"linear logit deviance p={p_lin:.3g}; best step at {threshold:g} p={p_step:.3g} (chi2, {k - 2} df)")
    return ShapeTest(shape, k, p_mono, p_lin, p_step, threshold if shape == "threshold" else None, text)


def _effect(y: np.ndarray, x: np.ndarray) -> tuple[float, list[float], str]:
    from calibrate import _stats

    ok = ~np.isnan(x)
    a = _stats.delong(y[ok], x[ok])
    if a.ci_low > 0.5:
        effect = "healthier_when_higher"
    elif a.ci_high < 0.5:
        effect = "healthier_when_lower"
    else:
        effect = "none"
    return round(a.value, 4), [round(a.ci_low, 4), round(a.ci_high, 4)], effect


def _name(column: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "_", column).strip("_").lower() or "signal"
    base = base if re.match(r"[A-Za-z_]", base) else f"s_{base}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def _numeric_values(col: pd.Series) -> np.ndarray | None:
    text = col.astype("string").str.strip()
    blank = col.isna() | (text == "")
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    if (values.isna() & ~blank).any():
        return None
    return values.to_numpy(dtype=float, na_value=np.nan)


def _profile_numeric(name: str, column: str, x: np.ndarray, y: np.ndarray, missing: float, n_distinct: int,
                     seed: int) -> Signal:
    warnings: list[str] = []
    auc, ci, effect = _effect(y, x)
    direction = "higher_is_healthier" if auc >= 0.5 else "lower_is_healthier"
    use = True
    if auc >= LEAKAGE_AUC or auc <= 1 - LEAKAGE_AUC:
        warnings.append(f"likely leakage: alone it separates the outcome almost perfectly (AUC {auc:.3f}); "
                        "is it recorded after the renewal? set use: true only if not")
        use = False
    expected = expected_direction(column)
    if effect == "none":
        warnings.append(f"no detectable effect: the AUC's interval {ci} covers 0.5")
    elif expected is not None and effect.removeprefix("healthier_when_") != expected.removesuffix("_is_healthier"):
        warnings.append(f"wrong-way signal: its name suggests {expected} but the renewals say {direction} "
                        f"(AUC {auc:.3f} {ci}); check what the column measures")
    shape = shape_test(y, x, seed=seed)
    transform, threshold = "percentile", None
    finite = x[~np.isnan(x)]
    if n_distinct <= 10:
        transform = "minmax"
    elif finite.size and finite.min() >= 0 and pd.Series(finite).skew() > 2:
        transform = "log"
    if shape.shape == "threshold":
        transform, threshold = "step", shape.threshold
        warnings.append(f"threshold shape: renewal jumps at {shape.threshold:g} ({shape.text}); step transform proposed")
    elif shape.shape == "u_shape":
        warnings.append(f"U shape: the renewal rate is not monotone across deciles ({shape.text}); a monotone "
                        "transform cannot capture it — split the signal or leave it out")
    clip = [0.0, 100.0] if transform == "minmax" and n_distinct <= 10 else [1.0, 99.0]
    profile = SignalProfile(share_missing=round(missing, 4), n_distinct=n_distinct, auc=auc, auc_ci=ci,
                            effect=effect, shape=shape.shape, shape_test=shape.text, warnings=warnings)  # type: ignore[arg-type]
    return Signal(name=name, column=column, kind="numeric", use=use, direction=direction, transform=transform,  # type: ignore[arg-type]
                  clip=clip, threshold=threshold, missing="median" if missing > 0 else "error", profile=profile)


def _profile_categorical(name: str, column: str, col: pd.Series, y: np.ndarray, missing: float,
                         n_distinct: int) -> Signal:
    from scipy import stats

    present = col.notna() & (col.astype("string").str.strip() != "")
    keys = col[present].map(label_key)
    table = pd.crosstab(keys, y[present.to_numpy()])
    rates = (table.get(1.0, 0) / table.sum(axis=1)).sort_index()
    lo, hi = float(rates.min()), float(rates.max())
    points = {str(k): (round(100.0 * (v - lo) / (hi - lo), 1) if hi > lo else 50.0) for k, v in rates.items()}
    p = float(stats.chi2_contingency(table.to_numpy())[1]) if table.shape == (len(rates), 2) else math.nan
    labels = {label_key(v): str(v).strip() for v in col[present]}
    points = {labels[k]: v for k, v in points.items()}
    warnings: list[str] = []
    effect = "healthier_when_higher" if p < 0.05 else "none"
    if effect == "none":
        warnings.append("no detectable effect: the renewal rate does not differ across categories")
    profile = SignalProfile(share_missing=round(missing, 4), n_distinct=n_distinct, effect=effect,  # type: ignore[arg-type]
                            shape="untested", shape_test=f"points: renewal rate per category rescaled to 0-100 "
                            f"on this export; chi-square test of independence p={p:.3g}",
                            warnings=warnings)
    return Signal(name=name, column=column, kind="categorical", transform="categories", points=points,
                  missing="median" if missing > 0 else "error", profile=profile)


def profile_export(raw: pd.DataFrame, *, outcome: Outcome, keys: Keys, renewed: np.ndarray,
                   max_categories: int = 30, seed: int = 0) -> list[Signal]:
    """One :class:`~calibrate.data.spec.Signal` (with its profile) per candidate column of ``raw``.

    Parameters
    ----------
    raw : DataFrame
        The export as read.
    outcome, keys
        The outcome and key columns (excluded from the candidates).
    renewed : array of 0/1
        The outcome per row (1 renewed), rows with a missing outcome excluded from the statistics.
    max_categories : int, default 30
        A text column with more distinct values is not a candidate (id-like or free text).
    seed : int, default 0

    Returns
    -------
    list of Signal
        Used (``use: true``) unless constant, id-like or a likely leak.
    """
    skip = set(keys.mapping().values()) | {outcome.column}
    known = ~np.isnan(renewed)
    y = renewed[known]
    taken: set[str] = set()
    out = []
    for column in [c for c in raw.columns if c not in skip]:
        col = raw[column][known].reset_index(drop=True)
        name = _name(str(column), taken)
        text = col.astype("string").str.strip()
        blank = col.isna() | (text == "")
        missing = float(blank.mean())
        n_distinct = int(text[~blank].nunique())
        x = _numeric_values(col)
        reason = None
        if n_distinct <= 1:
            reason = "constant column: it cannot separate anything"
        elif n_distinct == int((~blank).sum()) and (x is None or np.all(np.diff(x[~np.isnan(x)]) > 0)):
            reason = "id-like column: a distinct value on every row"
        elif x is None and n_distinct > max_categories:
            reason = f"text column with {n_distinct} distinct values: not a signal"
        if reason is not None:
            profile = SignalProfile(share_missing=round(missing, 4), n_distinct=n_distinct, warnings=[reason])
            kind, transform, points = ("numeric", "percentile", None) if x is not None else \
                ("categorical", "categories", {"(any)": 50.0})
            out.append(Signal(name=name, column=str(column), kind=kind, use=False, transform=transform,  # type: ignore[arg-type]
                              points=points, profile=profile))
        elif x is not None:
            out.append(_profile_numeric(name, str(column), x, y, missing, n_distinct, seed))
        else:
            out.append(_profile_categorical(name, str(column), col, y, missing, n_distinct))
    return out


@dataclass(frozen=True)
class SignalCheck:
    """One fitted dimension's direction and shape: ``ok``, ``wrong_way``, ``no_effect``; and its shape."""

    name: str
    auc: float
    ci: tuple[float, float]
    verdict: str
    shape: str
    shape_text: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "auc": self.auc, "auc_ci": list(self.ci), "verdict": self.verdict,
                "shape": self.shape, "shape_test": self.shape_text}


def assess_signals(frame: pd.DataFrame, directions: dict[str, str], *, seed: int = 0) -> list[SignalCheck]:
    """Each dimension's oriented sub-score (``100 − s`` when lower is healthier) against ``renewed``.

    ``wrong_way``: the AUC's 95 % DeLong interval lies below 0.5 (a significant reverse association);
    ``no_effect``: it covers 0.5; ``ok``: above. The shape is :func:`shape_test`'s.
    """
    known = frame["renewed"].notna().to_numpy()
    y = frame["renewed"].to_numpy(dtype=float)[known]
    out = []
    for name, direction in directions.items():
        s = frame[name].to_numpy(dtype=float, na_value=np.nan)[known]
        s = 100.0 - s if direction == "lower_is_healthier" else s
        auc, ci, effect = _effect(y, s)
        verdict = {"healthier_when_higher": "ok", "healthier_when_lower": "wrong_way"}.get(effect, "no_effect")
        shape = shape_test(y, s, seed=seed)
        out.append(SignalCheck(name, auc, (ci[0], ci[1]), verdict, shape.shape, shape.text))
    return out
