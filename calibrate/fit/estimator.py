"""A scikit-learn classifier around the same fitting code, for cross-validation, pipelines and grid search.

This module imports scikit-learn at import time; ``calibrate.HealthScoreClassifier`` loads it lazily.

``HealthScoreClassifier`` fits with :func:`calibrate.fit.weights.fit_arrays` (the code behind
:func:`calibrate.fit_weights`) and predicts the renewal probability of the composite score.
``X`` holds the sub-scores on 0–100 (a DataFrame's column names become the dimension names);
``y`` is 1 for renewed. Pass ``groups`` (account ids) to ``fit`` for account-level statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from calibrate._params import check_params
from calibrate.config.direction import HIGHER, healthy
from calibrate.fit.result import FIT_PARAMS
from calibrate.fit.weights import fit_arrays
from calibrate.score.scorer import weighted_score

__all__ = ["HealthScoreClassifier"]


class HealthScoreClassifier(ClassifierMixin, BaseEstimator):
    """Health score weights as a scikit-learn binary classifier (1 = renewed).

    Parameters
    ----------
    method : {"simplex", "logit"}, default "simplex"
    floor, cap : float or dict, optional
        Weight bounds (simplex); with ``method="logit"``, ``floor`` is the ``on_negative="floor"`` weight.
    fixed : dict, optional
        Weights the fit keeps (simplex).
    current : dict, optional
        Current weights, target of the ``stability`` penalty.
    stability : float or "auto", default 0.0
    on_negative : {"drop", "invert", "floor"}, default "drop"
    alpha : float, default 0.05
    penalty : {None, "l1", "l2"}
    seed : int, default 0

    Attributes
    ----------
    classes_ : ndarray ``[0, 1]``
    weights_ : dict
        Dimension → weight.
    intercept_, slope_ : float
        ``P(renew) = sigmoid(intercept_ + slope_ · score)``.
    fit_ : FitResult
    feature_names_in_ : ndarray (when ``X`` is a DataFrame)
    n_features_in_ : int
    """

    def __init__(
        self,
        method: str = "simplex",
        floor: Any = None,
        cap: Any = None,
        fixed: Any = None,
        current: Any = None,
        stability: Any = 0.0,
        on_negative: str = "drop",
        alpha: float = 0.05,
        penalty: str | None = None,
        seed: int = 0,
    ) -> None:
        self.method = method
        self.floor = floor
        self.cap = cap
        self.fixed = fixed
        self.current = current
        self.stability = stability
        self.on_negative = on_negative
        self.alpha = alpha
        self.penalty = penalty
        self.seed = seed

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # churned / renewed only
        tags.input_tags.positive_only = True  # sub-scores on 0-100
        return tags

    def _names(self) -> tuple[str, ...]:
        if hasattr(self, "feature_names_in_"):
            return tuple(str(c) for c in self.feature_names_in_)
        return tuple(f"x{j}" for j in range(self.n_features_in_))

    def fit(self, X: Any, y: Any, groups: Any = None) -> HealthScoreClassifier:
        """Fit the weights; ``groups`` are account ids (for clustered errors and grouped CV)."""
        from sklearn.utils.multiclass import (
            check_classification_targets,
            type_of_target,
        )
        from sklearn.utils.validation import validate_data

        check_params(type(self).__name__, self.get_params(deep=False), FIT_PARAMS)
        X, y = validate_data(self, X, y, dtype=float)
        check_classification_targets(y)
        kind = type_of_target(y, input_name="y", raise_unknown=True)
        if kind != "binary":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {kind}; "
                "HealthScoreClassifier needs exactly 2 classes (churned, renewed)."
            )
        self.classes_, y01 = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y has only one class ({self.classes_[0]!r}); the fit needs churned and renewed rows")
        self.fit_ = fit_arrays(
            X, y01.astype(float), self._names(), method=self.method, groups=groups, floor=self.floor, cap=self.cap,
            fixed=self.fixed, current=self.current, stability=self.stability, on_negative=self.on_negative,
            alpha=self.alpha, penalty=self.penalty, seed=self.seed,
        )
        self.weights_ = dict(self.fit_.weights)
        self.intercept_ = self.fit_.intercept
        self.slope_ = self.fit_.slope
        return self

    def score_values(self, X: Any) -> np.ndarray:
        """The 0–100 health score of each row (inverted dimensions count 100 − s)."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        X = validate_data(self, X, dtype=float, reset=False)
        names = self._names()
        w = np.array([self.weights_[n] for n in names])
        return weighted_score(healthy(X, [self.fit_.directions.get(n, HIGHER) for n in names]), w, columns=names)[0]

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of renewal: ``intercept_ + slope_ · score``."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self.intercept_ + self.slope_ * self.score_values(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Columns ``[P(classes_[0]), P(classes_[1])]`` (churned, renewed)."""
        from scipy.special import expit

        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The more likely class."""
        d = self.decision_function(X)
        return self.classes_[(d > 0).astype(int)]
