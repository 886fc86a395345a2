"""The m-out-of-n account bootstrap of the weights (``bootstrap_weights(accounts_per_resample=m)``)
against the full bootstrap, the delta method (statsmodels) and the known truth of a synthetic book."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from conftest import DIMS, TRUE_W, logistic_book

from calibrate.fit.bootstrap import bootstrap_weights
from calibrate.data.load import load_accounts

TRUTH = np.array([TRUE_W[d] for d in DIMS])


def _widths(iv) -> np.ndarray:
    return np.array([iv.high[d] - iv.low[d] for d in DIMS])


def _delta_se(book) -> np.ndarray:
    """Delta-method SE of w = c / Σc from statsmodels' Logit covariance (one row per account)."""
    x = sm.add_constant(book[list(DIMS)].to_numpy() / 100.0)
    ref = sm.Logit(book["renewed"].to_numpy(), x).fit(disp=0)
    c, cov = ref.params[1:], ref.cov_params()[1:, 1:]
    s = c.sum()
    jac = (np.eye(len(DIMS)) * s - c[:, None]) / s**2
    return np.sqrt(np.diag(jac @ cov @ jac.T))


def test_m_out_of_n_intervals_agree_with_the_full_bootstrap():
    """10,000 accounts × 2 snapshots; m = 1,000 accounts per resample: widths within 20 %."""
    data = load_accounts(logistic_book(10_000, seed=43, snapshots=2))
    full = bootstrap_weights(data, n_boot=200, seed=5)
    small = bootstrap_weights(data, n_boot=200, seed=5, accounts_per_resample=1000)
    assert _widths(small) == pytest.approx(_widths(full), rel=0.2)
    assert small.draws.std(axis=0, ddof=1) == pytest.approx(full.draws.std(axis=0, ddof=1), rel=0.2)
    assert small.weights == full.weights  # the point estimate is the full fit either way
    assert np.allclose(small.draws.sum(axis=1), 1.0) and (small.draws >= 0).all()  # still on the simplex
    assert small.accounts_per_resample == 1000 and "m-out-of-n" in small.to_dict()["method"]
    assert "Bickel" in small.summary()
    for d in DIMS:
        assert small.low[d] < small.weights[d] < small.high[d]


@pytest.mark.slow
def test_m_out_of_n_covers_the_truth_with_delta_method_widths():
    """20 books of known truth (2,000 accounts, m = 400): the 95 % intervals cover the true weights
    about 95 % of the time, and are about as wide as the delta method's normal intervals."""
    covered, ratios = [], []
    for rep in range(20):
        book = logistic_book(2000, seed=1000 + rep)
        iv = bootstrap_weights(load_accounts(book), n_boot=100, seed=rep, accounts_per_resample=400)
        lo = np.array([iv.low[d] for d in DIMS])
        hi = np.array([iv.high[d] for d in DIMS])
        covered.append((lo <= TRUTH) & (TRUTH <= hi))
        ratios.append(_widths(iv) / (2 * 1.959964 * _delta_se(book)))
    coverage = np.mean(covered)
    assert 0.85 <= coverage  # 80 intervals: 95 % nominal, binomial sd 2.4 points
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.15)


def test_all_accounts_per_resample_is_the_ordinary_bootstrap():
    data = load_accounts(logistic_book(1500, seed=31))
    plain = bootstrap_weights(data, n_boot=20, seed=3)
    same = bootstrap_weights(data, n_boot=20, seed=3, accounts_per_resample=5000)
    assert (plain.draws == same.draws).all() and same.accounts_per_resample is None
    assert plain.to_dict()["method"] == "percentile bootstrap over accounts"
    with pytest.raises(ValueError, match=r"^The 'accounts_per_resample' parameter of bootstrap_weights must be an int "
                                         r"in the range \[2, inf\) or None\. Got 1 instead\.$"):
        bootstrap_weights(data, n_boot=20, accounts_per_resample=1)


