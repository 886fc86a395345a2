"""Scoring: the one function that turns sub-scores and a config into a health score, a band and a renewal probability.

Every scorer (Python, SQL export, MLflow model, estimator) agrees with :func:`score_frame`.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "scorer": ["score_frame", "score_values", "band_index", "renewal_probability", "BAND_DECIMALS"],
    },
)
