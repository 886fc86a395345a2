"""calibrate — does your account health score predict renewals? Retune it when it stops.

The flow, one module per stage: load → score → fit → validate → (drift) → export/track → report.
Everything a notebook needs is re-exported here; the ``calibrate`` command is a thin layer over it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from calibrate.config import Band, Dimension, WeightConfig, default_bands, read_config, write_config
from calibrate.errors import (
    CalibrateError,
    ConfigError,
    DataError,
    FitError,
    LeakageError,
    VersionExistsError,
)
from calibrate.fit import FitResult, fit_weights
from calibrate.load import Accounts, DataSpec, load_accounts
from calibrate.recalibrate import RunResult, recalibrate
from calibrate.score import score_frame
from calibrate.validate import Validation, validate

try:
    __version__ = version("calibrate")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "Accounts",
    "Band",
    "CalibrateError",
    "ConfigError",
    "DataError",
    "DataSpec",
    "Dimension",
    "FitError",
    "FitResult",
    "LeakageError",
    "RunResult",
    "Validation",
    "VersionExistsError",
    "WeightConfig",
    "__version__",
    "default_bands",
    "fit_weights",
    "load_accounts",
    "read_config",
    "recalibrate",
    "score_frame",
    "validate",
    "write_config",
]
