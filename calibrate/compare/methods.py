"""The methods leaderboard: what does the simple weighted score leave on the table?

:func:`leaderboard` fits every method on the training side of the same folds
(:func:`calibrate.fit.folds.validation_folds`) and scores the held-out rows:

* ``current`` — the weights of the config in production (when one is given);
* ``equal`` — every dimension the same weight;
* ``logit`` — weights proportional to the positive coefficients of an unconstrained logistic regression
  (:func:`logit_weights_fallback`);
* ``simplex`` — :func:`calibrate.fit.weights.fit_weights`, the constrained maximum likelihood;
* ``ceiling`` — scikit-learn ``HistGradientBoostingClassifier`` on the same dimensions, unconstrained;
* ``logit_free``, ``learned``, ``additive`` — an unconstrained logistic regression, the simplex on learned
  sub-scores, and the additive (no-interaction) ceiling (:mod:`calibrate.compare.additive`).

Above :data:`MODEL_ROWS` training rows in a fold, the four *model* rows (``ceiling``, ``logit_free``,
``learned``, ``additive``) are fitted on a seeded sample of whole accounts holding at most that many rows
(:func:`model_sample`) — each is a benchmark beside the score, not the score, and a gradient-boosting or joint
binned fit on 8 million rows costs minutes and gigabytes for a ceiling that has long stopped moving. They are
still judged on every held-out row; the weighted methods (``current`` … ``simplex``) always use every training
row. A leaderboard that sampled says so in its notes.

The weighted scores get their probability from a logistic link fitted on the training rows
(:mod:`calibrate.fit.heldout`); the link's slope is held ≥ 0, so a score that points the wrong way gets a
flat link (every row the base rate). A weighted method's AUC is therefore that of its 0–100 *score* (what
the bands cut and a CS team ranks by), not of the link's probability: an anti-predictive score shows an
AUC below 0.5 and is flagged as pointing the wrong way, instead of a flat link's 0.5. The ceiling's AUC is
its predicted probability's. Metrics are computed on the pooled held-out rows — AUC, log-loss,
Brier and the band spread (top band minus red) — each with a 95 % account-level percentile
bootstrap interval over those rows (the models are not refitted per resample, so the intervals
show validation-sample noise, not fitting noise). The ceiling has no score to cut, so its bands
are its predictions cut at the same shares of book as the simplex score's bands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate._labels import METHOD_LABELS
from calibrate._params import Interval, validate_params
from calibrate.compare.additive import ADDITIVE_METHODS, additive_rows
from calibrate.fit import heldout as _heldout
from calibrate.config.model import WeightConfig, default_bands
from calibrate.errors import FitError
from calibrate.fit.weights import FitResult, fit_weights
from calibrate.fit.folds import FOLD_PARAMS, Fold, validation_folds
from calibrate.data.load import Accounts

__all__ = ["Leaderboard", "MethodScore", "leaderboard", "logit_weights_fallback", "model_sample", "METRICS",
           "MODEL_ROWS"]

MODEL_ROWS = 250_000
"""Training rows per fold above which the model rows (ceilings, free logit, learned score) fit on a sample of
accounts (module docstring). On the 1e6-row scale book (750,000 training rows) the four rows' held-out AUCs moved by
at most 0.001 from the fit on every row, inside their intervals, for a third of the rows in those fits (issue 19)."""

METRICS: tuple[str, ...] = ("auc", "log_loss", "brier", "spread")
"""Leaderboard metrics; higher is better for AUC and spread, lower for log-loss and Brier."""

_LABELS = METHOD_LABELS
_NOT_A_SCORE = frozenset({"ceiling", "logit_free", "additive"})
"""Rows that are models, not a weighted 0–100 score (never the leaderboard's best score)."""


def logit_weights_fallback(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Weights ∝ the positive coefficients of an unconstrained logistic regression of ``y`` on ``x``.

    Negative coefficients get weight 0. The maximum-likelihood fit is Newton's with step halving on
    :func:`calibrate.fit.simplex.row_moments` — the simplex fit's blocked gradient and Hessian — so memory is
    one block of rows, not the copies of the design matrix a statsmodels ``Logit`` makes (3 GB transient on
    8.75 million rows); ``tests/test_compare.py`` checks it against statsmodels. The weights are
    scale-free, so ``x`` is used as it is (0–100).

    Raises
    ------
    FitError
        No coefficient is positive, the Hessian is singular (a constant or duplicated column), or 100 Newton
        steps do not converge. On separated data the coefficients grow until no step lowers the loss in floating
        point; the weights then follow their direction.
    """
    from calibrate.fit.simplex import row_moments

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    moments = row_moments(x, y)
    ybar = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    theta = np.concatenate(([np.log(ybar / (1 - ybar))], np.zeros(x.shape[1])))
    _, f, g, h = moments(theta)  # sums over rows: weight, loss, gradient, Hessian
    for _ in range(100):
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError as exc:
            raise FitError("the logistic regression's Hessian is singular (a constant or duplicated column)") from exc
        if np.abs(step).max() <= 1e-12 * max(1.0, float(np.abs(theta).max())):
            break
        t = 1.0
        while t > 1e-10:  # halve until the loss does not rise (the loss is convex: a full step almost always)
            cand = theta - t * step
            m = moments(cand)
            if m[1] <= f + 1e-12 * abs(f):
                theta, (_, f, g, h) = cand, m
                break
            t /= 2.0
        else:
            break
    else:
        raise FitError("the logistic regression did not converge in 100 Newton steps (separated data?)")
    positive = np.clip(theta[1:], 0.0, None)
    if positive.sum() <= 0:
        raise FitError("no logit coefficient is positive; check the outcome coding (renewed=1) and the directions")
    return {name: float(c) for name, c in zip(names, positive / positive.sum())}


@dataclass(frozen=True)
class MethodScore:
    """One method's held-out figures: each metric as ``(value, ci_low, ci_high)``.

    ``auc_of`` says what the AUC ranks: ``"score"`` (a weighted method's 0–100 score) or
    ``"probability"`` (the ceiling); ``flat_link_folds`` counts the folds whose link slope fitted to 0
    (log-loss and Brier are then the base rate's).
    """

    method: str
    auc: tuple[float, float, float]
    log_loss: tuple[float, float, float]
    brier: tuple[float, float, float]
    spread: tuple[float, float, float]
    weights: dict[str, float] | None = None
    auc_of: Literal["score", "probability"] = "score"
    flat_link_folds: int = 0

    @property
    def wrong_way(self) -> bool:
        """The held-out AUC is below 0.5: higher scores go with *more* churn."""
        return bool(self.auc[0] < 0.5)

    def metric(self, name: str) -> tuple[float, float, float]:
        """The named metric's ``(value, ci_low, ci_high)``."""
        return getattr(self, name)


@dataclass(frozen=True)
class Leaderboard:
    """Methods compared on the same held-out folds (see the module docstring).

    Attributes
    ----------
    methods : tuple of MethodScore
        In the order current, equal, logit, simplex, ceiling, then logit_free, learned, additive (current only
        with a current config; the last three only with ``learned_rows``).
    folds : tuple of str
        Fold names (``time:<date>`` or ``group:<k>/<K>``).
    n_test, n_accounts : int
        Held-out rows and accounts the metrics are computed on.
    n_boot, seed : int
    interval : str
        How the intervals were made.
    """

    methods: tuple[MethodScore, ...]
    folds: tuple[str, ...]
    n_test: int
    n_accounts: int
    n_boot: int
    seed: int
    interval: str = "account-level percentile bootstrap over the pooled held-out rows (95 %)"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __getitem__(self, method: str) -> MethodScore:
        for m in self.methods:
            if m.method == method:
                return m
        raise KeyError(method)

    @property
    def best(self) -> str:
        """The weighted-score method with the highest held-out AUC (the ceiling excluded)."""
        weighted = [m for m in self.methods if m.method not in _NOT_A_SCORE]
        return max(weighted, key=lambda m: m.auc[0]).method

    @property
    def gap_to_ceiling(self) -> float:
        """Held-out AUC of the ceiling minus that of the best weighted score."""
        return self["ceiling"].auc[0] - self[self.best].auc[0]

    def has(self, method: str) -> bool:
        """Whether the leaderboard holds a ``method`` row (the learned-sub-score rows are optional)."""
        return any(m.method == method for m in self.methods)

    def share_of_additive(self, method: str) -> float:
        """How much of the way from chance (AUC 0.5) to the additive ceiling ``method``'s held-out AUC goes."""
        return (self[method].auc[0] - 0.5) / (self["additive"].auc[0] - 0.5)

    def to_frame(self) -> pd.DataFrame:
        """One row per method: each metric with ``_low``/``_high`` columns."""
        rows = []
        for m in self.methods:
            row: dict[str, Any] = {"method": m.method}
            for name in METRICS:
                value, lo, hi = m.metric(name)
                row |= {name: value, f"{name}_low": lo, f"{name}_high": hi}
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: per method each metric as ``{value, ci_low, ci_high}``, plus the weights."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {
            "methods": [
                {
                    "method": m.method,
                    **{
                        name: dict(zip(("value", "ci_low", "ci_high"), map(clean, m.metric(name))))
                        for name in METRICS
                    },
                    "weights": m.weights,
                    "auc_of": m.auc_of,
                    "wrong_way": m.wrong_way,
                    "flat_link_folds": m.flat_link_folds,
                }
                for m in self.methods
            ],
            "best": self.best,
            "gap_to_ceiling": clean(self.gap_to_ceiling),
            "share_of_additive": ({m: clean(self.share_of_additive(m)) for m in ("simplex", "learned")}
                                  if self.has("additive") else None),
            "folds": list(self.folds),
            "n_test": self.n_test,
            "n_accounts": self.n_accounts,
            "n_boot": self.n_boot,
            "seed": self.seed,
            "interval": self.interval,
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        """The table as text, best weighted method and the gap to the ceiling."""
        lines = [
            f"Methods on {self.n_test:,} held-out rows ({self.n_accounts:,} accounts; folds {', '.join(self.folds)})",
            f"{'method':<30}{'AUC':>24}{'log-loss':>24}{'Brier':>24}{'spread':>26}",
        ]
        for m in self.methods:
            cells = []
            for name in METRICS:
                v, lo, hi = m.metric(name)
                fmt = "{:+.1%}" if name == "spread" else "{:.3f}"
                cell = "n/a" if not np.isfinite(v) else f"{fmt.format(v)} [{fmt.format(lo)}, {fmt.format(hi)}]"
                cells.append(f"{cell:>{26 if name == 'spread' else 24}}")
            lines.append(f"{_LABELS.get(m.method, m.method):<30}" + "".join(cells))
        for m in self.methods:
            if m.wrong_way:
                lines.append(f"{_LABELS.get(m.method, m.method)}: AUC {m.auc[0]:.3f} < 0.5 — the {m.auc_of} points the "
                             "wrong way (higher means more churn)")
            if m.flat_link_folds:
                lines.append(f"{_LABELS.get(m.method, m.method)}: the probability link fitted flat (slope 0) in "
                             f"{m.flat_link_folds} of {len(self.folds)} folds; log-loss and Brier there are the base rate's")
        lines.append(
            f"best weighted score: {_LABELS[self.best]}; the unconstrained ceiling adds "
            f"{self.gap_to_ceiling:+.3f} AUC. AUC of each weighted method's score (the ceiling's of its "
            f"probability). Intervals: {self.interval}."
        )
        if self.has("additive"):
            lines.append(f"additive ceiling (a sum of one free shape per dimension): AUC {self['additive'].auc[0]:.3f}; "
                         f"the fitted score goes {self.share_of_additive('simplex'):.0%} of the way from chance to it, "
                         f"the simplex on learned sub-scores {self.share_of_additive('learned'):.0%}")
        return "\n".join(lines + list(self.notes))

    def plot(self, ax: Any = None, *, metric: str = "auc") -> Any:
        """One metric per method with its interval; returns the Axes."""
        from calibrate.plots import plot_leaderboard

        return plot_leaderboard(self, ax=ax, metric=metric)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        return (
            f"<Leaderboard {len(self.methods)} methods on {self.n_test:,} held-out rows: best {self.best} "
            f"AUC {self[self.best].auc[0]:.3f}, ceiling {self['ceiling'].auc[0]:.3f}>"
        )


def _matched_bands(p: np.ndarray, reference: np.ndarray, n_bands: int) -> np.ndarray:
    """Cut ``p`` into bands with the same counts as ``reference`` (lowest band = lowest p)."""
    counts = np.bincount(reference[reference >= 0], minlength=n_bands)
    order = np.argsort(p, kind="stable")
    out = np.empty(len(p), dtype=int)
    out[order] = np.repeat(np.arange(n_bands), counts)
    return out


def model_sample(train: Accounts, *, max_rows: int = MODEL_ROWS, seed: int = 0) -> Accounts:
    """``train`` itself, or above ``max_rows`` rows a seeded sample of its accounts (all their rows) holding at
    most ``max_rows`` rows: the accounts in a random order, taken while their rows fit."""
    if len(train) <= max_rows:
        return train
    codes, _ = pd.factorize(train.frame["account_id"], sort=True)
    sizes = np.bincount(codes)
    order = np.random.default_rng(seed).permutation(sizes.shape[0])
    keep = np.zeros(sizes.shape[0], dtype=bool)
    keep[order[np.cumsum(sizes[order]) <= max_rows]] = True
    return train.subset(keep[codes])


@validate_params({**FOLD_PARAMS, "n_boot": [Interval(int, 1, None)]})
def leaderboard(
    data: Accounts,
    *,
    current: WeightConfig | None = None,
    folds: list[Fold] | None = None,
    scheme: Literal["auto", "time", "group"] = "auto",
    k: int = 5,
    n_boot: int = 1000,
    seed: int = 0,
    fold_fits: Sequence[FitResult] | None = None,
    scores: _heldout.FoldScores | None = None,
    learned_rows: bool = True,
) -> Leaderboard:
    """Compare weighting methods (and an unconstrained ceiling) on the same held-out folds.

    Parameters
    ----------
    data : Accounts
    current : WeightConfig, optional
        The config in production: adds the ``current`` row, and its bands and red band are used
        (default bands otherwise).
    folds : list of Fold, optional
        Default: :func:`calibrate.fit.folds.validation_folds` with ``scheme``, ``k`` and ``seed``.
    scheme : {"auto", "time", "group"}, default "auto"
    k : int, default 5
        Grouped folds when the scheme is (or falls back to) ``"group"``.
    n_boot : int, default 1000
        Account-level bootstrap resamples for each interval.
    seed : int, default 0
    fold_fits : sequence of FitResult, optional
        The simplex fit on each fold's training side (as ``fit_weights(train)``), when the caller
        already has them (:func:`calibrate.compare.champion.compare_with_current` shares them with the
        challenger's refits); fitted here otherwise.
    scores : FoldScores, optional
        Shared memo of the fold sides' scores (fresh otherwise).
    learned_rows : bool, default True
        Add the rows that judge the sub-scores themselves (:mod:`calibrate.compare.additive`: the free logit,
        the simplex on learned sub-scores, the additive ceiling). ``calibrate run`` leaves them out (its
        question is the weights; they cost a joint binned fit and a gradient-boosting fit per fold); ``fit``
        and ``compare`` keep them.

    Every interval comes from one draw of accounts over the pooled held-out rows (the same draw for
    a seed as :func:`calibrate._stats.cluster_bootstrap_counts` makes): the AUCs of all methods from
    :func:`calibrate._stats.bootstrap_aucs`, their log-loss and Brier from one
    :func:`calibrate.fit.heldout.account_mean_intervals`; the spread's band × outcome cells are drawn by
    :func:`calibrate._stats.bootstrap_spread` (a multinomial over account profiles).

    Returns
    -------
    Leaderboard

    Raises
    ------
    FitError
        A fold's training side cannot support a fit (too few churn events...).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    from calibrate import _stats

    folds = folds if folds is not None else validation_folds(data, scheme=scheme, k=k, seed=seed)
    names = tuple(data.dimensions)
    template = current or WeightConfig(
        dimensions=[{"name": d, "column": d, "weight": 1 / len(names)} for d in names], bands=default_bands()
    )
    methods = ((["current"] if current is not None else []) + ["equal", "logit", "simplex", "ceiling"]
               + (list(ADDITIVE_METHODS) if learned_rows else []))
    p: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    ranked: dict[str, list[np.ndarray]] = {m: [] for m in methods}  # what the AUC ranks: the score (ceiling: p)
    flat = dict.fromkeys(methods, 0)
    band: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    weights: dict[str, list[dict[str, float]]] = {m: [] for m in methods if m not in {"ceiling", *ADDITIVE_METHODS}}
    scores = scores if scores is not None else _heldout.FoldScores()
    test_rows, sampled = [], 0
    for i, fold in enumerate(folds):
        train, test = fold.split(data)
        y_tr = train.frame["renewed"].to_numpy(dtype=float)
        fitted = fold_fits[i] if fold_fits is not None else fit_weights(train)  # shared: the challenger's refit
        sets = {
            "current": current.weights if current is not None else None,
            "equal": {d: 1 / len(names) for d in names},
            # the design matrix is built here and freed after the fit (at 1e7 rows 0.7 GB)
            "logit": logit_weights_fallback(train.frame[list(names)].to_numpy(dtype=float), y_tr, names),
            "simplex": fitted.weights,
        }
        for method in weights:
            cfg = _heldout.with_weights(template, sets[method])
            s_te, b_te = scores(fold.name, "test", test.frame, cfg)
            if method == "simplex":
                link = (fitted.intercept, fitted.slope)
            else:
                link = scores.link(fold.name, train.frame, cfg, y_tr)
            p[method].append(_heldout.link_probability(s_te, link))
            ranked[method].append(np.asarray(s_te, dtype=float))
            flat[method] += link[1] <= 0
            band[method].append(b_te)
            weights[method].append(cfg.weights)
        model_train = model_sample(train, max_rows=MODEL_ROWS, seed=seed + i)  # the model rows' (module docstring)
        sampled += len(model_train) < len(train)
        with threadpool_limits(1, user_api="openmp"):  # OpenMP spin-waits badly on shared 2-core machines
            hgb = HistGradientBoostingClassifier(random_state=seed).fit(
                model_train.frame[list(names)].to_numpy(dtype=float), model_train.frame["renewed"].to_numpy(dtype=int))
            p_hgb = hgb.predict_proba(test.frame[list(names)].to_numpy(dtype=float))[:, 1]
        p["ceiling"].append(p_hgb)
        ranked["ceiling"].append(p_hgb)
        band["ceiling"].append(_matched_bands(p_hgb, band["simplex"][-1], len(template.bands)))
        learned = additive_rows(model_train, test, names, seed=seed) if learned_rows else {}
        for method, (p_m, ranked_m) in learned.items():
            p[method].append(p_m)
            ranked[method].append(ranked_m)
            band[method].append(_matched_bands(ranked_m, band["simplex"][-1], len(template.bands)))
        test_rows.append(fold.test)
    # the last fold's sides would stay referenced through the bootstraps below (at 1e7 rows the training side is
    # ~1.7 GB): only the pooled held-out figures are needed from here on
    del train, test, y_tr, model_train, hgb
    rows = np.concatenate(test_rows)
    frame = data.frame.iloc[rows]
    y = frame["renewed"].to_numpy(dtype=int)
    groups = frame["account_id"].to_numpy()
    top, red = len(template.bands) - 1, template.band_names.index(template.red_band)
    # one draw of accounts for every method's AUC, and one (the same draws) for all their log-losses and Briers
    aucs, _ = scores.aucs(groups, y, [np.concatenate(ranked[m]) for m in methods], n_boot=n_boot, seed=seed)
    per_row = []
    for pm in (np.concatenate(p[m]) for m in methods):
        per_row += [_heldout.row_log_loss(y, pm), (pm - y) ** 2]
    means = _heldout.account_mean_intervals(groups, per_row, n_boot=n_boot, seed=seed)
    rows_out = []
    for j, method in enumerate(methods):
        bm, auc = np.concatenate(band[method]), aucs[j]
        spread = _stats.bootstrap_spread(groups, bm, y, top=top, red=red, n_boot=n_boot, seed=seed)
        mean_w = None
        if method in weights:
            mean_w = {d: float(np.mean([w[d] for w in weights[method]])) for d in names}
        rows_out.append(
            MethodScore(
                method=method,
                auc=(auc.value, auc.ci_low, auc.ci_high),
                log_loss=means[2 * j],
                brier=means[2 * j + 1],
                spread=(spread.value, spread.ci_low, spread.ci_high),
                weights=mean_w,
                auc_of="probability" if method in _NOT_A_SCORE else "score",
                flat_link_folds=int(flat[method]),
            )
        )
    notes = ("weights shown are the mean over folds; the ceilings' (and the free logit's and learned score's) bands "
             "match the simplex score's band shares",)
    if not learned_rows:
        notes += ("the rows that judge the sub-scores themselves (free logit, learned sub-scores, additive ceiling) "
                  "were left out; `calibrate compare`, `calibrate fit` and `calibrate run --learned-rows` add them",)
    if sampled:
        notes += (f"in {sampled} of {len(folds)} folds the model rows (ceilings, free logit, learned score) were fitted "
                  f"on a seeded sample of accounts holding {MODEL_ROWS:,} training rows at most; every held-out row "
                  "judges them",)
    return Leaderboard(
        methods=tuple(rows_out),
        folds=tuple(f.name for f in folds),
        n_test=len(rows),
        n_accounts=int(pd.unique(groups).size),
        n_boot=n_boot,
        seed=seed,
        notes=notes,
    )