def test_rows_of_drawn_accounts_match_the_mask_over_all_rows():
    from calibrate.fit.bootstrap import _AccountRows

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 500, 3000)
    rows_of = _AccountRows(codes, 500)
    for _ in range(20):
        counts = np.bincount(rng.integers(0, 500, 100), minlength=500)
        assert (rows_of(np.flatnonzero(counts)) == np.flatnonzero(counts[codes] > 0)).all()


# --- one Newton step per resample (resample_fit="newton"; the default from NEWTON_ACCOUNTS accounts) ----------

def test_newton_step_draws_match_the_refits_on_the_same_accounts():
    """Same seed ⇒ same accounts: each resample's one-step weights track its refit (correlation > 0.99,
    bounds within a fifth of a bootstrap SE — below the Monte-Carlo error of a 200-resample percentile)."""
    data = load_accounts(logistic_book(6000, seed=47, snapshots=2))
    refit = bootstrap_weights(data, n_boot=200, seed=2, resample_fit="refit")
    step = bootstrap_weights(data, n_boot=200, seed=2, resample_fit="newton")
    se = refit.draws.std(axis=0, ddof=1)
    for j, d in enumerate(DIMS):
        assert np.corrcoef(refit.draws[:, j], step.draws[:, j])[0, 1] > 0.99
        assert abs(step.low[d] - refit.low[d]) < 0.2 * se[j] and abs(step.high[d] - refit.high[d]) < 0.2 * se[j]
    assert step.weights == refit.weights and np.allclose(step.draws.sum(axis=1), 1.0)
    assert step.resample_fit == "newton" and "one Newton step" in step.to_dict()["method"]
    assert refit.resample_fit == "refit" and step.to_dict()["resample_fit"] == "newton"


def test_newton_step_is_the_default_from_newton_accounts_and_keeps_a_zero_weight_on_the_bound():
    """Above the threshold "auto" takes the step; a dimension with no effect stays on the simplex (v ≥ 0
    holds through the box QP), as the refits keep it there."""
    from calibrate.fit.bootstrap import NEWTON_ACCOUNTS

    weights = {"usage": 0.5, "engagement": 0.3, "support": 0.2, "commercial": 0.0}
    data = load_accounts(logistic_book(NEWTON_ACCOUNTS, seed=53, weights=weights))
    auto = bootstrap_weights(data, n_boot=100, seed=4)
    refit = bootstrap_weights(data, n_boot=100, seed=4, resample_fit="refit")
    assert auto.resample_fit == "newton" and (auto.draws >= 0).all() and np.allclose(auto.draws.sum(axis=1), 1.0)
    assert auto.low["commercial"] == refit.low["commercial"] == 0.0
    assert auto.high["commercial"] == pytest.approx(refit.high["commercial"], abs=0.01)
    small = bootstrap_weights(load_accounts(logistic_book(NEWTON_ACCOUNTS - 1, seed=53)), n_boot=5, seed=4)
    assert small.resample_fit == "refit"


def test_newton_step_with_bounds_is_refused():
    from calibrate.errors import FitError

    data = load_accounts(logistic_book(1500, seed=31))
    with pytest.raises(FitError, match=r"^resample_fit='newton' needs the plain simplex \(no floor, cap or fixed "
                                       r"weight\); use resample_fit='refit'$"):
        bootstrap_weights(data, n_boot=5, floor=0.05, resample_fit="newton")
    assert bootstrap_weights(data, n_boot=5, floor=0.05).resample_fit == "refit"


@pytest.mark.slow
def test_newton_step_covers_the_truth_with_nominal_coverage():
    """50 books of known truth (12,000 accounts): the 95 % one-step intervals cover the true weights in
    92–98 % of the 200 intervals (binomial sd 1.5 points), and every dimension in at least 86 % of its 50."""
    covered = []
    for rep in range(50):
        iv = bootstrap_weights(load_accounts(logistic_book(12_000, seed=2000 + rep)), n_boot=200, seed=rep)
        assert iv.resample_fit == "newton"
        covered.append([iv.low[d] <= TRUE_W[d] <= iv.high[d] for d in DIMS])
    per_dim = np.mean(covered, axis=0)
    assert 0.92 <= np.mean(covered) <= 0.98 and (per_dim >= 0.86).all(), per_dim
