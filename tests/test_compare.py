"""Held-out comparisons: folds, champion/challenger and the methods leaderboard.

References kept in the tests: scikit-learn (roc_auc_score, log_loss, brier_score_loss,
HistGradientBoostingClassifier), statsmodels Logit, and a plain resampling loop for the
account-level bootstrap.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate.fit import heldout as _heldout
from calibrate.compare.champion import champion_challenger, compare_with_current
from calibrate.config.model import Dimension, WeightConfig, default_bands
from calibrate.errors import DataError, FitError
from calibrate.fit.weights import fit_weights, simplex_mle
from calibrate.fit.folds import grouped_folds, out_of_time_split, validation_folds
from calibrate.compare import methods as _methods
from calibrate.compare.methods import leaderboard, logit_weights_fallback, model_sample
from calibrate.data.load import DataSpec, load_accounts
from conftest import DIMS, TRUE_W, logistic_book


def _config(weights: dict[str, float]) -> WeightConfig:
    return WeightConfig(dimensions=[Dimension(name=d, column=d, weight=w) for d, w in weights.items()],
                        bands=default_bands())


@pytest.fixture(scope="module")
def history():
    """1,200 accounts × 4 quarterly snapshots from a known logistic model."""
    return load_accounts(logistic_book(1200, seed=11, snapshots=4))


# -- folds ------------------------------------------------------------------------------------
def test_out_of_time_split_is_earlier_then_later(history):
    fold = out_of_time_split(history)
    dates = history.frame["snapshot_date"]
    assert dates.iloc[fold.train].max() < dates.iloc[fold.test].min()
    assert len(fold.train) + len(fold.test) == len(history)
    assert fold.name == "time:2025-10-01" and len(fold.test) == 1200  # the last quarter: 25 % of rows


def test_out_of_time_split_disjoint_accounts_and_errors(history):
    late = logistic_book(200, seed=12).assign(
        account_id=lambda f: "N" + f["account_id"], snapshot_date=pd.Timestamp("2025-10-01"),
        renewal_date=pd.Timestamp("2025-12-01"))
    mixed = load_accounts(pd.concat([logistic_book(300, seed=11, snapshots=4), late], ignore_index=True))
    fold = out_of_time_split(mixed, test_from="2025-10-01", disjoint_accounts=True)
    ids = mixed.frame["account_id"].to_numpy()
    assert not set(ids[fold.train]) & set(ids[fold.test])
    assert len(fold.test) == 200 and all(i.startswith("N") for i in ids[fold.test])
    with pytest.raises(DataError, match=r"cutting at 2025-07-02 leaves no validation rows"):
        out_of_time_split(history, test_from="2025-07-02", disjoint_accounts=True)
    with pytest.raises(DataError, match=r"cutting at 2030-01-01 leaves no validation rows; choose a date between"):
        out_of_time_split(history, test_from="2030-01-01")
    flat = history.subset(history.frame["snapshot_date"] == history.frame["snapshot_date"].min())
    with pytest.raises(DataError, match=r"column 'snapshot_date' has a single date"):
        out_of_time_split(flat)
    assert validation_folds(flat, k=3)[0].name == "group:1/3"


@settings(max_examples=15, deadline=None)
@given(k=st.integers(2, 6), seed=st.integers(0, 10_000), n=st.integers(60, 120))
def test_grouped_folds_never_share_an_account(k, seed, n):
    data = load_accounts(logistic_book(n, seed=seed % 97, snapshots=3), spec=DataSpec())
    folds = grouped_folds(data, k=k, seed=seed)
    ids = data.frame["account_id"].to_numpy()
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(data)))  # every row validated exactly once
    for f in folds:
        assert not set(ids[f.train]) & set(ids[f.test])
        assert len(f.train) + len(f.test) == len(data)


def test_grouped_folds_need_enough_accounts():
    data = load_accounts(logistic_book(3, seed=1, snapshots=2).assign(renewed=[0, 1, 0, 1, 1, 0]))
    with pytest.raises(DataError, match=r"3 accounts cannot make 5 grouped folds; use fewer folds"):
        grouped_folds(data, k=5)


# -- shared pieces ----------------------------------------------------------------------------
def test_row_losses_match_sklearn():
    from sklearn.metrics import brier_score_loss, log_loss

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    p = rng.uniform(0.01, 0.99, 500)
    assert _heldout.row_log_loss(y, p).mean() == pytest.approx(log_loss(y, p), rel=1e-12)
    assert ((p - y) ** 2).mean() == pytest.approx(brier_score_loss(y, p), rel=1e-12)


def test_account_mean_interval_matches_a_resampling_loop():
    from calibrate import _stats

    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(60), rng.integers(1, 5, 60))
    values = rng.normal(size=groups.size) + groups % 3
    value, lo, hi = _heldout.account_mean_intervals(groups, [values], n_boot=300, seed=9)[0]
    counts, row_group = _stats.cluster_bootstrap_counts(groups, n_boot=300, seed=9)
    boot = []
    for c in counts:  # resample by repeating each account's rows as often as it was drawn
        take = np.repeat(np.arange(groups.size), c[row_group])
        boot.append(values[take].mean())
    assert value == pytest.approx(values.mean())
    assert (lo, hi) == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])), rel=1e-10)


def test_logit_weights_match_statsmodels_and_the_interior_simplex_optimum():
    import statsmodels.api as sm

    frame = logistic_book(4000, seed=21)
    x, y = frame[list(DIMS)].to_numpy(), frame["renewed"].to_numpy()
    w = logit_weights_fallback(x, y, DIMS)
    coef = sm.Logit(y, sm.add_constant(x / 100)).fit(disp=0).params[1:]
    assert all(c > 0 for c in coef)
    assert list(w.values()) == pytest.approx(list(coef / coef.sum()), abs=1e-10)
    v, _, _ = simplex_mle(x / 100, y.astype(float))
    assert list(w.values()) == pytest.approx(list(v / v.sum()), abs=1e-4)


def test_logit_weights_refuse_a_duplicated_column_and_no_positive_coefficient():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, (500, 2))
    y = (rng.random(500) < 0.6).astype(float)
    with pytest.raises(FitError, match="Hessian is singular"):
        logit_weights_fallback(np.column_stack([x, x[:, 0]]), y, ("a", "b", "c"))
    with pytest.raises(FitError, match="no logit coefficient is positive"):
        logit_weights_fallback(x, (x[:, 0] + x[:, 1] + rng.normal(0, 10, 500) < 100).astype(float), ("a", "b"))


# -- champion / challenger --------------------------------------------------------------------
def test_identical_weights_keep_current(history):
    from calibrate.fit.draft import build_config

    train, _ = out_of_time_split(history).split(history)
    same = build_config(fit_weights(train), train)
    res = champion_challenger(history, same, same, n_boot=300)
    assert res.challenger == "as published"
    assert res.decision == "keep current" and not res.passed
    assert res.log_loss_gain[0] == pytest.approx(0.0, abs=1e-12) and res.auc_diff[0] == 0.0
    assert "not clearly above 0" in res.reasons[0]


def test_clearly_better_weights_are_adopted_and_figures_match_sklearn(history):
    from sklearn.metrics import log_loss, roc_auc_score

    bad = _config({"usage": 0.02, "engagement": 0.02, "support": 0.02, "commercial": 0.94})
    good = _config(dict(TRUE_W))
    res = champion_challenger(history, good, bad, n_boot=400, seed=1)
    assert res.decision == "adopt" and res.passed and res.challenger == "refit on each training side"
    fold = out_of_time_split(history)
    train, test = fold.split(history)
    y = test.frame["renewed"].to_numpy()
    refit = _heldout.with_weights(good, fit_weights(train).weights)
    s_new, _ = _heldout.scored(test.frame, refit)
    s_cur, _ = _heldout.scored(test.frame, bad)
    assert res.auc_new == pytest.approx(roc_auc_score(y, s_new), abs=1e-12)
    assert res.auc_diff[0] == pytest.approx(roc_auc_score(y, s_new) - roc_auc_score(y, s_cur), abs=1e-12)
    link = _heldout.fit_link(_heldout.scored(train.frame, bad)[0], train.frame["renewed"].to_numpy())
    assert res.log_loss_current == pytest.approx(log_loss(y, _heldout.link_probability(s_cur, link)), rel=1e-9)
    assert res.log_loss_gain[1] > 0 and res.auc_diff[1] > 0
    assert res.auc_diff_delong[1] < res.auc_diff[0] < res.auc_diff_delong[2]
    json.dumps(res.to_dict(), allow_nan=False)
    assert "ADOPT" in res.summary() and repr(res).startswith("<ChampionChallenger adopt")
    assert res.plot().get_title() == "Champion/challenger: adopt"


# -- leaderboard ------------------------------------------------------------------------------
def test_leaderboard_rows_match_independent_refits(history):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    current = _config({"usage": 0.1, "engagement": 0.1, "support": 0.1, "commercial": 0.7})
    board = leaderboard(history, current=current, n_boot=300, seed=4)
    assert [m.method for m in board.methods] == ["current", "equal", "logit", "simplex", "ceiling", "logit_free",
                                                "learned", "additive"]
    train, test = out_of_time_split(history).split(history)
    y = test.frame["renewed"].to_numpy()
    fit = fit_weights(train)
    s = test.frame[list(DIMS)].to_numpy() @ np.array([fit.weights[d] for d in DIMS])
    assert board["simplex"].auc[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    hgb = HistGradientBoostingClassifier(random_state=4).fit(train.frame[list(DIMS)], train.frame["renewed"])
    assert board["ceiling"].auc[0] == pytest.approx(roc_auc_score(y, hgb.predict_proba(test.frame[list(DIMS)])[:, 1]))
    for m in board.methods:
        for name in ("auc", "log_loss", "brier", "spread"):
            value, lo, hi = m.metric(name)
            assert lo <= value <= hi, (m.method, name)
    # the truth is a weighted sum, so fitted weights beat a config that leans on one dimension
    assert board["simplex"].auc[0] > board["current"].auc[0]
    assert board.best in {"logit", "simplex"}
    frame = board.to_frame()
    assert list(frame.columns[:4]) == ["method", "auc", "auc_low", "auc_high"] and len(frame) == 8
    json.dumps(board.to_dict(), allow_nan=False)
    assert board.plot(metric="log_loss").get_xlabel() == "held-out log-loss"
    assert "ceiling" in board.summary()


def test_model_rows_fit_on_a_sample_of_whole_accounts_above_the_cap(history, monkeypatch):
    """Above MODEL_ROWS training rows the ceiling is fitted on a seeded sample of whole accounts, judged on every
    held-out row; the weighted rows keep every training row, and the notes say it (issue 19)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    assert model_sample(history, max_rows=len(history)) is history
    sample = model_sample(history, max_rows=1000, seed=3)
    sizes = history.frame.groupby("account_id").size()
    kept = sample.frame.groupby("account_id").size()
    assert 1000 - sizes.max() < len(sample) <= 1000  # as many accounts as fit
    assert (kept == sizes[kept.index]).all()  # whole accounts: every snapshot of a kept account
    pd.testing.assert_frame_equal(model_sample(history, max_rows=1000, seed=3).frame, sample.frame)
    assert not model_sample(history, max_rows=1000, seed=4).frame.equals(sample.frame)

    full = leaderboard(history, n_boot=200, seed=4)
    monkeypatch.setattr(_methods, "MODEL_ROWS", 1000)
    board = leaderboard(history, n_boot=200, seed=4)
    assert board["simplex"].auc == full["simplex"].auc  # the weighted rows: every training row
    fold = out_of_time_split(history)
    train, test = fold.split(history)
    small = model_sample(train, max_rows=1000, seed=4)  # fold 0: seed + 0
    hgb = HistGradientBoostingClassifier(random_state=4).fit(small.frame[list(DIMS)], small.frame["renewed"])
    p = hgb.predict_proba(test.frame[list(DIMS)])[:, 1]
    assert board["ceiling"].auc[0] == pytest.approx(roc_auc_score(test.frame["renewed"], p), abs=1e-12)
    assert board["ceiling"].auc[0] != full["ceiling"].auc[0]
    assert any("seeded sample of accounts holding 1,000 training rows" in n for n in board.notes)
    assert not any("seeded sample" in n for n in full.notes)


