"""The leaderboard rows that make the comparison with learned sub-scores honest (issue 14).

Per fold, on the same training and held-out rows as :func:`calibrate.compare.methods.leaderboard`:

* ``logit_free`` — an unconstrained logistic regression on the same sub-scores (scikit-learn, ``C=inf``: no penalty):
  any sign, any scale — what the simplex gives up by keeping weights that sum to 1;
* ``learned`` — the simplex fit on *learned* sub-scores, cross-fitted inside the fold: the dimensions' joint binned
  points (:func:`calibrate.fit.joint.cross_fit_joint`) learnt on the fold's training rows only, the weights fitted
  on their out-of-fold sub-scores, the held-out rows scored by the transforms refitted on all the fold's training
  rows; a dimension that learns flat gets no weight. Its held-out AUC is honest (the held-out rows saw neither step);
* ``additive`` — the additive ceiling: scikit-learn ``HistGradientBoostingClassifier`` with
  ``interaction_cst="no_interactions"``, a sum of one free shape per dimension: the best any health score
  (a sum of sub-scores) can do on these dimensions, beside the full ceiling's interactions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from calibrate.data.load import Accounts
from calibrate.data.transforms import apply_transform
from calibrate.fit import heldout as _heldout
from calibrate._labels import METHOD_LABELS
from calibrate.fit.joint import JointSignal, cross_fit_joint
from calibrate.fit.weights import fit_weights

__all__ = ["ADDITIVE_METHODS", "additive_rows"]

ADDITIVE_METHODS: dict[str, str] = {m: METHOD_LABELS[m] for m in ("logit_free", "learned", "additive")}
"""Method → leaderboard label, in row order (the words live in :data:`calibrate._labels.METHOD_LABELS`)."""


def additive_rows(train: Accounts, test: Accounts, names: tuple[str, ...], *, seed: int = 0) -> dict[str, Any]:
    """Each extra method's held-out ``(probability, ranked value)`` on one fold (module docstring)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    y = train.frame["renewed"].to_numpy(dtype=int)
    x_tr = train.frame[list(names)].to_numpy(dtype=float)
    x_te = test.frame[list(names)].to_numpy(dtype=float)
    free = LogisticRegression(C=np.inf, max_iter=1000).fit(x_tr / 100.0, y).predict_proba(x_te / 100.0)[:, 1]
    with threadpool_limits(1, user_api="openmp"):  # as the full ceiling: OpenMP spin-waits on shared machines
        additive = HistGradientBoostingClassifier(interaction_cst="no_interactions", random_state=seed)
        p_add = additive.fit(x_tr, y).predict_proba(x_te)[:, 1]
    learned = cross_fit_joint({d: JointSignal(x_tr[:, j], column=d) for j, d in enumerate(names)}, y.astype(float),
                              groups=train.frame["account_id"].to_numpy(dtype=object))
    kept = [d for d in names if learned[d][0].shape != "flat"]
    if kept:
        learned_te = np.column_stack([apply_transform(x_te[:, names.index(d)], learned[d][0]) for d in kept])
        fitted = fit_weights(replace(train, frame=train.frame.assign(**{d: learned[d][1] for d in kept}),
                                     dimensions=tuple(kept)))
        score = learned_te @ np.array([fitted.weights[d] for d in kept])
        p_learned = _heldout.link_probability(score, (fitted.intercept, fitted.slope))
    else:  # every dimension learned flat: the score is a constant, its probability the base rate
        score, p_learned = np.full(len(x_te), 50.0), np.full(len(x_te), float(y.mean()))
    return {"logit_free": (free, free), "learned": (p_learned, score), "additive": (p_add, p_add)}
