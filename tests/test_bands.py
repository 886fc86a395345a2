"""Band cut-point tuning: constraints hold, the optimum matches a brute-force search with scipy's G²."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from calibrate.fit.bands import band_separation, tune_bands
from calibrate.config.model import Dimension, WeightConfig, default_bands
from calibrate.errors import FitError
from calibrate.score.scorer import band_index


def _sample(n: int = 6000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = np.clip(rng.normal(60, 22, n), 0, 100)
    y = (rng.random(n) < 1 / (1 + np.exp(-(score - 45) / 9))).astype(int)
    return score, y


def _config(bands):
    return WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.5), Dimension(name="b", column="b", weight=0.5)],
                        bands=bands)


def test_band_separation_is_scipys_likelihood_ratio_statistic():
    score, y = _sample()
    idx = band_index(score, _config(default_bands()))
    table = np.array([[np.sum((idx == j) & (y == 1)), np.sum((idx == j) & (y == 0))] for j in range(4)])
    g2 = chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
    assert band_separation(score, y, default_bands()) == pytest.approx(g2, rel=1e-10)


def test_tuned_bands_match_a_brute_force_search_and_hold_the_constraints():
    score, y = _sample()
    tuned = tune_bands(score, y, default_bands(), step=5.0, min_share=0.03, max_red_share=0.10)
    assert [b.name for b in tuned] == ["critical", "red", "amber", "green"]
    assert [b.code for b in tuned] == [b.code for b in default_bands()]
    cfg = _config(tuned)  # a valid config: the bands tile 0-100
    # brute force with the scorer's own banding and scipy's G²
    best, best_g2 = None, -np.inf
    for cuts in itertools.combinations(np.arange(5.0, 100.0, 5.0), 3):
        edges = (0.0, *cuts, 100.0)
        bands = [b.model_copy(update={"min": lo, "max": hi}) for b, lo, hi in zip(default_bands(), edges, edges[1:])]
        idx = band_index(score, _config(bands))
        n = np.bincount(idx, minlength=4)
        k = np.bincount(idx, weights=y, minlength=4)
        if (n / len(y) < 0.03).any() or n[:2].sum() / len(y) > 0.10 or not (np.diff(k / n) > 0).all():
            continue
        table = np.stack([k, n - k], axis=1)
        g2 = chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
        if g2 > best_g2:
            best, best_g2 = edges, g2
    assert [b.min for b in tuned] + [100.0] == list(best)
    idx = band_index(score, cfg)
    n = np.bincount(idx, minlength=4)
    k = np.bincount(idx, weights=y, minlength=4)
    assert (n / len(y) >= 0.03).all() and n[:2].sum() / len(y) <= 0.10 and (np.diff(k / n) > 0).all()
    assert band_separation(score, y, tuned) == pytest.approx(best_g2, rel=1e-9)


def test_default_grid_runs_and_beats_the_configured_bands_under_its_constraints():
    score, y = _sample(seed=3)
    tuned = tune_bands(score, y, default_bands())
    idx = band_index(score, _config(tuned))
    assert np.mean(idx <= 1) <= 0.10
    assert band_separation(score, y, tuned) > 0


def test_infeasible_constraints_are_a_clear_error():
    score, y = _sample()
    with pytest.raises(FitError, match=r"no cut-points give every band >= 30% of rows, at most 10% at or below 'red'"):
        tune_bands(score, y, default_bands(), min_share=0.30, step=5.0)
    with pytest.raises(FitError, match=r"use a larger step"):
        tune_bands(score, y, default_bands() + [], step=0.01)
