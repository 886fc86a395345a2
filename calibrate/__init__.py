"""calibrate — does your account health score predict renewals? Retune it when it stops.

The flow, one subpackage per stage, imports flowing one way (checked by import-linter in CI)::

    config → data → score → fit → validation → compare → drift | systems → publish → report → pipeline → cli

This module re-exports the pipeline verbs and their result types; everything else is importable
from its subpackage (``calibrate.drift.DriftPolicy``, ``calibrate.systems.tune_tree`` …). Names are
resolved on first use, so ``import calibrate`` costs next to nothing and the CLI starts at once.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import lazy_loader as _lazy

try:
    __version__ = version("calibrate-health")  # the distribution name (`calibrate` on the index is another project)
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

_SUBPACKAGES = ["config", "data", "score", "fit", "validation", "compare", "drift", "systems", "publish", "report",
                "plots", "cli", "errors", "pipeline"]
_PUBLIC = {
        "errors": ["CalibrateError", "ConfigError", "DataError", "FitError"],
        "config": ["WeightConfig", "read_config", "write_config"],
        "data": ["Accounts", "DataSpec", "load_accounts"],
        "score": ["score_frame"],
        "fit": ["FitResult", "LogitResult", "WeightIntervals", "HealthScoreClassifier", "fit_weights", "fit_logit",
                "bootstrap_weights"],
        "validation": ["Validation", "GateResult", "Policy", "validate", "check", "read_policy"],
        "compare": ["ChampionChallenger", "Leaderboard", "champion_challenger", "leaderboard"],
        "drift": ["DriftReport", "DriftPolicy", "detect_drift"],
        "publish": ["export_sql", "score_accounts", "register_scorer", "promote"],
        "report": ["run_report"],
        "pipeline": ["RunResult", "recalibrate"],
}
__getattr__, __dir__, _ = _lazy.attach(__name__, submodules=_SUBPACKAGES, submod_attrs=_PUBLIC)
__all__ = ["__version__", *sorted(name for names in _PUBLIC.values() for name in names)]
