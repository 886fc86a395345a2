"""Shared pieces of the held-out comparisons (:mod:`calibrate.compare.champion`, :mod:`calibrate.compare.methods`).

A weight set is turned into probabilities the same way for every method: the score comes from
:func:`calibrate.score.scorer.score_frame` (the one scorer) and its logistic link
``logit P(renew) = a + b·score`` is fitted on the *training* rows with
:func:`calibrate.fit.weights.simplex_mle` (slope ≥ 0), so a comparison is about the weights, not about
a stale calibration. Intervals are account-level bootstraps over the pooled held-out rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from calibrate._stats import one_blas_thread
from calibrate.config.model import Calibration, Dimension, WeightConfig
from calibrate.fit.weights import simplex_mle
from calibrate.score.scorer import score_frame

EPS = 1e-15


def with_weights(template: WeightConfig, weights: dict[str, float]) -> WeightConfig:
    """``template`` with its dimensions replaced by ``weights`` (columns/directions kept when known)."""
    previous = {d.name: d for d in template.dimensions}
    dims = [
        previous[name].model_copy(update={"weight": float(w)}) if name in previous else Dimension(
            name=name, column=name, weight=float(w)
        )
        for name, w in weights.items()
    ]
    total = sum(d.weight for d in dims)
    dims = [d.model_copy(update={"weight": d.weight / total}) for d in dims]
    return template.model_copy(update={"dimensions": dims, "calibration": None, "content_hash": None})


def scored(frame: pd.DataFrame, config: WeightConfig) -> tuple[np.ndarray, np.ndarray]:
    """Score and band index of every row (dimensions read by name, as loaded)."""
    out = score_frame(frame, config, contributions=False, by="name")
    return out["score"].to_numpy(dtype=float), out["band_index"].to_numpy()


class FoldScores:
    """:func:`scored` of each fold side (and :func:`fit_link` on its training side), once per weight set, shared.

    The leaderboard and the champion/challenger score the same fold sides with the same weights
    (the current config; the challenger's refit): ``compare_with_current`` hands both one instance,
    so each (fold, side, weights) is scored once. The key is what the score depends on — the
    dimensions (columns, directions, weights, transforms), bands and missing rule — not the config's identity.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._links: dict[tuple, tuple[float, float]] = {}
        self._aucs: dict[tuple[str, str], tuple[Any, np.ndarray]] = {}

    def __call__(self, fold: str, side: str, frame: pd.DataFrame, config: WeightConfig) -> tuple[np.ndarray, np.ndarray]:
        """Score and band index of ``frame`` (fold ``fold``'s ``side``) under ``config``."""
        key = (fold, side, config.model_dump_json(include={"dimensions", "bands", "missing"}))
        if key not in self._memo:
            self._memo[key] = scored(frame, config)
        return self._memo[key]

    def link(self, fold: str, train: pd.DataFrame, config: WeightConfig, y: np.ndarray) -> tuple[float, float]:
        """:func:`fit_link` of ``config``'s scores on fold ``fold``'s training side ``train`` (outcomes ``y``), once."""
        key = (fold, "link", config.model_dump_json(include={"dimensions", "bands", "missing"}))
        if key not in self._links:
            # the training side's scores serve only this fit: not memoised (at 1e7 rows 140 MB per weight set)
            self._links[key] = fit_link(scored(train, config)[0], y)
        return self._links[key]

    def aucs(self, groups: np.ndarray, y: np.ndarray, scores: Sequence[np.ndarray], *, n_boot: int,
             seed: int) -> tuple[list[Any], np.ndarray]:
        """:func:`calibrate._stats.bootstrap_aucs` of ``scores`` on the pooled held-out rows, each score's once.

        Where the sharing happens: the leaderboard bootstraps every method's AUC, then the champion/challenger
        the challenger's and the current config's on the same rows with the same draws — the leaderboard's
        simplex and current rows when the weights agree. A score's bootstrap row depends only on the rows
        (accounts, outcomes), the draws (``n_boot``, ``seed``) and the score, so that is the key (digests of
        their bytes); a second request is a lookup, with figures identical to a fresh call.
        """
        from calibrate import _stats

        # the accounts by a hash of each label (linear; sorting the labels is bootstrap_aucs' own work, not the key's)
        rows = _digest(pd.util.hash_array(np.asarray(groups, dtype=object)), np.asarray(y, dtype=float),
                       np.array([n_boot, seed]))
        keys = [(rows, _digest(np.asarray(s, dtype=float))) for s in scores]
        todo = list(dict.fromkeys(k for k in keys if k not in self._aucs))
        if todo:
            first = {k: i for i, k in enumerate(keys)}  # any index of a key: equal keys, equal scores
            cis, boot = _stats.bootstrap_aucs(groups, y, [scores[first[k]] for k in todo], n_boot=n_boot, seed=seed)
            self._aucs |= {k: (ci, b) for k, ci, b in zip(todo, cis, boot)}
        return [self._aucs[k][0] for k in keys], np.stack([self._aucs[k][1] for k in keys])


def _digest(*arrays: np.ndarray) -> str:
    """A content digest of ``arrays`` (dtype, shape and bytes), the key of a memo."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def fit_link(score: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Intercept and slope (per score point, ≥ 0) of the logistic link, by :func:`simplex_mle`."""
    v, a, _ = simplex_mle(np.asarray(score, dtype=float)[:, None] / 100.0, np.asarray(y, dtype=float))
    return float(a), float(v[0]) / 100.0


def link_probability(score: np.ndarray, link: tuple[float, float]) -> np.ndarray:
    """``sigmoid(a + b·score)``."""
    from scipy.special import expit

    return expit(link[0] + link[1] * np.asarray(score, dtype=float))


def row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row negative log-likelihood (natural log), probabilities clipped to [1e-15, 1 − 1e-15]."""
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def account_mean_intervals(
    groups: np.ndarray, values: Sequence[np.ndarray], *, n_boot: int, seed: int, confidence: float = 0.95
) -> list[tuple[float, float, float]]:
    """Mean of each per-row array in ``values`` with an account-level percentile bootstrap interval.

    One draw of accounts serves every array (they are figures of the same rows): each resample
    draws accounts with replacement and takes the row-weighted mean ``Σ cₐ·Sₐ / Σ cₐ·nₐ`` over
    accounts ``a`` (``Sₐ`` the sum and ``nₐ`` the number of the account's rows). The draws are
    :func:`calibrate._stats.cluster_bootstrap_counts`'s for ``(groups, n_boot, seed)``, streamed in
    chunks of resamples (:func:`calibrate._stats.cluster_bootstrap_chunks`), so memory is bounded
    independently of the number of accounts and of ``n_boot``: a chunk of at most ``2·10⁷`` float32
    counts (80 MB; ``4·n_accounts`` counts when that is larger; the sampler's working set about twice
    that, ~190 MB measured at 100,000 accounts) and 32 of its columns in float64, plus
    ``len(values) + 1`` per-account sums and ``(len(values) + 1) × n_boot`` totals — never an
    ``n_boot × n_accounts`` matrix.

    Returns
    -------
    list of (mean, ci_low, ci_high)
        One per array, in order.
    """
    from calibrate import _stats

    row_group, n_groups = _stats.account_codes(groups)
    per_account = np.column_stack(
        [np.bincount(row_group, minlength=n_groups).astype(float)]
        + [np.bincount(row_group, weights=np.asarray(v, dtype=float), minlength=n_groups) for v in values]
    )
    boot = []
    with one_blas_thread():  # thin (1 + m) × n_accounts products: more BLAS threads only spin-wait
        for chunk in _stats.cluster_bootstrap_chunks(row_group, n_groups, n_boot=n_boot, seed=seed):
            boot += [per_account.T @ chunk[:, s : s + 32].astype(float) for s in range(0, chunk.shape[1], 32)]
    boot = np.concatenate(boot, axis=1)
    means = boot[1:] / boot[0]
    tail = (1 - confidence) / 2 * 100
    return [(float(np.mean(v)), float(lo), float(hi))
            for v, (lo, hi) in zip(values, np.percentile(means, [tail, 100 - tail], axis=1).T)]


def isotonic_calibration(score: np.ndarray, renewed: np.ndarray, *, link: tuple[float, float] | None = None) -> Calibration:
    """An isotonic score → renewal-probability map, stored as knots in a :class:`Calibration`.

    The knots are scikit-learn ``IsotonicRegression(out_of_bounds="clip")``'s thresholds, so
    :func:`calibrate.score.scorer.renewal_probability` (``numpy.interp`` on them) predicts exactly as it does.

    Parameters
    ----------
    score : array of float
        Training scores (0–100).
    renewed : array of 0/1
    link : (intercept, slope), optional
        The logistic link kept alongside; fitted on the same rows when omitted.

    Returns
    -------
    Calibration
        ``method="isotonic"``.
    """
    from sklearn.isotonic import IsotonicRegression

    score = np.asarray(score, dtype=float)
    y = np.asarray(renewed, dtype=float)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True).fit(score, y)
    a, b = link if link is not None else fit_link(score, y)
    return Calibration(
        method="isotonic", intercept=float(a), slope=float(b),
        knots=[float(k) for k in iso.X_thresholds_], probabilities=[float(p) for p in iso.y_thresholds_],
    )
