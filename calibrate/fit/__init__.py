"""Fitting: weights on the simplex (constrained MLE), the logistic regression with inference, bootstrap intervals, cut-points, folds, learned sub-score transforms, the scikit-learn estimator, and the fit on an engine (DuckDB, Spark).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "weights": ["FitResult", "fit_weights"],
        "logit": ["LogitResult", "fit_logit"],
        "bootstrap": ["WeightIntervals", "bootstrap_weights"],
        "bands": ["tune_bands", "band_separation"],
        "folds": ["Fold", "grouped_folds", "out_of_time_split", "validation_folds"],
        "estimator": ["HealthScoreClassifier"],
        "simplex": ["simplex_mle", "solve_simplex"],
        "heldout": ["isotonic_calibration"],
        "draft": ["build_config"],
        "learned": ["LearnOptions", "fit_learned", "cross_fit", "points_table"],
        "engine": ["fit_engine", "bootstrap_engine"],
        "joint": ["JointOptions", "cross_fit_joint"],
    },
)
