"""Tests for calibrate._stats: every statistic against an independent reference kept here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score
from statsmodels.api import GLM, WLS, Logit, add_constant, families
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from calibrate import _stats as S


def _data(n: int, seed: int, *, rate: float = 0.7, shift: float = 1.0, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    s = rng.normal(size=n) + shift * y
    if decimals is not None:
        s = np.round(s, decimals)
    return y, s


def _delong_slow(y, s):
    """O(n²) DeLong from the definition (placement values)."""
    x, z = s[y == 1], s[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


# ---------------------------------------------------------------------------------------------
# 1. Wilson
# ---------------------------------------------------------------------------------------------
def test_wilson_matches_statsmodels_vectorised():
    k = np.array([0, 1, 5, 37, 99, 100, 3])
    n = np.array([10, 10, 40, 80, 100, 100, 3])
    for conf in (0.9, 0.95, 0.99):
        lo, hi = S.wilson_interval(k, n, confidence=conf)
        ref_lo, ref_hi = proportion_confint(k, n, alpha=1 - conf, method="wilson")
        np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
        np.testing.assert_allclose(hi, ref_hi, atol=1e-12)


def test_wilson_holds_the_rate_at_0_and_100_percent():
    """At k = n (or 0) the closed form can round to 0.9999999999999999 (or 1.7e-18): the bound must hold
    k/n, or a band renewing 100 % draws a negative error bar (issue 18 item 2)."""
    n = np.arange(1, 400)
    for k in (n, 0 * n):
        lo, hi = S.wilson_interval(k, n)
        ref_lo, ref_hi = proportion_confint(k, n, method="wilson")
        np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
        np.testing.assert_allclose(hi, ref_hi, atol=1e-12)
        assert np.all(lo <= k / n) and np.all(k / n <= hi)
    assert S.wilson_interval(41, 41)[1] == 1.0 and S.wilson_interval(0, 48)[0] == 0.0


def test_wilson_at_95_percent_is_the_closed_form_to_the_bit():
    """The published config stores band intervals in full: the 95 % bounds must not move by an ulp."""
    k = np.array([17.0, 792.0, 6184.0, 6759.0, 0.0, 3.0])
    n = np.array([146.0, 1434.0, 7008.0, 6932.0, 7.0, 3.0])
    z = stats.norm.ppf(0.975)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    lo, hi = S.wilson_interval(k, n)
    # the closed form, holding the rate at 0 % and 100 % (0/7 rounds to a low bound of 1.7e-18; issue 18 item 2)
    assert lo.tolist() == np.clip(np.minimum(centre - half, p), 0, 1).tolist()
    assert hi.tolist() == np.clip(np.maximum(centre + half, p), 0, 1).tolist()


def test_degenerate_proportion_tests_are_nan_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(math.isnan(v) for v in S.two_proportion_test(0, 10, 0, 5))  # pooled variance 0
        assert all(math.isnan(v) for v in S.two_proportion_test(3, 0, 2, 5))  # an empty group
        assert all(math.isnan(v) for v in S.cochran_armitage([3], [9]))  # one group
        assert all(math.isnan(v) for v in S.cochran_armitage([4, 6], [4, 6]))  # all renewed
        lo, hi = S.wilson_interval([0], [0])
        assert np.isnan(lo[0]) and np.isnan(hi[0])
    with pytest.raises(ValueError, match="alternative"):
        S.two_proportion_test(1, 2, 1, 2, alternative="bigger")


def test_wilson_empty_band_is_nan_and_bad_input_raises():
    lo, hi = S.wilson_interval(np.array([0, 2]), np.array([0, 4]))
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and 0 < lo[1] < 0.5 < hi[1] < 1
    with pytest.raises(ValueError):
        S.wilson_interval(5, 4)


# ---------------------------------------------------------------------------------------------
# 2. AUC
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("decimals", [None, 1, 0])
def test_auc_matches_sklearn_with_and_without_ties(decimals):
    y, s = _data(3000, 1, decimals=decimals)
    assert S.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-13)


def test_auc_with_integer_and_float_weights_matches_sklearn():
    y, s = _data(2000, 2, decimals=1)
    rng = np.random.default_rng(3)
    for w in (rng.integers(0, 5, y.size), rng.random(y.size) * 3):
        assert S.auc(y, s, weights=w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    # integer frequency weights = repeating rows
    w = rng.integers(0, 4, y.size)
    assert S.auc(y, s, weights=w) == pytest.approx(S.auc(np.repeat(y, w), np.repeat(s, w)), abs=1e-12)


def test_auc_one_class_absent_is_nan_not_an_error():
    assert math.isnan(S.auc(np.ones(5), np.arange(5.0)))
    assert math.isnan(S.auc(np.array([1, 0]), np.array([1.0, 2.0]), weights=np.array([1.0, 0.0])))
    assert math.isnan(S.delong(np.zeros(5), np.arange(5.0)).value)


# ---------------------------------------------------------------------------------------------
# 3. DeLong
# ---------------------------------------------------------------------------------------------
def test_delong_matches_quadratic_definition_on_tiny_sample_with_ties():
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1])
    s = np.array([3.0, 1.0, 2.0, 2.0, 2.0, 0.5, 4.0, 3.0, 1.0, 5.0, 0.0, 2.0])
    v10, v01 = _delong_slow(y, s)
    m, n = v10.size, v01.size
    res = S.delong(y, s)
    assert res.value == pytest.approx(v10.mean(), abs=1e-14)
    assert res.value == pytest.approx(roc_auc_score(y, s), abs=1e-14)
    assert res.se == pytest.approx(math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n), abs=1e-14)
    z = stats.norm.ppf(0.975)
    assert res.ci_low == pytest.approx(max(0, res.value - z * res.se))
    assert res.ci_high == pytest.approx(min(1, res.value + z * res.se))


def test_delong_se_agrees_with_bootstrap_se():
    y, s = _data(2000, 4)
    d = S.delong(y, s)
    b = S.bootstrap_auc(np.arange(y.size), y, s, n_boot=2000, seed=5)
    assert b.value == pytest.approx(d.value, abs=1e-14)
    assert abs(b.se / d.se - 1) < 0.15


def test_delong_paired_matches_quadratic_definition():
    rng = np.random.default_rng(6)
    y = (rng.random(60) < 0.5).astype(int)
    a = np.round(rng.normal(size=60) + y, 1)
    b = np.round(rng.normal(size=60) + 0.5 * y, 1)
    a10, a01 = _delong_slow(y, a)
    b10, b01 = _delong_slow(y, b)
    m, n = a10.size, a01.size
    var = np.var(a10 - b10, ddof=1) / m + np.var(a01 - b01, ddof=1) / n
    res = S.delong_paired(y, a, b)
    assert res.diff == pytest.approx(a10.mean() - b10.mean(), abs=1e-14)
    assert res.se == pytest.approx(math.sqrt(var), abs=1e-14)
    assert res.pvalue == pytest.approx(2 * stats.norm.sf(abs(res.diff) / res.se))
    diff, se, lo, hi, p = S.delong_paired(y, a, a)  # unpacks like a tuple
    assert (diff, se, p) == (0.0, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# 4. account-level bootstrap counts
# ---------------------------------------------------------------------------------------------
def _accounts(n_accounts: int, seed: int, sizes=(2, 3)):
    rng = np.random.default_rng(seed)
    size = rng.integers(sizes[0], sizes[1] + 1, n_accounts)
    return np.repeat(np.arange(n_accounts), size), size


def test_cluster_counts_are_multinomial_over_accounts():
    groups, _ = _accounts(50, 7)
    counts, row_group = S.cluster_bootstrap_counts(groups, n_boot=20000, seed=8)
    assert counts.shape == (20000, 50) and counts.dtype == np.int32
    assert (counts.sum(axis=1) == 50).all()  # exactly n_groups accounts per resample
    vals, freq = np.unique(counts, return_counts=True)
    expected = stats.binom.pmf(vals, 50, 1 / 50) * counts.size
    keep = expected > 5
    chi2 = ((freq[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3
    cov = np.cov(counts[:, :10].T)  # multinomial covariance: -1/G off the diagonal
    assert np.abs(cov[~np.eye(10, dtype=bool)].mean() + 1 / 50) < 0.005
    w = S.cluster_bootstrap_weights(groups, n_boot=20000, seed=8)
    assert w.dtype == np.int32 and np.array_equal(w, counts[:, row_group])


def test_cluster_counts_handle_labels_and_tiny_groups():
    counts, rg = S.cluster_bootstrap_counts(np.array(["b", "a", "b"]), n_boot=7, seed=0)
    assert counts.shape == (7, 2) and list(rg) == [1, 0, 1] and (counts.sum(1) == 2).all()
    one, _ = S.cluster_bootstrap_counts(np.zeros(4), n_boot=5, seed=0)
    assert (one == 1).all()
    a, _ = S.cluster_bootstrap_counts(np.arange(30), n_boot=9, seed=3)
    b, _ = S.cluster_bootstrap_counts(np.arange(30), n_boot=9, seed=3)
    assert np.array_equal(a, b)


def test_cell_counts_are_one_product_of_account_counts():
    groups, _ = _accounts(300, 9)
    rng = np.random.default_rng(10)
    n_rows = groups.size
    cells = np.arange(n_rows)  # many distinct profiles: account path, shared stream
    cells[rng.random(n_rows) < 0.1] = -1  # left out
    cc = S.bootstrap_cell_counts(groups, cells, n_rows, n_boot=300, seed=11)
    counts, row_group = S.cluster_bootstrap_counts(groups, n_boot=300, seed=11)
    use = cells >= 0
    account_by_cell = sp.coo_array(
        (np.ones(use.sum()), (row_group[use], cells[use])), shape=(counts.shape[1], n_rows)
    ).toarray()
    assert np.array_equal(cc, counts @ account_by_cell)
    rows_per_account = np.bincount(row_group[use])
    assert np.array_equal(cc.sum(axis=1), counts @ rows_per_account)


def test_cell_counts_totals_are_rows_of_drawn_accounts():
    # cells = (account size, outcome): few profiles, so the profile-multinomial path is used
    groups, size = _accounts(400, 12, sizes=(1, 3))
    rng = np.random.default_rng(13)
    renewed = rng.random(groups.size) < 0.6
    row_size = size[groups]
    cells = (row_size - 1) * 2 + renewed
    cc = S.bootstrap_cell_counts(groups, cells, 6, n_boot=4000, seed=14)
    rows_by_size = cc.reshape(-1, 3, 2).sum(axis=2)  # rows drawn from accounts of size 1, 2, 3
    assert (rows_by_size % np.array([1, 2, 3]) == 0).all()
    accounts_drawn = rows_by_size // np.array([1, 2, 3])
    assert (accounts_drawn.sum(axis=1) == 400).all()  # each resample draws exactly n_groups
    assert np.array_equal(cc.sum(axis=1), rows_by_size.sum(axis=1))
    total = cc.sum(axis=1)
    assert abs(total.mean() - groups.size) < 4 * total.std() / math.sqrt(total.size)
    # per-cell expectation = observed count
    observed = np.bincount(cells, minlength=6)
    se = cc.std(axis=0) / math.sqrt(cc.shape[0])
    assert (np.abs(cc.mean(axis=0) - observed) < 4.5 * se + 1e-9).all()


# ---------------------------------------------------------------------------------------------
# 5. bootstrap spread
# ---------------------------------------------------------------------------------------------
def _book(rng, n_accounts: int, p_band=(0.45, 0.6, 0.75, 0.9), rho: float = 0.5):
    """Accounts with 2-3 rows, sticky bands, within-account correlated outcomes (Gaussian copula).

    Marginally P(renew | band) = p_band exactly, so the true spread is p_band[3] - p_band[1].
    """
    size = rng.integers(2, 4, n_accounts)
    groups = np.repeat(np.arange(n_accounts), size)
    base = rng.choice(4, n_accounts, p=[0.15, 0.3, 0.3, 0.25])[groups]
    move = rng.choice([-1, 0, 1], groups.size, p=[0.1, 0.8, 0.1])
    band = np.clip(base + move, 0, 3)
    z = math.sqrt(rho) * rng.normal(size=n_accounts)[groups] + math.sqrt(1 - rho) * rng.normal(size=groups.size)
    renewed = (stats.norm.cdf(z) < np.asarray(p_band)[band]).astype(int)
    return groups, band, renewed


def test_spread_value_and_interval():
    rng = np.random.default_rng(15)
    groups, band, renewed = _book(rng, 600)
    res = S.bootstrap_spread(groups, band, renewed, top=3, red=1, n_boot=1000, seed=1)
    assert res.value == pytest.approx(renewed[band == 3].mean() - renewed[band == 1].mean())
    assert res.ci_low < res.value < res.ci_high and res.n_boot == 1000 and res.n_dropped == 0
    again = S.bootstrap_spread(groups, band, renewed, top=3, red=1, n_boot=1000, seed=1)
    assert again == res


def test_spread_drops_resamples_with_an_empty_band_and_nan_for_empty_band():
    groups = np.array([0, 0, 1, 2, 3, 4])
    band = np.array([3, 3, 3, 1, 3, 3])  # red band lives in one account of five
    renewed = np.array([1, 1, 0, 0, 1, 1])
    res = S.bootstrap_spread(groups, band, renewed, top=3, red=1, n_boot=4000, seed=2)
    p_missing = (4 / 5) ** 5  # that account not drawn
    assert abs(res.n_dropped / 4000 - p_missing) < 4 * math.sqrt(p_missing * (1 - p_missing) / 4000)
    empty = S.bootstrap_spread(groups, band, renewed, top=3, red=0, n_boot=10, seed=2)
    assert math.isnan(empty.value) and empty.n_dropped == 10


def _spread_with_trend(groups, band, renewed, **kw):
    return S.spread_and_trend(groups, band, renewed, 4, **kw)[0]


@pytest.mark.slow
@pytest.mark.parametrize("spread", [S.bootstrap_spread, _spread_with_trend], ids=["alone", "with-trend"])
def test_account_bootstrap_spread_interval_covers_truth(spread):
    p_band = (0.45, 0.6, 0.75, 0.9)
    truth = p_band[3] - p_band[1]
    rng = np.random.default_rng(2024)
    reps, hits = 1000, 0  # 0.93-0.97 is +-2.9 binomial SEs around 0.95
    for r in range(reps):
        groups, band, renewed = _book(rng, 400, p_band)  # ~1,000 rows
        res = spread(groups, band, renewed, top=3, red=1, n_boot=1000, seed=r)
        hits += res.ci_low <= truth <= res.ci_high
    assert 0.93 <= hits / reps <= 0.97


def test_spread_and_trend_share_one_draw():
    """The trend from the shared draw is clustered_trend's exactly (the same design); the spread is
    bootstrap_spread's value, its interval the same up to Monte-Carlo error (another draw of the same law)."""
    rng = np.random.default_rng(16)
    groups, band, renewed = _book(rng, 3000)
    spread, trend = S.spread_and_trend(groups, band, renewed, 4, top=3, red=1, n_boot=2000, seed=3)
    assert trend == S.clustered_trend(groups, band, renewed, 4, n_boot=2000, seed=3)
    alone = S.bootstrap_spread(groups, band, renewed, top=3, red=1, n_boot=2000, seed=3)
    assert spread.value == alone.value and spread.n_boot == 2000
    half = (alone.ci_high - alone.ci_low) / 2
    assert abs(spread.ci_low - alone.ci_low) < 0.1 * half and abs(spread.ci_high - alone.ci_high) < 0.1 * half
    with pytest.raises(ValueError, match="different bands"):
        S.spread_and_trend(groups, band, renewed, 4, top=2, red=2)