def test_leaderboard_shows_an_anti_predictive_score_as_such():
    """Usage drives renewal and the other three dimensions work against it: the plain mean of the four is
    anti-predictive. Its flat link (slope held >= 0) used to show AUC 0.5; the row must show the score's own
    AUC, below 0.5, flagged as pointing the wrong way (issue 18 item 5)."""
    from sklearn.metrics import roc_auc_score

    w = {"usage": 1.0, "engagement": -0.45, "support": -0.45, "commercial": -0.45}
    data = load_accounts(logistic_book(3000, seed=5, weights=w, slope=0.08, intercept=3.5, snapshots=2))
    board = leaderboard(data, n_boot=300, seed=0)
    train, test = out_of_time_split(data).split(data)
    y = test.frame["renewed"].to_numpy()
    reference = roc_auc_score(y, test.frame[list(DIMS)].mean(axis=1))
    equal = board["equal"]
    assert equal.auc[0] == pytest.approx(reference, abs=1e-12) and reference < 0.47
    assert equal.wrong_way and equal.auc_of == "score" and equal.flat_link_folds == 1
    assert not board["simplex"].wrong_way and board["ceiling"].auc_of == "probability"
    assert "equal weights: AUC {:.3f} < 0.5 — the score points the wrong way".format(reference) in board.summary()
    row = board.to_dict()["methods"][0]
    assert (row["method"], row["wrong_way"], row["flat_link_folds"]) == ("equal", True, 1)
    base = np.full(len(y), train.frame["renewed"].mean())  # a flat link: every row the training base rate
    assert equal.brier[0] == pytest.approx(np.mean((base - y) ** 2), abs=1e-6)


