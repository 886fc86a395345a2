"""Simplex-constrained maximum likelihood, checked against statsmodels and known truth."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from calibrate import FitError, fit_weights, load_accounts
from conftest import DIMS, TRUE_W, logistic_book


def test_interior_optimum_equals_normalised_statsmodels_logit():
    book = logistic_book(20_000, seed=11)
    fit = fit_weights(load_accounts(book))
    x = sm.add_constant(book[list(DIMS)].to_numpy() / 100.0)
    ref = sm.Logit(book["renewed"].to_numpy(), x).fit(disp=0, tol=1e-12)
    coef = ref.params[1:]
    assert (coef > 0).all()  # the unconstrained optimum is inside the simplex
    for name, c in zip(DIMS, coef / coef.sum()):
        assert fit.weights[name] == pytest.approx(c, abs=1e-4)
    assert fit.slope * 100 == pytest.approx(coef.sum(), rel=1e-4)
    assert fit.intercept == pytest.approx(ref.params[0], abs=1e-3)
    assert fit.log_likelihood == pytest.approx(ref.llf, abs=1e-6)
    assert sum(fit.weights.values()) == pytest.approx(1.0, abs=1e-12)


def test_zero_true_weight_lands_on_the_boundary_unlike_clipping():
    truth = {"usage": 0.6, "engagement": 0.4, "support": 0.0, "commercial": 0.0}
    book = logistic_book(30_000, seed=3, weights=truth)
    fit = fit_weights(load_accounts(book))
    assert fit.weights["usage"] == pytest.approx(0.6, abs=0.03)
    assert fit.weights["engagement"] == pytest.approx(0.4, abs=0.03)
    assert min(fit.weights.values()) >= 0.0
    # KKT: at the optimum no zero-weight dimension can improve the likelihood
    assert fit.weights["support"] < 0.03 and fit.weights["commercial"] < 0.03


def test_recovers_the_true_weights_on_a_known_model():
    fit = fit_weights(load_accounts(logistic_book(50_000, seed=5)))
    for name, w in TRUE_W.items():
        assert fit.weights[name] == pytest.approx(w, abs=0.03)


def test_fit_is_deterministic_and_row_order_free():
    book = logistic_book(5_000, seed=9)
    a = fit_weights(load_accounts(book))
    b = fit_weights(load_accounts(book.sample(frac=1, random_state=4)))
    for name in DIMS:
        assert a.weights[name] == pytest.approx(b.weights[name], abs=1e-7)
    assert fit_weights(load_accounts(book)).weights == a.weights


def test_constant_dimension_is_refused():
    book = logistic_book(3_000, seed=1).assign(support=55.0)
    with pytest.raises(FitError, match=r"dimension\(s\) \['support'\] are constant in the training data"):
        fit_weights(load_accounts(book))


def test_perfect_separation_is_refused():
    book = logistic_book(3_000, seed=2)
    book["renewed"] = (book["usage"] > 60).astype(int)
    with pytest.raises(FitError, match=r"perfectly separated by the score; check for leakage"):
        fit_weights(load_accounts(book))


def test_train_until_uses_earlier_snapshots_only():
    book = logistic_book(2_000, seed=4, snapshots=4)
    fit = fit_weights(load_accounts(book), train_until="2025-04-30")
    assert fit.n == 4_000
    with pytest.raises(FitError, match="--train-until needs a snapshot_date column"):
        fit_weights(load_accounts(book.drop(columns=["snapshot_date", "renewal_date"])), train_until="2025-01-01")


def test_unknown_method_message():
    with pytest.raises(FitError, match=r"The 'method' parameter must be one of \{'simplex', 'logit'\}. Got 'magic' instead."):
        fit_weights(load_accounts(logistic_book(500, seed=1)), method="magic")
