"""The figures a published config keeps of its own validation: the baseline drift and the gate compare against."""

from __future__ import annotations

import numpy as np

from calibrate.config.model import ValidationBaseline
from calibrate.validation.separation import Validation

__all__ = ["validation_baseline"]


def validation_baseline(v: Validation) -> ValidationBaseline:
    """The figures a published config keeps of its own validation (the drift and gate baseline)."""
    d = v.to_dict()
    return ValidationBaseline.model_validate(
        {
            "n": d["n"],
            "bands": [{k: b[k] for k in ("name", "n", "renewed", "renewal_rate", "ci_low", "ci_high", "share")} for b in d["bands"]],
            "spread": {k: d["spread"][k] for k in ("value", "ci_low", "ci_high")},
            "auc": {k: d["auc"][k] for k in ("value", "ci_low", "ci_high")},
            "brier": None if np.isnan(v.brier) else v.brier,
        }
    )
