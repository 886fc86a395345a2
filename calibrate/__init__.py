"""calibrate — does your account health score predict renewals? Retune it when it stops.

The flow, one module per stage: load → score → fit → validate → (drift) → export/track → report.
Everything a notebook needs is re-exported here; the ``calibrate`` command is a thin layer over it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from calibrate.config import Band, Dimension, WeightConfig, default_bands, read_config, write_config
from calibrate.diff import ConfigDiff, diff_configs
from calibrate.errors import (
    CalibrateError,
    ConfigError,
    DataError,
    FitError,
    LeakageError,
    VersionExistsError,
)
from calibrate.export import export_sql, load_for_scoring, score_accounts, write_scores
from calibrate.fit import FitResult, fit_weights
from calibrate.fit_bootstrap import WeightIntervals, bootstrap_weights
from calibrate.logit import LogitResult, fit_logit
from calibrate.load import Accounts, DataSpec, load_accounts
from calibrate.recalibrate import RunResult, recalibrate
from calibrate.registry import MODEL_NAME, champion_uri, promote, register_scorer
from calibrate.score import score_frame
from calibrate.validate import Validation, validate

try:
    __version__ = version("calibrate")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "Accounts",
    "Band",
    "bootstrap_weights",
    "CalibrateError",
    "champion_uri",
    "ConfigDiff",
    "ConfigError",
    "DataError",
    "DataSpec",
    "default_bands",
    "diff_configs",
    "Dimension",
    "export_sql",
    "fit_logit",
    "fit_weights",
    "FitError",
    "FitResult",
    "HealthScoreClassifier",
    "LeakageError",
    "load_accounts",
    "load_for_scoring",
    "LogitResult",
    "MODEL_NAME",
    "promote",
    "read_config",
    "recalibrate",
    "register_scorer",
    "RunResult",
    "score_accounts",
    "score_frame",
    "validate",
    "Validation",
    "VersionExistsError",
    "WeightConfig",
    "WeightIntervals",
    "write_config",
    "write_scores",
]


def __getattr__(name: str) -> object:
    """Lazy public names whose modules import heavy libraries (scikit-learn) at import time."""
    if name == "HealthScoreClassifier":
        from calibrate.estimator import HealthScoreClassifier

        return HealthScoreClassifier
    raise AttributeError(f"module 'calibrate' has no attribute {name!r}")