# ---------------------------------------------------------------------------------------------
# 6. bootstrap AUC
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("decimals", [None, 1])
def test_grouped_auc_equals_weighted_auc_per_resample(decimals):
    groups, _ = _accounts(500, 16)
    y, s = _data(groups.size, 17, decimals=decimals)
    counts, row_group = S.cluster_bootstrap_counts(groups, n_boot=40, seed=18)
    got = S.grouped_auc(y, s, row_group, counts)
    ref = [S.auc(y, s, weights=counts[b, row_group]) for b in range(40)]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    ref_sk = [roc_auc_score(y, s, sample_weight=counts[b, row_group]) for b in range(3)]
    np.testing.assert_allclose(got[:3], ref_sk, atol=1e-12)
    frac = np.random.default_rng(19).random((3, counts.shape[1]))
    np.testing.assert_allclose(
        S.grouped_auc(y, s, row_group, frac), [S.auc(y, s, weights=f[row_group]) for f in frac], atol=1e-12
    )


def test_bootstrap_auc_without_resampling_weights_equals_auc():
    groups, _ = _accounts(300, 20)
    for decimals in (None, 0):
        y, s = _data(groups.size, 21, decimals=decimals)
        _, row_group = S.cluster_bootstrap_counts(groups, n_boot=1, seed=0)
        ones = np.ones((1, row_group.max() + 1))
        assert S.grouped_auc(y, s, row_group, ones)[0] == pytest.approx(S.auc(y, s), abs=1e-14)
        res = S.bootstrap_auc(groups, y, s, n_boot=200, seed=1)
        assert res.value == pytest.approx(roc_auc_score(y, s), abs=1e-14)
        assert res.ci_low < res.value < res.ci_high and res.se > 0


