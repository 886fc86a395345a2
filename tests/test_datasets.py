"""Tests of the seeded synthetic book generator (calibrate.data.datasets)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from calibrate.data import datasets
from calibrate.data.datasets import (
    COLUMNS,
    DIMENSIONS,
    DRIFT_DIMENSION,
    DRIFT_START_PERIOD,
    DRIFTED_WEIGHTS,
    TRUE_WEIGHTS,
    load_book,
    make_book,
    make_logistic_sample,
    truth,
    write_book,
)
from calibrate.data.datasets import _io

REPO = Path(__file__).resolve().parents[1]
REPO_CSV = REPO / "data" / "cs_book.csv"
PACKAGE_CSV = REPO / "calibrate" / "data" / "datasets" / "data" / "cs_book.csv"
DIMS = list(DIMENSIONS)


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return make_book()


@pytest.fixture(scope="module")
def stationary_book() -> pd.DataFrame:
    return make_book(drift=False)


def _period(df: pd.DataFrame) -> pd.Series:
    return df["snapshot_date"].rank(method="dense").astype(int) - 1


def _score(df: pd.DataFrame, weights: dict[str, float] = TRUE_WEIGHTS) -> np.ndarray:
    return df[DIMS].to_numpy() @ np.array([weights[d] for d in DIMS])


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    ranks = pd.Series(score).rank().to_numpy()
    y = np.asarray(y)
    n1 = y.sum()
    n0 = y.size - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# --- committed files ----------------------------------------------------------------------


def test_regenerated_csv_is_byte_identical_to_committed_copies(tmp_path, book):
    written = write_book(tmp_path / "book.csv")
    content = written.read_bytes()
    assert content == REPO_CSV.read_bytes(), "data/cs_book.csv is stale: run python -m calibrate.data.datasets"
    assert content == PACKAGE_CSV.read_bytes(), "package copy is stale: run python -m calibrate.data.datasets"
    assert write_book(tmp_path / "again.csv", book).read_bytes() == content
    assert b"\r" not in content[:10_000]
    assert content.startswith(",".join(COLUMNS).encode() + b"\n")


def test_truth_json_matches_truth():
    shipped = REPO / "calibrate" / "data" / "datasets" / "truth.json"
    assert json.loads(shipped.read_text()) == truth()
    assert shipped.read_text() == _io.truth_json()


def test_main_check_reports_up_to_date():
    from calibrate.data.datasets.__main__ import main

    assert main(["--check"]) == 0


def test_load_book_equals_make_book(book):
    loaded = load_book()
    pd.testing.assert_frame_equal(loaded, book, check_exact=True)


# --- shape facts --------------------------------------------------------------------------


def test_columns_and_dtypes(book):
    assert tuple(book.columns) == COLUMNS
    assert book.isna().sum().sum() == 0
    for col in ("renewed", "licensed_seats", "days_since_login", "nps", "open_tickets",
                "oldest_ticket_age_days", "days_to_renewal", "csm_red"):  # fmt: skip
        assert pd.api.types.is_integer_dtype(book[col]), col
    for col in ("arr", *DIMS, "adoption_pct", "csm_contacts_per_month"):
        assert pd.api.types.is_float_dtype(book[col]), col
    for col in ("snapshot_date", "renewal_date"):
        assert pd.api.types.is_datetime64_any_dtype(book[col]), col
    assert book["account_id"].str.fullmatch(r"ACC-\d{5}").all()


def test_shape_facts(book):
    assert book["account_id"].nunique() == 3500 >= 3000
    assert book["snapshot_date"].nunique() == 8
    dates = sorted(book["snapshot_date"].unique())
    assert pd.Timestamp(dates[0]) == pd.Timestamp("2024-01-01")
    assert [pd.Timestamp(d).strftime("%m-%d") for d in dates[:4]] == ["01-01", "04-01", "07-01", "10-01"]
    rows = book.groupby("account_id").size()
    assert (rows < 8).any() and (rows == 8).any()
    assert not book.duplicated(["account_id", "snapshot_date"]).any()
    assert (book["renewal_date"] > book["snapshot_date"]).all()
    lead = (book["renewal_date"] - book["snapshot_date"]).dt.days
    assert (lead == book["days_to_renewal"]).all()
    assert book["days_to_renewal"].between(30, 90).all()
    assert set(book["renewed"].unique()) == {0, 1}
    for d in DIMS:
        assert book[d].between(0, 100).all(), d


def test_segments_and_arr(book):
    assert set(book["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    churn = 1 - book.groupby("segment")["renewed"].mean()
    assert churn["SMB"] > churn["Mid-Market"] > churn["Enterprise"]
    per_account = book.drop_duplicates("account_id")
    med = per_account.groupby("segment")["arr"].median()
    assert 8_000 < med["SMB"] < 18_000
    assert 40_000 < med["Mid-Market"] < 90_000
    assert 170_000 < med["Enterprise"] < 360_000
    # arr, seats and segment are constant per account
    assert (book.groupby("account_id")[["arr", "licensed_seats", "segment"]].nunique() == 1).all().all()
    # segment independent of the dimensions (so a fit without segment still recovers ratios)
    means = book.groupby("segment")[DIMS].mean()
    assert (means.max() - means.min()).max() < 3


def test_life_cycle(book):
    p = _period(book)
    g = book.assign(period=p).groupby("account_id")
    # consecutive quarters, no gaps
    span = g["period"].max() - g["period"].min() + 1
    assert (span == g.size()).all()
    # a churn is always the last row of its account
    last = book.assign(period=p).sort_values(["account_id", "period"]).groupby("account_id").tail(1).index
    churned_rows = book.index[book["renewed"] == 0]
    assert set(churned_rows) <= set(last)
    # staggered joins: some accounts start after the first quarter
    assert (g["period"].min() > 0).sum() > 300


def test_dimensions_correlated_and_persistent(book):
    corr = book[DIMS].corr().to_numpy()[np.triu_indices(4, 1)]
    assert 0.15 < corr.min() and corr.max() < 0.45
    p = _period(book)
    s = book.assign(period=p).sort_values(["account_id", "period"])
    nxt = s.groupby("account_id")["usage"].shift(-1)
    ok = nxt.notna()
    assert np.corrcoef(s["usage"][ok], nxt[ok])[0, 1] > 0.5


def test_bands_and_true_score(book):
    score = _score(book)
    bands = pd.cut(score, [-np.inf, 25, 50, 75, np.inf], right=False, labels=["critical", "red", "amber", "green"])
    share = pd.Series(bands).value_counts(normalize=True)
    assert (share > 0.002).all(), share
    assert 0.08 <= share["red"] + share["critical"] <= 0.15
    rate = book.groupby(np.asarray(bands), observed=True)["renewed"].mean()
    assert rate["green"] > 0.9
    assert 0.45 < rate["red"] < 0.70
    assert rate["critical"] < rate["red"] < rate["amber"] < rate["green"]
    assert 0.75 <= _auc(score, book["renewed"].to_numpy()) <= 0.85


def test_outcome_matches_stated_model(book):
    t = truth()
    p = _period(book).to_numpy()
    w = np.where((p >= t["drift"]["start_period"])[:, None],
                 [t["drifted_weights"][d] for d in DIMS], [t["weights"][d] for d in DIMS])  # fmt: skip
    score = (book[DIMS].to_numpy() * w).sum(axis=1)
    a = book["segment"].map(t["segment_intercepts"]).to_numpy(dtype=float)
    prob = expit(a + t["slope"] * (score - t["score_center"]) / t["score_scale"])
    y = book["renewed"].to_numpy()
    se = np.sqrt((prob * (1 - prob)).sum())
    assert abs(y.sum() - prob.sum()) < 3 * se
    for lo, hi in [(0, 0.6), (0.6, 0.85), (0.85, 0.95), (0.95, 1.0)]:
        m = (prob >= lo) & (prob < hi)
        se = np.sqrt((prob[m] * (1 - prob[m])).sum())
        assert abs(y[m].sum() - prob[m].sum()) < 4 * se, (lo, hi)


def test_raw_signals(book):
    assert book["adoption_pct"].between(0, 100).all()
    assert (book["days_since_login"] >= 0).all()
    assert book["nps"].between(0, 10).all()
    assert (book["csm_contacts_per_month"] >= 0).all()
    assert (book["open_tickets"] >= 0).all()
    assert ((book["oldest_ticket_age_days"] == 0) == (book["open_tickets"] == 0)).all()
    assert (book["licensed_seats"] >= 1).all()
    rho = book[[*DIMS, "adoption_pct", "days_since_login", "nps", "csm_contacts_per_month", "open_tickets",
                "oldest_ticket_age_days"]].corr(method="spearman")  # fmt: skip
    assert rho.loc["usage", "adoption_pct"] > 0.6
    assert rho.loc["usage", "days_since_login"] < -0.5
    assert rho.loc["engagement", "nps"] > 0.5
    assert rho.loc["support", "open_tickets"] < -0.3
    assert rho.loc["support", "oldest_ticket_age_days"] < -0.3
    assert rho.loc["support", "csm_contacts_per_month"] < -0.5  # loud accounts


def test_csm_red_flag(book):
    red = book["csm_red"]
    assert set(red.unique()) == {0, 1}
    assert 0.02 < red.mean() < 0.12
    score = _score(book)
    assert score[red == 1].mean() < score[red == 0].mean() - 15
    # extra information beyond the score: at a similar score, churners are flagged more often
    low = (score >= 40) & (score < 55)
    sub = book[low]
    assert sub.loc[sub["renewed"] == 0, "csm_red"].mean() > 2 * sub.loc[sub["renewed"] == 1, "csm_red"].mean()


# --- determinism --------------------------------------------------------------------------


def test_deterministic_and_seeded():
    a = make_book(n_accounts=400, seed=7)
    b = make_book(n_accounts=400, seed=7)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = make_book(n_accounts=400, seed=8)
    assert not a[DIMS].equals(c[DIMS])
    assert a["account_id"].nunique() == 400


def test_weight_dict_order_does_not_matter():
    reordered = {k: TRUE_WEIGHTS[k] for k in reversed(list(TRUE_WEIGHTS))}
    pd.testing.assert_frame_equal(make_book(n_accounts=300, weights=reordered), make_book(n_accounts=300))
    kw = dict(n=500, slope=8.0, intercept=-3.5, seed=3)
    pd.testing.assert_frame_equal(
        make_logistic_sample(weights=reordered, **kw), make_logistic_sample(weights=dict(TRUE_WEIGHTS), **kw)
    )


def test_other_arguments():
    df = make_book(n_accounts=200, n_snapshots=4, start="2025-04-01", drift=False)
    assert df["account_id"].nunique() == 200
    assert sorted(pd.to_datetime(df["snapshot_date"].unique()).strftime("%Y-%m-%d")) == [
        "2025-04-01", "2025-07-01", "2025-10-01", "2026-01-01"]  # fmt: skip
    with pytest.raises(ValueError):
        make_book(weights={"usage": 1.0})
    with pytest.raises(ValueError):
        make_book(weights={**TRUE_WEIGHTS, "usage": -0.1})
    with pytest.raises(ValueError):
        make_book(n_accounts=0)
    with pytest.raises(ValueError):
        make_book(start="not a date")


def test_default_book_is_fast():
    t0 = time.perf_counter()
    make_book()
    assert time.perf_counter() - t0 < 5.0  # typically ~0.1 s; loose bound for slow CI machines


# --- truth recovery -----------------------------------------------------------------------


def test_truth_dict():
    t = truth()
    assert t["weights"] == TRUE_WEIGHTS and t["drifted_weights"] == DRIFTED_WEIGHTS
    assert abs(sum(TRUE_WEIGHTS.values()) - 1) < 1e-12 and abs(sum(DRIFTED_WEIGHTS.values()) - 1) < 1e-12
    assert t["drift"]["dimension"] == DRIFT_DIMENSION == "engagement"
    assert t["drift"]["start_period"] == DRIFT_START_PERIOD == 6
    a = t["segment_intercepts"]
    assert a["SMB"] < a["Mid-Market"] < a["Enterprise"]
    json.dumps(t)
    t["weights"]["usage"] = 0.0  # a copy: mutating it must not change the module constants
    assert TRUE_WEIGHTS["usage"] == 0.40


def test_logistic_sample_recovers_weights():
    s = make_logistic_sample(n=50_000, weights=TRUE_WEIGHTS, slope=8.0, intercept=-3.5, seed=11)
    assert len(s) == 50_000 and s["account_id"].is_unique
    assert set(s.columns) == {"account_id", "snapshot_date", "renewal_date", "renewed", "arr", "segment", *DIMS}
    assert (s["renewal_date"] > s["snapshot_date"]).all()
    fit = sm.Logit(s["renewed"], sm.add_constant(s[DIMS])).fit(disp=0)
    coef = fit.params[DIMS]
    assert (coef > 0).all()
    w = coef / coef.sum()
    for d in DIMS:
        assert abs(w[d] - TRUE_WEIGHTS[d]) < 0.03, (d, w[d])
    assert abs(coef.sum() - 8.0 / 100) < 0.01  # slope is per 100 score points
    assert abs(fit.params["const"] - (-3.5)) < 0.3


def test_logistic_sample_custom_dimensions():
    s = make_logistic_sample(n=1000, weights={"b": 0.5, "a": 0.5}, slope=4.0, intercept=0.0, seed=1)
    assert list(s.columns[-2:]) == ["a", "b"]
    assert s[["a", "b"]].stack().between(0, 100).all()


def test_pre_drift_fit_orders_weights_like_truth(book):
    pre = book[_period(book) < DRIFT_START_PERIOD]
    X = pd.concat([pre[DIMS], pd.get_dummies(pre["segment"], drop_first=True, dtype=float)], axis=1)
    fit = sm.Logit(pre["renewed"], sm.add_constant(X)).fit(disp=0)
    coef = fit.params[DIMS]
    assert list(coef.sort_values(ascending=False).index) == sorted(DIMS, key=lambda d: -TRUE_WEIGHTS[d])
    w = coef / coef.sum()
    assert max(abs(w[d] - TRUE_WEIGHTS[d]) for d in DIMS) < 0.05
    # without the segment the ratios are still recovered (segment is independent of the dimensions)
    fit0 = sm.Logit(pre["renewed"], sm.add_constant(pre[DIMS])).fit(disp=0)
    w0 = fit0.params[DIMS] / fit0.params[DIMS].sum()
    assert max(abs(w0[d] - TRUE_WEIGHTS[d]) for d in DIMS) < 0.05


# --- drift --------------------------------------------------------------------------------


def test_drift_present(book):
    p = _period(book)
    diff = book.loc[p >= 6, DRIFT_DIMENSION].mean() - book.loc[p < 6, DRIFT_DIMENSION].mean()
    assert diff <= -8


def test_no_drift_when_disabled(book, stationary_book):
    p = _period(stationary_book)
    for d in DIMS:
        diff = stationary_book.loc[p >= 6, d].mean() - stationary_book.loc[p < 6, d].mean()
        assert abs(diff) < 2, (d, diff)
    # the same seed gives the same pre-drift history: drift=False is the counterfactual
    pre = book[_period(book) < 6].reset_index(drop=True)
    pre0 = stationary_book[p < 6].reset_index(drop=True)
    pd.testing.assert_frame_equal(pre, pre0)


def test_drifted_weights_visible_after_drift(book):
    post = book[_period(book) >= DRIFT_START_PERIOD]
    fit = sm.Logit(post["renewed"], sm.add_constant(post[DIMS])).fit(disp=0)
    coef = fit.params[DIMS]
    assert coef["support"] > coef["commercial"]
    assert coef["support"] / coef.sum() > TRUE_WEIGHTS["support"] + 0.05


def test_public_api_exports():
    for name in ("make_book", "load_book", "write_book", "make_logistic_sample", "truth", "TRUE_WEIGHTS",
                 "DRIFTED_WEIGHTS", "DRIFT_DIMENSION", "DRIFT_START_PERIOD"):  # fmt: skip
        assert hasattr(datasets, name), name
