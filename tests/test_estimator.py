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


NO_SIGNAL = ("toy data with no dimension positively associated with the class: every non-negative weight fits to 0, "
             "and a health score with no weights is refused (FitError)")
EXPECTED_FAILED_CHECKS = {
    "check_fit_score_takes_y": NO_SIGNAL,
    "check_estimators_overwrite_params": NO_SIGNAL,
    "check_estimators_fit_returns_self": NO_SIGNAL,
    "check_readonly_memmap_input": NO_SIGNAL,
    "check_sample_weights_list": NO_SIGNAL,
    "check_supervised_y_2d": NO_SIGNAL,
    "check_classifiers_train": "weights are non-negative (a sub-score cannot count against renewal), so blobs "
                               "separated along a negative direction stay below the 0.83 accuracy asked",
    "check_sample_weight_equivalence_on_dense_data": "its data are linearly separable (slope ~17,000 on the 0-1 "
                                                     "scale, allowed here by max_slope=inf): the MLE lies at infinity "
                                                     "and the weighted and repeated fits stop at different points; "
                                                     "test_sample_weight_is_a_weighted_likelihood checks the "
                                                     "equivalence where the optimum exists",
    "check_decision_proba_consistency": "fits on make_blobs values below 0 without the positive_only shift: "
                                        "sub-scores outside 0-100 are refused (ValueError)",
}
"""The deliberate refusals, by check: everything else of scikit-learn's check_estimator passes."""


def test_check_estimator_passes_except_for_deliberate_refusals():
    """scikit-learn's checks feed toy data (about 30 rows, separable classes, small ranges). With the
    events-per-dimension rule and the separation refusal lifted (``min_events_per_dimension=0``,
    ``max_slope=inf``) every check passes but the refusals listed above, and each of those still occurs
    (none is stale). Issue 18 item 4."""
    from sklearn.utils.estimator_checks import check_estimator

    est = HealthScoreClassifier(min_events_per_dimension=0, max_slope=float("inf"))
    results = check_estimator(est, expected_failed_checks=EXPECTED_FAILED_CHECKS, on_fail=None, on_skip=None)
    failed = [(r["check_name"], str(r["exception"])[:160]) for r in results if r["status"] == "failed"]
    assert failed == []
    assert {r["check_name"] for r in results if r["status"] == "xfail"} == set(EXPECTED_FAILED_CHECKS)
    assert sum(r["status"] == "passed" for r in results) >= 50


def test_inputs_outside_0_100_are_refused_as_the_positive_only_tag_declares():
    X = np.random.default_rng(0).uniform(0, 100, (400, 2))
    y = np.arange(400) % 2
    with pytest.raises(ValueError, match="Negative values in data passed to HealthScoreClassifier.fit"):
        HealthScoreClassifier().fit(X - 50, y)
    with pytest.raises(ValueError, match="Values above 100 in data passed to HealthScoreClassifier.fit"):
        HealthScoreClassifier().fit(X + 50, y)
    assert HealthScoreClassifier().__sklearn_tags__().input_tags.positive_only


def test_sample_weight_is_a_weighted_likelihood(sample):
    """Row weights: integer weights equal repeated rows, and ARR weights give the weighted logistic MLE
    (statsmodels GLM with freq_weights; all true weights positive, so the simplex optimum is interior)."""
    import statsmodels.api as sm

    book, X, y = sample
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 4, len(y))
    weighted = HealthScoreClassifier().fit(X, y, sample_weight=counts)
    repeated = HealthScoreClassifier().fit(X.loc[X.index.repeat(counts)], np.repeat(y, counts))
    assert weighted.weights_ == pytest.approx(repeated.weights_, abs=1e-6)
    arr = book["arr"].to_numpy()
    est = HealthScoreClassifier().fit(X, y, sample_weight=arr)
    glm = sm.GLM(y, sm.add_constant(X.to_numpy() / 100.0), family=sm.families.Binomial(), freq_weights=arr).fit()
    coef = np.asarray(glm.params)[1:]
    assert (coef > 0).all()
    assert est.weights_ == pytest.approx(dict(zip(DIMS, coef / coef.sum())), abs=1e-5)
    assert est.slope_ == pytest.approx(coef.sum() / 100.0, rel=1e-5)
    ref = fit_weights(load_accounts(book), weight_by="arr")
    assert ref.weights == pytest.approx(est.weights_, abs=1e-9) and ref.options["weight_by"] == "arr"
    with pytest.raises(ValueError, match="only one class has a positive sample_weight"):
        HealthScoreClassifier().fit(X, y, sample_weight=(y == 1).astype(float))
    with pytest.raises(FitError, match="row weights .* apply to method='simplex' only"):
        HealthScoreClassifier(method="logit").fit(X, y, sample_weight=arr)