def test_bootstrap_auc_uses_the_shared_account_stream():
    groups, _ = _accounts(2000, 22)
    y, s = _data(groups.size, 23)
    res = S.bootstrap_auc(groups, y, s, n_boot=101, seed=24)
    counts, row_group = S.cluster_bootstrap_counts(groups, n_boot=101, seed=24)
    boot = S.grouped_auc(y, s, row_group, counts)
    assert res.se == pytest.approx(boot.std(ddof=1), rel=1e-12)
    assert (res.ci_low, res.ci_high) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])), rel=1e-12)
    assert math.isnan(S.bootstrap_auc(groups, np.ones_like(y), s, n_boot=10, seed=0).value)


def test_bootstrap_auc_discrete_scores_profile_path():
    # single-row accounts and integer scores: few distinct profiles → multinomial over profiles
    y, s = _data(5000, 25, decimals=0)
    res = S.bootstrap_auc(np.arange(y.size), y, s, n_boot=2000, seed=26)
    d = S.delong(y, s)
    assert res.value == pytest.approx(d.value, abs=1e-14)
    assert abs(res.se / d.se - 1) < 0.15


# ---------------------------------------------------------------------------------------------
# 7-8. proportion tests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("alternative", ["larger", "smaller", "two-sided"])
def test_two_proportion_test_matches_statsmodels(alternative):
    z, p = S.two_proportion_test(83, 120, 61, 110, alternative=alternative)
    ref_z, ref_p = proportions_ztest([83, 61], [120, 110], alternative=alternative)
    assert z == pytest.approx(ref_z, abs=1e-12) and p == pytest.approx(ref_p, abs=1e-12)


