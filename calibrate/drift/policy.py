"""Drift thresholds as one typed, frozen :class:`DriftPolicy`, read from the team's policy file (its ``drift:`` part).

The defaults are the module constants below (contract.md §4); ``detect_drift(data, config, policy=...)`` takes
the policy, ``calibrate drift --policy FILE`` reads it with the same parser as the gate's :class:`~calibrate.validation.Policy`.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from calibrate.config.policy_file import read_policy_section

__all__ = [
    "DriftPolicy",
    "read_drift_policy",
    "VERDICTS",
    "PSI_WATCH",
    "PSI_RECALIBRATE",
    "NOISE_QUANTILE_WATCH",
    "NOISE_QUANTILE_RECALIBRATE",
    "RED_SHARE_WATCH",
    "RED_SHARE_ALPHA",
    "TREND_ALPHA",
    "AUC_DROP_WATCH",
    "WEIGHT_CONFIDENCE",
    "GAIN_ALPHA",
    "AUC_GAIN_RECALIBRATE",
    "WEIGHT_BOOT_ACCOUNTS",
]

VERDICTS = ("ok", "watch", "recalibrate")
PSI_WATCH = 0.10
"""Conventional PSI/CSI cut-off for *watch* (contract.md §4)."""
PSI_RECALIBRATE = 0.25
"""Conventional PSI/CSI cut-off for *shifted* → *recalibrate*."""
NOISE_QUANTILE_WATCH = 0.95
"""Quantile of the sampling-noise PSI that a *watch* must exceed (when above ``PSI_WATCH``)."""
NOISE_QUANTILE_RECALIBRATE = 0.999
"""Quantile of the sampling-noise PSI that a *recalibrate* must exceed (when above ``PSI_RECALIBRATE``)."""
RED_SHARE_WATCH = 0.05
"""Absolute change of the share of the book in the red band that is a *watch* (when significant)."""
RED_SHARE_ALPHA = 0.01
"""Two-sided level of the red-share test (accounts as the sample size)."""
TREND_ALPHA = 0.025
"""One-sided level of the declining-trend tests of AUC and spread (shared: each gets half)."""
AUC_DROP_WATCH = 0.05
"""Label-free expected AUC this far below the fit-time AUC is a *watch*."""
WEIGHT_CONFIDENCE = 0.95
"""Simultaneous (Bonferroni over dimensions) confidence of the refit-weight intervals."""
GAIN_ALPHA = 0.05
"""One-sided level of the out-of-time AUC gain test (DeLong, paired)."""
AUC_GAIN_RECALIBRATE = 0.01
"""Out-of-time AUC gain of the refit that, when significant, calls for *recalibrate*."""
WEIGHT_BOOT_ACCOUNTS = 10_000
"""Refit windows with more accounts bootstrap the weights m-out-of-n, drawing this many accounts per
resample (:func:`calibrate.fit.bootstrap.bootstrap_weights` ``accounts_per_resample``)."""


class DriftPolicy(BaseModel):
    """The thresholds of :func:`calibrate.drift.detect_drift`'s verdict (defaults: the module constants).

    A policy file sets them under ``drift:``; an unknown key or a value out of range is refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi_watch: float = Field(PSI_WATCH, gt=0.0, description="PSI/CSI above which a shift is a *watch*.")
    psi_recalibrate: float = Field(PSI_RECALIBRATE, gt=0.0, description="PSI/CSI above which a shift calls for *recalibrate*.")
    noise_quantile_watch: float = Field(NOISE_QUANTILE_WATCH, gt=0.0, lt=1.0,
                                        description="Quantile of the sampling-noise PSI a *watch* must exceed.")
    noise_quantile_recalibrate: float = Field(NOISE_QUANTILE_RECALIBRATE, gt=0.0, lt=1.0,
                                              description="Quantile of the sampling-noise PSI a *recalibrate* must exceed.")
    red_share_watch: float = Field(RED_SHARE_WATCH, gt=0.0, le=1.0, description="Change of the red share that is a *watch*.")
    red_share_alpha: float = Field(RED_SHARE_ALPHA, gt=0.0, lt=1.0, description="Two-sided level of the red-share test.")
    trend_alpha: float = Field(TREND_ALPHA, gt=0.0, lt=1.0, description="One-sided level of the declining-trend tests.")
    auc_drop_watch: float = Field(AUC_DROP_WATCH, gt=0.0, lt=1.0, description="Label-free AUC drop that is a *watch*.")
    weight_confidence: float = Field(WEIGHT_CONFIDENCE, gt=0.0, lt=1.0,
                                     description="Simultaneous confidence of the refit-weight intervals.")
    gain_alpha: float = Field(GAIN_ALPHA, gt=0.0, lt=1.0, description="One-sided level of the out-of-time AUC gain test.")
    auc_gain_recalibrate: float = Field(AUC_GAIN_RECALIBRATE, ge=0.0, lt=1.0,
                                        description="Significant out-of-time AUC gain that calls for *recalibrate*.")


def read_drift_policy(path: str | os.PathLike[str]) -> DriftPolicy:
    """The ``drift:`` part of a policy file (all defaults when the file has none).

    Raises
    ------
    ConfigError
        Unreadable file, unknown key or bad value; the message names the file and the key.
    """
    return read_policy_section(path, DriftPolicy, "drift")
