"""The logit path: statsmodels' table, the coefficient → weight mapping, flags and on_negative."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from calibrate import FitError, fit_weights, load_accounts
from calibrate.fit.logit import C_GRID, fit_logit
from conftest import DIMS, logistic_book

# commercial points the wrong way (the seeds' "loud accounts": more of it, more churn); support is null
WRONG_WAY = {"usage": 0.5, "engagement": 0.35, "support": 0.0, "commercial": -0.25}


@pytest.fixture(scope="module")
def book():
    return logistic_book(8000, seed=5, weights=WRONG_WAY, intercept=-1.0)


@pytest.fixture(scope="module")
def reference(book):
    x = sm.add_constant(book[list(DIMS)].to_numpy(dtype=float))
    return sm.Logit(book["renewed"].to_numpy(), x).fit(disp=0)


def test_table_is_statsmodels_logit(book, reference):
    res = fit_logit(load_accounts(book))
    t = res.table
    assert res.cov_type == "nonrobust"
    np.testing.assert_allclose(t["coef"], reference.params[1:], rtol=1e-8)
    np.testing.assert_allclose(t["se"], reference.bse[1:], rtol=1e-8)
    np.testing.assert_allclose(t["p_value"], reference.pvalues[1:], rtol=1e-6, atol=1e-300)
    ci = reference.conf_int(alpha=0.05)
    np.testing.assert_allclose(t[["ci_low", "ci_high"]].to_numpy(), ci[1:], rtol=1e-8)
    np.testing.assert_allclose(t["odds_ratio_10"], np.exp(10 * reference.params[1:]), rtol=1e-8)
    assert res.intercept == pytest.approx(reference.params[0], rel=1e-8)


def test_repeated_snapshots_get_account_clustered_errors():
    book = logistic_book(2000, seed=6, snapshots=3)
    res = fit_logit(load_accounts(book))
    x = sm.add_constant(book[list(DIMS)].to_numpy(dtype=float))
    groups = pd.factorize(book["account_id"])[0]
    ref = sm.Logit(book["renewed"].to_numpy(), x).fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    assert res.cov_type == "cluster"
    np.testing.assert_allclose(res.table["se"], ref.bse[1:], rtol=1e-8)


def test_negative_and_null_dimensions_are_flagged_by_name(book, reference):
    res = fit_logit(load_accounts(book), alpha=0.05)
    assert set(res.flags) == {"support", "commercial"}
    assert res.flags["commercial"].startswith("negative coefficient (odds ratio 0.")
    assert "points the wrong way" in res.flags["commercial"]
    assert res.flags["support"].startswith("not significant (p = ")
    assert reference.pvalues[3] > 0.05 and reference.params[4] < 0
    text = res.summary()
    assert "commercial: negative coefficient" in text and "on_negative='drop'" in text
    assert res.fit.options["flagged"] == ["commercial", "support"]


@pytest.mark.parametrize("on_negative", ["drop", "invert", "floor"])
def test_each_on_negative_choice(book, reference, on_negative):
    res = fit_logit(load_accounts(book), on_negative=on_negative, floor=0.05)
    c = dict(zip(DIMS, reference.params[1:]))
    w = res.weights
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-12)
    assert res.fit.options["on_negative"] == on_negative and f"on_negative={on_negative!r}" in res.summary()
    positive = [d for d in DIMS if c[d] > 0]
    if on_negative == "drop":
        assert w["commercial"] == 0.0 and res.directions["commercial"] == "higher_is_healthier"
        total = sum(c[d] for d in positive)
        for d in positive:
            assert w[d] == pytest.approx(c[d] / total, rel=1e-9)
        assert "dropped (weight 0)" in res.flags["commercial"]
    elif on_negative == "invert":
        assert res.directions["commercial"] == "lower_is_healthier"
        total = sum(abs(v) for v in c.values())  # every negative one is inverted, so all count
        assert w["commercial"] == pytest.approx(abs(c["commercial"]) / total, rel=1e-9)
        assert "inverted to lower_is_healthier" in res.flags["commercial"]
    else:
        assert w["commercial"] == 0.05
        total = sum(c[d] for d in positive)
        for d in positive:
            assert w[d] == pytest.approx(0.95 * c[d] / total, rel=1e-9)
    # the link is refitted on the composite score those weights define
    xo = book[list(DIMS)].to_numpy(dtype=float, copy=True)
    if on_negative == "invert":
        xo[:, 3] = 100 - xo[:, 3]
    score = xo @ np.array([w[d] for d in DIMS])
    link = sm.Logit(book["renewed"].to_numpy(), sm.add_constant(score)).fit(disp=0)
    assert res.fit.intercept == pytest.approx(link.params[0], rel=1e-8)
    assert res.fit.slope == pytest.approx(link.params[1], rel=1e-8)
    json.dumps(res.to_dict())


def test_invert_recovers_the_wrong_way_dimension_better_than_drop(book):
    data = load_accounts(book)
    drop = fit_weights(data, method="logit", on_negative="drop")
    invert = fit_weights(data, method="logit", on_negative="invert")
    assert invert.log_likelihood > drop.log_likelihood
    assert invert.directions["commercial"] == "lower_is_healthier"


def test_simplex_weights_equal_normalised_logit_weights_when_interior():
    book = logistic_book(20_000, seed=11)
    data = load_accounts(book)
    simplex, logit = fit_weights(data), fit_logit(data)
    assert not logit.flags
    for d in DIMS:
        assert simplex.weights[d] == pytest.approx(logit.weights[d], abs=1e-4)


def test_l2_penalty_strength_by_grouped_cv_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    book = logistic_book(1500, seed=43, snapshots=2, weights=WRONG_WAY, intercept=-1.0)
    res = fit_logit(load_accounts(book), penalty="l2", seed=2)
    assert res.C in C_GRID and set(res.cv_log_loss) == {f"{c:g}" for c in C_GRID}
    assert res.cv_log_loss[f"{res.C:g}"] == min(res.cv_log_loss.values())
    x = book[list(DIMS)].to_numpy(dtype=float)
    z = (x - x.mean(0)) / x.std(0)
    ref = LogisticRegression(C=res.C, l1_ratio=0.0, max_iter=5000, tol=1e-8).fit(z, book["renewed"])
    np.testing.assert_allclose(res.table["coef_penalised"], ref.coef_[0] / x.std(0), rtol=1e-4)
    assert "l2 penalty" in res.summary()


def test_l1_penalty_can_zero_a_dimension():
    book = logistic_book(1500, seed=47, weights={"usage": 0.6, "engagement": 0.4, "support": 0.0, "commercial": 0.0})
    res = fit_logit(load_accounts(book), penalty="l1", seed=0)
    zeroed = [d for d in DIMS if res.table.loc[d, "coef_penalised"] == 0]
    for d in zeroed:
        assert res.weights[d] == 0 and "shrunk to exactly 0" in res.flags[d]
    assert res.weights["usage"] > res.weights["support"]


def test_refusals():
    bad = logistic_book(3000, seed=3, weights={d: -0.25 for d in DIMS}, intercept=3.0)
    with pytest.raises(FitError, match=r"every coefficient is <= 0\); .* or use on_negative='invert'"):
        fit_logit(load_accounts(bad))
    with pytest.raises(FitError, match=r"on_negative='floor' needs a floor weight in \(0, 1\), e.g. --floor 0.05"):
        fit_logit(load_accounts(bad), on_negative="floor")
    with pytest.raises(ValueError, match=r"^The 'on_negative' parameter of fit_logit must be one of "
                                         r"\{'drop', 'invert', 'floor'\}\. Got 'zero' instead\.$"):
        fit_logit(load_accounts(bad), on_negative="zero")
    with pytest.raises(FitError, match="cap, fixed and stability apply to method='simplex' only"):
        fit_weights(load_accounts(bad), method="logit", cap=0.5)
    sep = logistic_book(3000, seed=2)
    sep["renewed"] = (sep["usage"] > 60).astype(int)
    with pytest.raises(FitError, match="perfectly separated"):
        fit_logit(load_accounts(sep))