def test_cochran_armitage_closed_form_and_statsmodels_lbl():
    k = np.array([15, 28, 40, 60])
    n = np.array([50, 60, 65, 80])
    s = np.array([0.0, 1.0, 2.0, 4.0])
    N = n.sum()
    pbar = k.sum() / N
    t = np.sum(s * (k - n * pbar))
    var = pbar * (1 - pbar) * (np.sum(n * s**2) - np.sum(n * s) ** 2 / N)
    z_ca = t / math.sqrt(var)
    z, p = S.cochran_armitage(k, n, scores=s)
    assert z == pytest.approx(z_ca, abs=1e-12) and p == pytest.approx(stats.norm.sf(z_ca))
    lbl = Table(np.column_stack([n - k, k]), shift_zeros=False).test_ordinal_association(
        row_scores=s, col_scores=np.array([0.0, 1.0]))
    assert lbl.zscore == pytest.approx(z_ca * math.sqrt((N - 1) / N), abs=1e-12)  # LBL = CA·√((N−1)/N)
    z2, p2 = S.cochran_armitage(k, n, scores=s, alternative="two-sided")
    assert p2 == pytest.approx(2 * stats.norm.sf(abs(z_ca)))
    zd, pd_ = S.cochran_armitage(k[::-1], n[::-1], alternative="decreasing")
    assert zd < 0 and pd_ < 0.01


