"""Band validation (issue 4): every figure against an independent reference kept in the test.

The bootstrap spread interval's coverage of the truth (93-97 %) for independent rows is
tests/test_stats.py::test_account_bootstrap_spread_interval_covers_truth; here the simulation
checks it end to end through validate_classes with several correlated snapshots per account.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate import fit_weights, load_accounts
from calibrate.fit.draft import build_config
from calibrate.validation.redbook import csm_judgment, red_book
from calibrate.score.scorer import score_frame
from calibrate.validation.separation import validate, validate_classes
from calibrate.validation.groups import validate_groups
from conftest import logistic_book

CLASSES = [SimpleNamespace(name=n, code=n.upper(), color="#000000") for n in ("critical", "red", "amber", "green")]


@pytest.fixture(scope="module")
def fitted():
    book = logistic_book(3000, seed=7, snapshots=2)
    book["csm_red"] = 0
    data = load_accounts(book)
    cfg = build_config(fit_weights(data), data)
    rng = np.random.default_rng(5)
    scored = score_frame(data.frame, cfg, contributions=False, by="name")
    # a CSM flag that knows something the score does not (churners flagged more often)
    y = data.frame["renewed"].to_numpy()
    data.frame["csm_red"] = (rng.random(len(y)) < np.where(y == 0, 0.3, 0.05)).astype(int)
    return data, cfg, scored, validate(data, cfg, n_boot=1000, seed=3)


def test_band_rates_wilson_and_arr_against_statsmodels_and_pandas(fitted):
    from statsmodels.stats.proportion import proportion_confint

    data, cfg, scored, v = fitted
    f = data.frame.assign(band=scored["band"].to_numpy())
    for b in v.bands:
        rows = f[f["band"] == b.name]
        assert b.n == len(rows) and b.renewed == rows["renewed"].sum()
        if b.n == 0:
            assert b.renewal_rate is None and b.ci_low is None
            continue
        lo, hi = proportion_confint(b.renewed, b.n, alpha=0.05, method="wilson")
        assert b.ci_low == pytest.approx(lo, abs=1e-12) and b.ci_high == pytest.approx(hi, abs=1e-12)
        assert b.arr_renewal_rate == pytest.approx((rows["arr"] * rows["renewed"]).sum() / rows["arr"].sum())
        assert b.arr_share == pytest.approx(rows["arr"].sum() / f["arr"].sum())
        assert b.share == pytest.approx(len(rows) / len(f))
    d = v.to_dict()
    assert [b["name"] for b in d["bands"]] == cfg.band_names  # lowest first (contract §3)
    assert set(d["bands"][0]) >= {"name", "n", "renewed", "renewal_rate", "ci_low", "ci_high", "share"}
    assert set(d["spread"]) >= {"value", "ci_low", "ci_high"} and set(d["auc"]) >= {"value", "ci_low", "ci_high"}
    assert {"brier", "n"} <= set(d)


def test_spread_test_and_trend_against_statsmodels(fitted):
    from statsmodels.stats.contingency_tables import Table
    from statsmodels.stats.proportion import proportions_ztest

    _, _, _, v = fitted
    top, red = v.bands[-1], next(b for b in v.bands if b.name == "red")
    z, p = proportions_ztest([top.renewed, red.renewed], [top.n, red.n], alternative="larger")
    assert v.spread_z == pytest.approx(z) and v.spread_p == pytest.approx(p, rel=1e-9, abs=1e-300)
    assert v.spread == pytest.approx(top.renewal_rate - red.renewal_rate)
    used = [(j, b) for j, b in enumerate(v.bands) if b.n > 0]
    table = np.array([[b.n - b.renewed, b.renewed] for _, b in used], dtype=float)
    lbl = Table(table).test_ordinal_association(row_scores=np.array([j for j, _ in used], float),
                                                col_scores=np.array([0.0, 1.0]))
    n = table.sum()
    assert v.trend_z * math.sqrt((n - 1) / n) == pytest.approx(lbl.zscore, rel=1e-9)  # z_LBL = z_CA·sqrt((N-1)/N)
    assert v.trend_p < 1e-10


def test_discrimination_against_sklearn_and_scipy(fitted):
    from scipy.stats import ks_2samp
    from sklearn.metrics import roc_auc_score

    data, _, scored, v = fitted
    y, s = data.frame["renewed"].to_numpy(), scored["score"].to_numpy()
    auc = roc_auc_score(y, s)
    assert v.auc == pytest.approx(auc, abs=1e-12) and v.gini == pytest.approx(2 * auc - 1)
    assert v.ks == pytest.approx(ks_2samp(s[y == 1], s[y == 0]).statistic, abs=1e-12)
    assert v.auc_ci[0] < v.auc < v.auc_ci[1]


def test_delong_interval_agrees_with_account_bootstrap():
    from calibrate import _stats

    book = logistic_book(4000, seed=11)  # one snapshot per account: DeLong's assumption
    data = load_accounts(book)
    cfg = build_config(fit_weights(data), data)
    v = validate(data, cfg, n_boot=1000, red_metrics=False)
    s = score_frame(data.frame, cfg, contributions=False, by="name")["score"].to_numpy()
    boot = _stats.bootstrap_auc(data.frame["account_id"], data.frame["renewed"], s, n_boot=2000, seed=1)
    assert v.auc_se == pytest.approx(boot.se, rel=0.1)
    assert v.auc_ci[0] == pytest.approx(boot.ci_low, abs=0.006) and v.auc_ci[1] == pytest.approx(boot.ci_high, abs=0.006)


def test_calibration_against_sklearn_and_statsmodels(fitted):
    import statsmodels.api as sm
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    data, _, scored, v = fitted
    y, p = data.frame["renewed"].to_numpy(), scored["p_renew"].to_numpy()
    assert v.brier == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    frac, mean = calibration_curve(y, p, n_bins=10, strategy="quantile")
    np.testing.assert_allclose(v.reliability["frac_pos"], frac, atol=1e-12)
    np.testing.assert_allclose(v.reliability["mean_pred"], mean, atol=1e-12)
    counts = v.reliability["count"].to_numpy()
    assert v.ece == pytest.approx(np.dot(counts, np.abs(frac - mean)) / counts.sum(), abs=1e-12)
    lp = np.log(p / (1 - p))
    slope = sm.Logit(y, sm.add_constant(lp)).fit(disp=0).params[1]
    intercept = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit().params[0]
    assert v.cal_slope == pytest.approx(slope, abs=1e-6) and v.cal_intercept == pytest.approx(intercept, abs=1e-6)


def test_lift_by_decile_against_a_hand_count(fitted):
    data, _, scored, v = fitted
    churn = 1 - data.frame["renewed"].to_numpy()
    s = scored["score"].to_numpy()
    lift = v.lift
    assert len(lift) == 10 and lift["count"].sum() == len(s)
    first = lift.iloc[0]
    worst = s <= first["score_max"]
    assert first["count"] == worst.sum() and first["events"] == churn[worst].sum()
    assert first["lift"] == pytest.approx(churn[worst].mean() / churn.mean()) and first["lift"] > 2
    assert lift["gain"].iloc[-1] == pytest.approx(1.0)


def _frame(rates, n, seed=0):
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(len(rates)), n)
    y = (rng.random(idx.size) < np.array(rates)[idx]).astype(int)
    return pd.DataFrame({"account_id": np.arange(idx.size).astype(str), "renewed": y}), idx


@pytest.mark.parametrize("n, separated", [(60, False), (20_000, True)])
def test_monotonicity_counts_only_separated_violations(n, separated):
    frame, idx = _frame([0.3, 0.8, 0.7, 0.95], n)
    v = validate_classes(frame, idx, CLASSES, red_band="red", score=idx.astype(float), n_boot=1000, red_metrics=False)
    amber, red = v.bands[2], v.bands[1]
    assert amber.renewal_rate < red.renewal_rate and not v.strictly_monotone
    assert (red.ci_low > amber.ci_high) == separated  # the definition, from the Wilson bounds
    assert v.monotone is (not separated)
    assert v.violations == ((("red", "amber"),) if separated else ())


def test_pending_renewals_are_excluded_and_counted(fitted):
    data, cfg, _, v = fitted
    book = data.frame.copy()
    pending = np.zeros(len(book), dtype=bool)
    pending[::7] = True
    book["renewed"] = book["renewed"].astype(float).mask(pending)
    with pytest.raises(Exception, match="missing outcome at rows 1, 8, 15, 22, 29 and 853 more; drop rows"):
        load_accounts(book)  # the default still refuses them
    loaded = load_accounts(book, allow_pending=True)
    got = validate(loaded, cfg, n_boot=1000, seed=3)
    ref = validate(data.subset(~pending), cfg, n_boot=1000, seed=3)
    assert got.n_pending == pending.sum() and got.n == (~pending).sum()
    assert got.bands == ref.bands and got.auc == ref.auc and got.spread_ci == ref.spread_ci
    # an as-of date makes later renewals pending even with an outcome filled in
    as_of = data.frame["renewal_date"].quantile(0.5)
    late = (data.frame["renewal_date"] > as_of).to_numpy()
    v2 = validate(data, cfg, n_boot=1000, seed=3, as_of=as_of)
    assert v2.n_pending == late.sum() and v2.bands == validate(data.subset(~late), cfg, n_boot=1000, seed=3).bands
    assert v2.to_dict()["as_of"] == as_of.date().isoformat()


@pytest.mark.parametrize("by", ["segment", "period"])
def test_breakdown_equals_validating_each_group(fitted, by):
    data, cfg, _, _ = fitted
    v = validate(data, cfg, n_boot=1000, seed=3, by=by)
    key = data.frame["segment"] if by == "segment" else data.frame["snapshot_date"].dt.to_period("Q").astype(str)
    assert [g for g, _ in v.groups] == sorted(key.unique())
    for label, sub in v.groups:
        ref = validate(data.subset((key == label).to_numpy()), cfg, n_boot=1000, seed=3, red_metrics=False)
        assert sub.bands == ref.bands and sub.auc == ref.auc and sub.spread_ci == ref.spread_ci
    d = v.to_dict()
    assert d["by"] == by and len(d["groups"]) == len(v.groups) and "bands" in d["groups"][0]
    assert v.group(v.groups[0][0]) is v.groups[0][1]
    alone = validate_groups(data, cfg, by=by, n_boot=1000, seed=3)  # the groups without the book-wide run
    assert [g for g, _ in alone] == [g for g, _ in v.groups]
    for (_, a), (_, b) in zip(alone, v.groups):
        assert (a.bands, a.auc, a.auc_ci, a.spread, a.spread_ci) == (b.bands, b.auc, b.auc_ci, b.spread, b.spread_ci)
        assert a.csm is None  # a diagnostic: validate_groups leaves it out (the report's quarters do not show it)


def test_csm_flag_against_statsmodels_logit(fitted):
    import statsmodels.api as sm
    from scipy import stats

    data, _, scored, v = fitted
    y = data.frame["renewed"].to_numpy()
    flag = data.frame["csm_red"].to_numpy()
    s = scored["score"].to_numpy() / 10
    m0 = sm.Logit(y, sm.add_constant(s)).fit(disp=0)
    m1 = sm.Logit(y, sm.add_constant(np.column_stack([s, flag]))).fit(disp=0)
    lr = 2 * (m1.llf - m0.llf)
    assert v.csm.lr_stat == pytest.approx(lr, rel=1e-6)
    assert v.csm.pvalue == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-5)
    assert v.csm.odds_ratio == pytest.approx(np.exp(m1.params[2]), rel=1e-6) and v.csm.adds_information
    table = v.csm.by_band.set_index("band")
    f = data.frame.assign(band=scored["band"].to_numpy())
    for band, rows in f.groupby("band"):
        fl = rows[rows["csm_red"] == 1]
        assert table.loc[band, "n_flagged"] == len(fl)
        if len(fl):
            assert table.loc[band, "rate_flagged"] == pytest.approx(fl["renewed"].mean())
    # a flag drawn independently of the outcome adds nothing detectable
    rng = np.random.default_rng(9)
    noise = csm_judgment(y, s * 10, (rng.random(len(y)) < 0.1).astype(float), scored["band_index"].to_numpy(),
                         [b.name for b in v.bands])
    assert noise.pvalue > 0.01


def test_red_book_against_a_hand_worked_history():
    d = pd.to_datetime
    # account A: red, saved (amber 91 days later), then renews; B: red, red, churns 70 days after its last snapshot
    # C: green at its last snapshot and churns (missed churn); D: one red snapshot, no follow-up (unobserved)
    frame = pd.DataFrame({
        "account_id": ["A", "A", "B", "B", "C", "C", "D"],
        "snapshot_date": d(["2024-01-01", "2024-04-01", "2024-01-01", "2024-04-01", "2024-01-01", "2024-04-01",
                            "2024-04-01"]),
        "renewal_date": d(["2024-03-01", "2024-06-01", "2024-03-01", "2024-06-10", "2024-03-01", "2024-06-20",
                           "2024-06-01"]),
        "renewed": [1, 1, 1, 0, 1, 0, 1],
        "arr": [10.0, 10.0, 20.0, 20.0, 30.0, 30.0, 40.0],
    })
    index = np.array([1, 2, 1, 1, 2, 3, 0])  # critical=0, red=1, amber=2, green=3
    r = red_book(frame, index, ["critical", "red", "amber", "green"], red_band="red",
                 decided=np.ones(7, dtype=bool), n_boot=1000)
    # book at 2024-04-01: A amber, B red, C green, D critical
    assert r.book_date == "2024-04-01" and r.n_book == 4
    assert r.share_red == 0.25 and r.share_critical == 0.25 and r.share_red_or_below == 0.5
    assert r.arr_share_red_or_below == pytest.approx(60 / 100) and not r.within_guideline
    # red rows: A1, B1, B2, D -> churn 1 of 4; base 2 of 7
    assert r.red_churn_rate == 0.25 and r.base_churn_rate == pytest.approx(2 / 7)
    assert r.red_multiple == pytest.approx(0.25 / (2 / 7))
    # save: A1 saved (A2 amber 91 days later), B1 not (B2 red), B2 lost (churned within the window), D unobserved
    assert (r.save_rate, r.save_n, r.save_unobserved) == (pytest.approx(1 / 3), 3, 1)
    # churn events: B (renewal 2024-06-10, first red 2024-01-01 = 161 days before), C (never red)
    assert r.churn_events == 2 and r.lead_time_median_days == 161 and r.lead_time_n == 1
    # 60-90 days before: B2 is 70 days out (red: below green), C2 is 80 days out (green)
    assert r.share_churners_below_green_60_90 == 0.5 and r.early_n == 2
    assert r.missed_churn_arr == 30 and r.missed_churn_share == pytest.approx(30 / 50)
    one = red_book(frame.drop(columns=["snapshot_date"]), index, ["critical", "red", "amber", "green"],
                   red_band="red", decided=np.ones(7, dtype=bool), n_boot=1000)
    assert one.save_rate is None and any("save rate needs several snapshots" in n for n in one.notes)
    assert "no snapshot" in one.summary()


@given(st.integers(0, 2**16))
@settings(max_examples=10, deadline=None)
def test_point_figures_do_not_depend_on_row_order(seed):
    frame, idx = _frame([0.4, 0.6, 0.8, 0.9], 40, seed=seed % 97)
    score = idx + np.random.default_rng(seed).random(idx.size)
    perm = np.random.default_rng(seed + 1).permutation(idx.size)
    a = validate_classes(frame, idx, CLASSES, red_band="red", score=score, n_boot=1000, red_metrics=False)
    b = validate_classes(frame.iloc[perm].reset_index(drop=True), idx[perm], CLASSES, red_band="red",
                         score=score[perm], n_boot=1000, red_metrics=False)
    assert a.bands == b.bands and a.spread == b.spread and a.auc == pytest.approx(b.auc, abs=1e-12)
    assert a.trend_z == pytest.approx(b.trend_z) and a.violations == b.violations


@pytest.mark.slow
def test_spread_interval_covers_truth_with_correlated_snapshots():
    """Accounts with 3 snapshots in the same band sharing an account effect: the account bootstrap covers
    the true spread in 93-97 % of seeded repetitions (a row bootstrap would under-cover)."""
    rng = np.random.default_rng(2025)
    p_band = np.array([0.3, 0.5, 0.75, 0.9])
    # account effect on the logit scale; true band rates are the mixture means, computed by quadrature
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    logit = np.log(p_band / (1 - p_band))
    true = (weights[None, :] / weights.sum() / (1 + np.exp(-(logit[:, None] + 1.0 * nodes[None, :])))).sum(axis=1)
    truth = true[3] - true[1]
    reps, hits = 800, 0
    for r in range(reps):
        n_acc = 300
        band = rng.integers(0, 4, n_acc)
        u = rng.normal(0, 1.0, n_acc)
        p = 1 / (1 + np.exp(-(logit[band] + u)))
        idx = np.repeat(band, 3)
        y = (rng.random(idx.size) < np.repeat(p, 3)).astype(int)
        frame = pd.DataFrame({"account_id": np.repeat(np.arange(n_acc), 3), "renewed": y})
        v = validate_classes(frame, idx, CLASSES, red_band="red", score=idx.astype(float), n_boot=1000,
                             seed=r, red_metrics=False)
        hits += v.spread_ci[0] <= truth <= v.spread_ci[1]
    assert 0.93 <= hits / reps <= 0.97, hits / reps


def test_result_protocol_and_plots(fitted):
    import json

    from calibrate.plots import plot_gains, plot_reliability

    _, _, _, v = fitted
    json.dumps(v.to_dict(), allow_nan=False)
    assert repr(v).startswith("<Validation 6,000 rows: spread") and "<table" in v._repr_html_()
    assert "red book" in v.summary() and "CSM red flag" in v.summary() and len(v.to_frame()) == 4
    assert len(v.plot().patches) == sum(b.n > 0 for b in v.bands)
    assert len(plot_reliability(v).lines) == 2 and len(plot_gains(v).lines) == 2
    assert "(critical + red)" in v.red.summary() and v.red.to_frame()["metric"].is_unique