def test_leaderboard_on_grouped_folds_without_dates_is_deterministic():
    data = load_accounts(logistic_book(900, seed=8).drop(columns=["snapshot_date", "renewal_date"]))
    a = leaderboard(data, k=3, n_boot=200, seed=2)
    b = leaderboard(data, k=3, n_boot=200, seed=2)
    assert a.folds == ("group:1/3", "group:2/3", "group:3/3") and a.n_test == 900
    assert a.to_dict() == b.to_dict()
    assert [m.method for m in a.methods] == ["equal", "logit", "simplex", "ceiling", "logit_free", "learned", "additive"]


def test_compare_with_current(history):
    board, cc = compare_with_current(history, _config(dict(TRUE_W)), None, seed=0, n_boot=200)
    assert cc is None and "current" not in [m.method for m in board.methods]
    board, cc = compare_with_current(history, _config(dict(TRUE_W)), _config(dict.fromkeys(DIMS, 0.25)), n_boot=200)
    assert cc is not None and cc.folds == board.folds and cc.decision in {"adopt", "keep current"}


def test_cli_compare_json(tmp_path, history):
    import os
    import subprocess
    import sys

    from calibrate.config.model import write_config

    root = str(Path(__file__).resolve().parents[1])
    csv = tmp_path / "book.csv"
    history.frame.to_csv(csv, index=False)
    cur = write_config(_config(dict.fromkeys(DIMS, 0.25)).model_copy(update={"version": 1}), tmp_path / "cfg")
    new = write_config(_config(dict(TRUE_W)).model_copy(update={"version": 2}), tmp_path / "cfg")
    res = subprocess.run(
        [sys.executable, "-m", "calibrate", "compare", "--data", str(csv), "--current", str(cur), "--new", str(new),
         "--n-boot", "1000", "--json"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": root}, timeout=300,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["champion_challenger"]["decision"] in {"adopt", "keep current"}
    assert [m["method"] for m in out["leaderboard"]["methods"]][0] == "current"
    bad = subprocess.run([sys.executable, "-m", "calibrate", "compare", "--data", str(tmp_path / "nope.csv")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": root}, timeout=120)
    assert bad.returncode == 2 and "file not found" in bad.stderr


def test_fold_scores_share_auc_bootstraps_and_give_fresh_figures(monkeypatch):
    """The memo hands back exactly bootstrap_aucs' figures and computes a score's bootstrap once for given rows/draws."""
    from calibrate import _stats

    rng = np.random.default_rng(3)
    groups = rng.integers(0, 300, 2000).astype(str)
    y = rng.integers(0, 2, 2000)
    a, b, c = (rng.normal(size=2000) + k * y for k in (0.2, 0.5, 0.8))
    fresh_cis, fresh = _stats.bootstrap_aucs(groups, y, [a, b, c], n_boot=200, seed=4)
    calls = []
    real = _stats.bootstrap_aucs
    monkeypatch.setattr(_stats, "bootstrap_aucs", lambda *args, **kw: calls.append(len(args[2])) or real(*args, **kw))
    memo = _heldout.FoldScores()
    cis, boot = memo.aucs(groups, y, [a, b, a.copy()], n_boot=200, seed=4)
    assert calls == [2]  # a twice: one bootstrap row
    np.testing.assert_array_equal(boot, fresh[[0, 1, 0]])
    assert cis == [fresh_cis[0], fresh_cis[1], fresh_cis[0]]
    cis, boot = memo.aucs(groups, y, [c, b], n_boot=200, seed=4)  # only c is new
    assert calls == [2, 1] and cis == [fresh_cis[2], fresh_cis[1]]
    np.testing.assert_array_equal(boot, fresh[[2, 1]])
    memo.aucs(groups, y, [b], n_boot=200, seed=5)  # other draws: computed again
    memo.aucs(groups, 1 - y, [b], n_boot=200, seed=4)  # other outcomes: computed again
    assert calls == [2, 1, 1, 1]