# ---------------------------------------------------------------------------------------------
# 9-10. KS, Brier, calibration
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("decimals", [None, 1])
def test_ks_matches_scipy(decimals):
    y, s = _data(1500, 27, decimals=decimals)
    assert S.ks_statistic(y, s) == pytest.approx(stats.ks_2samp(s[y == 1], s[y == 0]).statistic, abs=1e-14)


def _probs(n: int, seed: int, *, a: float = 0.3, b: float = 0.8):
    rng = np.random.default_rng(seed)
    p = np.clip(rng.beta(2, 3, n), 1e-6, 1 - 1e-6)
    lp = np.log(p / (1 - p))
    y = (rng.random(n) < 1 / (1 + np.exp(-(a + b * lp)))).astype(int)
    return y, p


def test_brier_reliability_and_ece_match_sklearn():
    y, p = _probs(3000, 28)
    assert S.brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-15)
    for n_bins in (5, 10):
        curve = S.reliability_curve(y, p, n_bins=n_bins)
        prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="quantile")
        np.testing.assert_allclose(curve.frac_pos, prob_true, atol=1e-14)
        np.testing.assert_allclose(curve.mean_pred, prob_pred, atol=1e-14)
        assert curve.counts.sum() == y.size
        ece = np.sum(curve.counts * np.abs(prob_true - prob_pred)) / y.size
        assert S.expected_calibration_error(y, p, n_bins=n_bins) == pytest.approx(ece, abs=1e-15)


