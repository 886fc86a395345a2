"""HealthScoreClassifier: the same fit, usable by scikit-learn's model selection tools."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from calibrate import FitError, fit_weights, load_accounts
from calibrate.fit.estimator import HealthScoreClassifier
from calibrate.errors import CalibrateError
from conftest import DIMS, logistic_book


@pytest.fixture(scope="module")
def sample():
    book = logistic_book(3000, seed=13, snapshots=2)
    return book, book[list(DIMS)], book["renewed"].to_numpy()


def test_fit_matches_fit_weights_and_predicts_the_link(sample):
    book, X, y = sample
    est = HealthScoreClassifier(floor=0.05).fit(X, y, groups=book["account_id"])
    ref = fit_weights(load_accounts(book), floor=0.05)
    assert est.weights_ == pytest.approx(ref.weights, abs=1e-9)
    assert list(est.classes_) == [0, 1] and list(est.feature_names_in_) == list(DIMS)
    score = X.to_numpy() @ np.array([ref.weights[d] for d in DIMS])
    p = 1 / (1 + np.exp(-(ref.intercept + ref.slope * score)))
    proba = est.predict_proba(X)
    assert proba[:, 1] == pytest.approx(p, rel=1e-9) and proba.sum(axis=1) == pytest.approx(1.0)
    assert est.decision_function(X) == pytest.approx(ref.intercept + ref.slope * score)
    assert (est.predict(X) == (p > 0.5)).all()
    assert est.fit_.n_accounts == 3000


def test_cross_val_score_with_account_groups(sample):
    book, X, y = sample
    scores = cross_val_score(HealthScoreClassifier(), X, y, groups=book["account_id"], cv=GroupKFold(4),
                             scoring="roc_auc")
    # reference: the same folds fitted by hand and scored by sklearn's roc_auc_score
    ref = []
    for tr, te in GroupKFold(4).split(X, y, book["account_id"]):
        est = HealthScoreClassifier().fit(X.iloc[tr], y[tr])
        ref.append(roc_auc_score(y[te], est.predict_proba(X.iloc[te])[:, 1]))
    assert scores == pytest.approx(ref, abs=1e-12)
    assert 0.6 < scores.mean() < 0.9


def test_pipeline_and_grid_search(sample):
    _, X, y = sample
    pipe = Pipeline([("clip", FunctionTransformer(lambda d: d.clip(0, 100), feature_names_out="one-to-one")),
                     ("score", HealthScoreClassifier())])
    grid = GridSearchCV(pipe, {"score__floor": [None, 0.2, 0.24], "score__method": ["simplex", "logit"]},
                        cv=3, scoring="neg_log_loss").fit(X, y)
    assert set(grid.cv_results_["param_score__floor"]) == {None, 0.2, 0.24}
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    best = grid.best_estimator_[-1]
    assert best.weights_ and sum(best.weights_.values()) == pytest.approx(1.0)
    assert grid.best_params_["score__floor"] in (None, 0.2)  # 0.24 binds three true weights (0.15-0.25)


def test_params_round_trip_and_clone():
    est = HealthScoreClassifier(method="logit", on_negative="invert", alpha=0.01)
    assert est.get_params()["on_negative"] == "invert"
    est.set_params(alpha=0.1, floor=0.05)
    c = clone(est)
    assert c.get_params() == est.get_params() and c is not est


def test_refusals_are_fit_errors():
    X = np.random.default_rng(0).uniform(0, 100, (50, 3))
    y = (np.arange(50) % 2)
    with pytest.raises(FitError, match="too few churn events to fit 3 weights"):
        HealthScoreClassifier().fit(X, y)
    with pytest.raises(ValueError, match="needs exactly 2 classes"):
        HealthScoreClassifier().fit(X, np.arange(50) % 3)


def test_check_estimator_fails_only_on_deliberate_refusals():
    """sklearn's check_estimator feeds toy data (≈ 30 rows, separable classes, multiclass targets).

    calibrate refuses to fit those on purpose (fewer than 10 events per dimension, perfect
    separation, binary outcome only). Every other check must pass.
    """
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(HealthScoreClassifier(), on_fail=None)
    deliberate = ("too few", "perfectly separated", "needs exactly 2 classes")
    unexpected = [(r["check_name"], str(r["exception"])[:120]) for r in results
                  if r["status"] == "failed" and not isinstance(r["exception"], CalibrateError)
                  and not any(m in str(r["exception"]) for m in deliberate)]
    passed = sum(r["status"] == "passed" for r in results)
    assert passed >= 25
    assert unexpected == [], unexpected
