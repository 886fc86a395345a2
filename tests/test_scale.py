"""The held-out comparisons at scale (issue 19): one draw of accounts shared by every interval, streamed in
chunks (no resamples × accounts matrix), one simplex fit per fold and one score per fold side shared by the
leaderboard and the champion/challenger."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import logistic_book

from calibrate import _stats
from calibrate.data.load import load_accounts
from calibrate.fit import heldout as _heldout


def _book(seed: int = 3):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(400), rng.integers(1, 6, 400))
    y = (rng.random(groups.size) < 0.7).astype(int)
    return rng, groups, y


def test_account_mean_intervals_share_one_draw_and_match_a_resampling_loop():
    rng, groups, y = _book()
    a, b = rng.normal(size=groups.size) + y, rng.exponential(size=groups.size)
    both = _heldout.account_mean_intervals(groups, [a, b], n_boot=300, seed=9)
    alone = [_heldout.account_mean_intervals(groups, [v], n_boot=300, seed=9)[0] for v in (a, b)]
    assert np.allclose(both, alone, rtol=1e-13, atol=0)  # the same draws (summation order aside)
    counts, row_group = _stats.cluster_bootstrap_counts(groups, n_boot=300, seed=9)
    for v, (value, lo, hi) in zip((a, b), both):  # reference: repeat each account's rows as often as it was drawn
        boot = [v[np.repeat(np.arange(groups.size), c[row_group])].mean() for c in counts]
        assert value == pytest.approx(v.mean())
        assert (lo, hi) == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])), rel=1e-10)


def test_account_mean_intervals_never_hold_a_resamples_by_accounts_matrix():
    """1,000 resamples of 100,000 accounts: the dense count matrix alone was 400 MB (500 MB peak with the
    sampler's chunk); streamed, the peak is the sampler's working set (a 2·10⁷-count chunk, ~190 MB)."""
    groups = np.arange(100_000)
    values = np.random.default_rng(1).normal(size=groups.size)
    tracemalloc.start()
    try:
        _heldout.account_mean_intervals(groups, [values], n_boot=1000, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 250e6, peak


def test_bootstrap_aucs_are_bootstrap_auc_on_one_paired_draw():
    from sklearn.metrics import roc_auc_score

    rng, groups, y = _book(5)
    s1, s2 = rng.normal(size=groups.size) + y, rng.normal(size=groups.size) + 0.4 * y
    cis, boot = _stats.bootstrap_aucs(groups, y, [s1, s2], n_boot=400, seed=7)
    for ci, s in zip(cis, (s1, s2)):
        assert ci == _stats.bootstrap_auc(groups, y, s, n_boot=400, seed=7)  # the same draws, one at a time
        assert ci.value == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    counts, row_group = _stats.cluster_bootstrap_counts(groups, n_boot=400, seed=7)
    for b in (0, 199, 399):  # each resample's AUCs are the count-weighted AUCs of the same accounts
        w = counts[b, row_group]
        assert boot[:, b] == pytest.approx([roc_auc_score(y, s, sample_weight=w) for s in (s1, s2)], abs=1e-12)


def test_compare_with_current_fits_each_fold_once_and_scores_each_side_once(monkeypatch):
    """The leaderboard's simplex row and the challenger's refit are one fit per fold; each fold side is
    scored once per weight set (the current config is scored for both)."""
    import calibrate.compare.champion as champion
    import calibrate.compare.methods as methods
    from calibrate.drift.detect import fit_reference_config
    from calibrate.fit.draft import build_config
    from calibrate.fit.weights import fit_weights

    book = logistic_book(3000, seed=11, snapshots=4)
    data = load_accounts(book)
    current = fit_reference_config(data.subset(data.frame["snapshot_date"] < book["snapshot_date"].max()), n_boot=1000)
    new = build_config(fit_weights(data), data, template=current)
    expected = (methods.leaderboard(data, current=current, n_boot=200),
                champion.champion_challenger(data, new, current, n_boot=200))
    fits, scored = [], []
    real_fit, real_scored = fit_weights, _heldout.scored
    monkeypatch.setattr(champion, "fit_weights", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    monkeypatch.setattr(methods, "fit_weights", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    monkeypatch.setattr(_heldout, "scored", lambda f, c: scored.append(c.weights) or real_scored(f, c))
    board, cc = champion.compare_with_current(data, new, current, n_boot=200)
    assert len(board.folds) == 1 and len(fits) == 1
    # train + test of: the current weights — which the fold's simplex refit reproduces exactly (the current
    # config was fitted on the fold's training rows), so the simplex row and the challenger reuse them — and
    # the equal and logit weights; nothing is scored twice
    assert len(scored) == 6 and len({repr(w) for w in scored}) == 3
    assert board.to_dict() == expected[0].to_dict() and cc.to_dict() == expected[1].to_dict()