def test_calibration_slope_intercept_match_statsmodels():
    y, p = _probs(4000, 29)
    lp = np.log(p / (1 - p))
    intercept, slope = S.calibration_slope_intercept(y, p)
    logit_fit = Logit(y, add_constant(lp)).fit(disp=0)
    glm_fit = GLM(y, np.ones((y.size, 1)), family=families.Binomial(), offset=lp).fit()
    assert slope == pytest.approx(logit_fit.params[1], abs=1e-8)
    assert intercept == pytest.approx(glm_fit.params[0], abs=1e-8)
    assert 0.6 < slope < 1.0
    assert np.isnan(S.calibration_slope_intercept(np.ones(5), np.full(5, 0.5))).all()


# ---------------------------------------------------------------------------------------------
# 11-12. drift
# ---------------------------------------------------------------------------------------------
def test_psi_hand_computed():
    # (0.2−0.25)·ln(0.2/0.25) + (0.3−0.25)·ln(0.3/0.25) + (0.5−0.5)·ln(1)
    # = 0.05·0.22314355131 + 0.05·0.18232155679 = 0.02027325541
    assert S.psi([0.25, 0.25, 0.5], [0.2, 0.3, 0.5]) == pytest.approx(0.02027325541, abs=1e-11)
    # counts are normalised first: same answer
    assert S.psi([25, 25, 50], [40, 60, 100]) == pytest.approx(0.02027325541, abs=1e-11)
    # empty bin: expected (0.5, 0.5, 0) → floor 1e-4 → renormalise by 1.0001
    #   e = (0.4999500050, 0.4999500050, 0.0000999900); actual (0.4, 0.4, 0.2) is untouched.
    #   2·(0.4 − 0.4999500050)·ln(0.4/0.4999500050) = 2·(−0.0999500050)·(−0.2230435563) = 0.0445864091
    #   (0.2 − 0.0000999900)·ln(0.2/0.0000999900)   = 0.1999000100·7.6010024545         = 1.5194404667
    #   PSI = 1.5640268758
    a = np.array([0.4, 0.4, 0.2])
    assert S.psi([0.5, 0.5, 0.0], a) == pytest.approx(1.5640268758, abs=1e-10)


proportions = st.lists(st.floats(0, 1e3, allow_nan=False), min_size=2, max_size=20).filter(lambda v: sum(v) > 1e-6)


@settings(max_examples=200, deadline=None)
@given(proportions, st.data())
def test_psi_properties(e, data):
    a = data.draw(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=len(e), max_size=len(e))
                  .filter(lambda v: sum(v) > 1e-6))
    assert S.psi(e, e) == 0.0
    assert S.psi(e, a) >= 0.0


@pytest.mark.parametrize("n_edges", [1, 9, 16, 17, 60])
def test_bin_counts_is_the_right_closed_searchsorted_rule(n_edges):
    """Both counting paths (comparisons for few edges, binary search for many) give searchsorted's bins,
    values on an edge falling in the bin it closes."""
    rng = np.random.default_rng(n_edges)
    x = rng.integers(0, 80, 5000).astype(float)  # many ties, many on an edge
    edges = np.sort(rng.choice(np.arange(-2, 82, dtype=float), n_edges, replace=False))
    expected = np.bincount(np.searchsorted(edges, x, side="left"), minlength=n_edges + 1)
    np.testing.assert_array_equal(S.bin_counts(x, edges), expected)
    with pytest.raises(ValueError, match="strictly increasing"):
        S.bin_counts(x, edges[::-1] if n_edges > 1 else [1.0, 1.0])


