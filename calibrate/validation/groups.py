"""Each segment or snapshot quarter validated alone, for a caller that has the book-wide validation."""

from __future__ import annotations

import pandas as pd

from calibrate._params import Options, validate_params
from calibrate.config.model import WeightConfig
from calibrate.data.load import Accounts
from calibrate.score.scorer import score_frame
from calibrate.validation.separation import _PARAMS, By, Validation, _groups, decided_mask

__all__ = ["validate_groups"]


@validate_params({**_PARAMS, "by": [Options("segment", "period")]})  # a group key is required here
def validate_groups(
    data: Accounts,
    config: WeightConfig,
    *,
    by: By,
    n_boot: int = 2000,
    seed: int = 0,
    as_of: str | pd.Timestamp | None = None,
) -> tuple[tuple[str, Validation], ...]:
    """Validate each segment / snapshot quarter alone: band rates, spread and AUC with their intervals.

    The groups :func:`validate` puts in :attr:`Validation.groups`, with the same figures for the same
    ``n_boot`` and ``seed``, without the book-wide validation and the diagnostics (Brier, ECE,
    reliability, KS, lift and the CSM flag's judgment stay NaN / None) — for a caller that already has the book-wide one (the
    report's quarter-by-quarter section).

    Parameters
    ----------
    data : Accounts
    config : WeightConfig
    by : {"segment", "period"}
    n_boot, seed : int
        Account-level bootstrap resamples per group and their seed.
    as_of : date, optional
        As in :func:`validate`.

    Returns
    -------
    tuple of (label, Validation)
        In label order.
    """
    scored = score_frame(data.frame, config, contributions=False, by="name")
    decided = decided_mask(data.frame, as_of)
    score, p = scored["score"].to_numpy(), scored["p_renew"].to_numpy()
    return _groups(data.frame, scored["band_index"].to_numpy(), config.bands, config.red_band, by, decided,
                   score[decided], p[decided], n_boot=n_boot, seed=seed, as_of=as_of, diagnostics=False)
