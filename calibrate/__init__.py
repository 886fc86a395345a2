"""calibrate — does your account health score predict renewals? Retune it when it stops.

The flow, one module per stage: load → score → fit → validate → (drift) → export/track → report.
Everything a notebook needs is re-exported here; the ``calibrate`` command is a thin layer over it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from calibrate.config import Band, Dimension, Transform, WeightConfig, default_bands, read_config, write_config
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

from calibrate.rules import builtin_trees, classify, load_tree, RuleTree, RuleValidation, validate_tree
from calibrate.rules_tune import TreeTuning, tune_tree
from calibrate.metric_tree import action_list, ActionList, explain, Explanation, fit_metric_tree, load_metric_tree, MetricTree, MetricTreeFit
from calibrate.tiers import activity_tiers, assign_tiers, direction_checks, DirectionReport, TierResult
from calibrate.playbook import Playbook, post_mortem, PostMortem, red_playbook
from calibrate.systems import compare_systems, SystemComparison
from calibrate.gate import Check, check, GateResult, Policy, read_policy
from calibrate.redbook import csm_judgment, CsmJudgment, red_book, RedBook
from calibrate.report import register_section, result_section, run_report, Section, write_pdf
from calibrate.leaderboard import leaderboard, Leaderboard
from calibrate.compare import champion_challenger, ChampionChallenger, compare_with_current
from calibrate.folds import grouped_folds, out_of_time_split, validation_folds
from calibrate.bands import tune_bands
from calibrate.transforms import isotonic_calibration
from calibrate.drift import build_reference, detect_drift, DriftReport, WEIGHT_BOOT_ACCOUNTS
try:
    __version__ = version("calibrate")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "__version__",
    "Accounts",
    "action_list",
    "ActionList",
    "activity_tiers",
    "assign_tiers",
    "Band",
    "bootstrap_weights",
    "build_reference",
    "builtin_trees",
    "CalibrateError",
    "champion_challenger",
    "champion_uri",
    "ChampionChallenger",
    "Check",
    "check",
    "classify",
    "compare_systems",
    "compare_with_current",
    "ConfigDiff",
    "ConfigError",
    "csm_judgment",
    "CsmJudgment",
    "DataError",
    "DataSpec",
    "default_bands",
    "detect_drift",
    "diff_configs",
    "Dimension",
    "direction_checks",
    "DirectionReport",
    "DriftReport",
    "explain",
    "Explanation",
    "export_sql",
    "fit_logit",
    "fit_metric_tree",
    "fit_weights",
    "FitError",
    "FitResult",
    "GateResult",
    "grouped_folds",
    "HealthScoreClassifier",
    "isotonic_calibration",
    "Leaderboard",
    "leaderboard",
    "LeakageError",
    "load_accounts",
    "load_for_scoring",
    "load_metric_tree",
    "load_tree",
    "LogitResult",
    "MetricTree",
    "MetricTreeFit",
    "MODEL_NAME",
    "out_of_time_split",
    "Playbook",
    "Policy",
    "post_mortem",
    "PostMortem",
    "promote",
    "read_config",
    "read_policy",
    "recalibrate",
    "red_book",
    "red_playbook",
    "RedBook",
    "register_scorer",
    "register_section",
    "result_section",
    "RuleTree",
    "RuleValidation",
    "run_report",
    "RunResult",
    "score_accounts",
    "score_frame",
    "Section",
    "SystemComparison",
    "TierResult",
    "Transform",
    "TreeTuning",
    "tune_bands",
    "tune_tree",
    "validate",
    "validate_tree",
    "Validation",
    "validation_folds",
    "VersionExistsError",
    "WEIGHT_BOOT_ACCOUNTS",
    "WeightConfig",
    "WeightIntervals",
    "write_config",
    "write_pdf",
    "write_scores",
]


def __getattr__(name: str) -> object:
    """Lazy public names whose modules import heavy libraries (scikit-learn) at import time."""
    if name == "HealthScoreClassifier":
        from calibrate.estimator import HealthScoreClassifier

        return HealthScoreClassifier
    raise AttributeError(f"module 'calibrate' has no attribute {name!r}")