def test_quantile_edges_and_bin_proportions():
    x = np.arange(1.0, 11.0)
    edges = S.quantile_edges(x, 4)
    np.testing.assert_allclose(edges, [3.25, 5.5, 7.75])
    np.testing.assert_allclose(S.bin_proportions(x, edges), [0.3, 0.2, 0.2, 0.3])
    # right-closed bins, outer bins open: (-inf, 2], (2, inf)
    np.testing.assert_allclose(S.bin_proportions([1.0, 2.0, 3.0, -1e9, 1e9], [2.0]), [0.6, 0.4])
    # heavy ties merge edges
    assert S.quantile_edges(np.r_[np.zeros(90), np.arange(10.0)], 10).size < 9
    p = S.bin_proportions(x, edges)
    assert S.psi(p, S.bin_proportions(x, edges)) == 0.0


def test_psi_noise_quantile_matches_chi_square_approximation():
    # PSI ≈ (1/n_ref + 1/n_new)·χ²(B−1) under H0 (J-divergence ≈ Pearson χ² distance)
    p = np.full(10, 0.1)
    q95 = S.psi_noise_quantile(p, 5000, 5000, q=0.95, n_sim=4000, seed=1)
    approx = (1 / 5000 + 1 / 5000) * stats.chi2.ppf(0.95, 9)
    assert abs(q95 / approx - 1) < 0.1
    assert S.psi_noise_quantile(p, 5000, 500, seed=1) > q95
    assert S.psi_noise_quantile(p, 5000, 5000, q=0.95, n_sim=4000, seed=1) == q95


def test_wasserstein_matches_scipy_and_hand():
    assert S.wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0]) == pytest.approx(5.0)
    rng = np.random.default_rng(30)
    x, y = rng.normal(size=300), rng.normal(0.5, 1, size=200)
    assert S.wasserstein(x, y) == pytest.approx(stats.wasserstein_distance(x, y))


# ---------------------------------------------------------------------------------------------
# 13. lift
# ---------------------------------------------------------------------------------------------
def test_lift_table_hand_example():
    churn = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    score = np.arange(10.0)[::-1][::-1]  # 0..9, riskiest first
    t = S.lift_table(churn, score, n_bins=5)
    np.testing.assert_array_equal(t["count"], [2, 2, 2, 2, 2])
    np.testing.assert_array_equal(t["events"], [2, 1, 0, 0, 0])
    np.testing.assert_allclose(t["event_rate"], [1, 0.5, 0, 0, 0])
    np.testing.assert_allclose(t["gain"], [2 / 3, 1, 1, 1, 1])
    np.testing.assert_allclose(t["lift"], [1 / 0.3, 0.5 / 0.3, 0, 0, 0])
    np.testing.assert_allclose(t["cum_lift"], [1 / 0.3, 0.75 / 0.3, 0.5 / 0.3, 0.375 / 0.3, 1])
    np.testing.assert_array_equal(t["score_min"], [0, 2, 4, 6, 8])
    shuffled = np.random.default_rng(0).permutation(10)
    t2 = S.lift_table(churn[shuffled], score[shuffled], n_bins=5)
    np.testing.assert_array_equal(t2["events"], t["events"])


def test_lift_table_ties_share_a_bin():
    t = S.lift_table(np.array([1, 0, 0, 1, 0, 0]), np.array([1.0, 1.0, 1.0, 1.0, 2.0, 3.0]), n_bins=3)
    assert t["count"].sum() == 6 and t["count"][0] in (0, 4) and t["events"].sum() == 2


# ---------------------------------------------------------------------------------------------
# 14. trend
# ---------------------------------------------------------------------------------------------
def test_logistic_trend_matches_statsmodels_wls():
    values = np.array([0.74, 0.73, 0.735, 0.71, 0.70, 0.705, 0.69, 0.68])
    se = np.array([0.010, 0.012, 0.009, 0.011, 0.010, 0.013, 0.012, 0.011])
    x = add_constant(np.arange(values.size, dtype=float))
    fit = WLS(values, x, weights=1 / se**2).fit()
    slope, s, lo, hi, p = S.logistic_trend(values, se)
    assert slope == pytest.approx(fit.params[1], abs=1e-12)
    assert s == pytest.approx(fit.bse[1], abs=1e-12)
    assert (lo, hi) == pytest.approx(tuple(fit.conf_int(0.05)[1]), abs=1e-12)
    assert p == pytest.approx(fit.pvalues[1], abs=1e-12)
    fixed = WLS(values, x, weights=1 / se**2).fit(cov_type="fixed scale")
    k = S.logistic_trend(values, se, known_scale=True)
    assert k.se == pytest.approx(fixed.bse[1], abs=1e-12)
    assert k.pvalue == pytest.approx(fixed.pvalues[1], abs=1e-12)
    assert (k.ci_low, k.ci_high) == pytest.approx(tuple(fixed.conf_int(0.05)[1]), abs=1e-12)
    assert S.logistic_trend(values, se, alternative="decreasing").pvalue == pytest.approx(p / 2)


def test_clustered_delong_matches_the_account_bootstrap():
    """Snapshots of one account move together: Obuchowski's clustered DeLong SE agrees with the account-level
    bootstrap (the reference), while the row-independent DeLong SE understates it."""
    rng = np.random.default_rng(12)
    n_acc, per = 600, 4
    latent = rng.normal(size=n_acc)
    groups = np.repeat(np.arange(n_acc), per)
    score = latent[groups] + 0.3 * rng.normal(size=n_acc * per)
    churn_prone = rng.random(n_acc) < 1 / (1 + np.exp(-(latent - 1.0)))
    y = np.where(rng.random(n_acc * per) < 0.85, churn_prone[groups], rng.random(n_acc * per) < 0.3).astype(int)
    clustered = S.delong(y, score, groups=groups)
    naive = S.delong(y, score)
    boot = S.bootstrap_auc(groups, y, score, n_boot=2000, seed=3)
    assert clustered.value == pytest.approx(naive.value)
    assert clustered.se == pytest.approx(boot.se, rel=0.15)
    assert naive.se < 0.75 * boot.se
    # one row per group: the clustered form is DeLong's up to I/(I-1) vs 1/(m-1), 1/(n-1)
    single = S.delong(y[::per], score[::per], groups=np.arange(n_acc))
    assert single.se == pytest.approx(S.delong(y[::per], score[::per]).se, rel=0.01)


@pytest.mark.slow
def test_clustered_trend_keeps_its_size_where_rows_are_not_independent():
    """No true trend, 5 snapshots per account that share the account's class and outcome: the row-level
    Cochran–Armitage test rejects far too often; the account-bootstrap variance keeps the 5 % level."""
    rng = np.random.default_rng(21)
    n_acc, per, reps = 150, 5, 300
    groups = np.repeat(np.arange(n_acc), per)
    naive = clustered = 0
    for _ in range(reps):
        cls = np.repeat(rng.integers(0, 4, n_acc), per)
        y = np.repeat((rng.random(n_acc) < 0.8).astype(int), per)
        k = np.bincount(cls, weights=y, minlength=4)
        n = np.bincount(cls, minlength=4)
        naive += S.cochran_armitage(k, n, alternative="increasing").pvalue <= 0.05
        clustered += S.clustered_trend(groups, cls, y, 4, n_boot=500, seed=int(rng.integers(1 << 31))).pvalue <= 0.05
    assert naive / reps > 0.12  # the row-independent test is anti-conservative here
    assert 0.02 <= clustered / reps <= 0.09


def test_clustered_trend_matches_cochran_armitage_with_one_row_per_account():
    rng = np.random.default_rng(4)
    cls = rng.integers(0, 4, 4000)
    y = (rng.random(4000) < 0.6 + 0.08 * cls).astype(int)
    k, n = np.bincount(cls, weights=y, minlength=4), np.bincount(cls, minlength=4)
    ca = S.cochran_armitage(k, n, alternative="increasing")
    boot = S.clustered_trend(np.arange(4000), cls, y, 4, n_boot=4000, seed=1)
    assert boot.z == pytest.approx(ca.z, rel=0.06)


def test_account_codes_number_accounts_in_sorted_label_order_whatever_the_dtype():
    """Integer codes (the O(n) path), strings, pandas strings and categoricals with their own category order all
    number accounts by sorted label, as np.unique does."""
    labels = ["c", "b", "c", "a"]
    expected = np.unique(labels, return_inverse=True)[1]
    for ids in (labels, pd.Series(labels, dtype="string"),
                pd.Series(pd.Categorical(labels, categories=["c", "b", "a"]))):
        codes, n = S.account_codes(ids)
        np.testing.assert_array_equal(codes, expected)
        assert n == 3
    codes, n = S.account_codes(np.array([7, 3, 7, 0]))
    np.testing.assert_array_equal(codes, [2, 1, 2, 0])
    assert n == 3
    assert S.account_codes([])[1] == 0
    with pytest.raises(ValueError, match="missing"):
        S.account_codes(pd.Series(["a", None, "b"]))
