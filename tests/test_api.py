"""The public API changes only on purpose."""

from __future__ import annotations

import calibrate

PUBLIC = [
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


def test_all_is_pinned():
    assert sorted(calibrate.__all__) == sorted(PUBLIC)
    for name in calibrate.__all__:
        assert hasattr(calibrate, name), name


def test_every_error_is_a_calibrate_error_with_a_docstring():
    for name in ("DataError", "LeakageError", "ConfigError", "VersionExistsError", "FitError"):
        cls = getattr(calibrate, name)
        assert issubclass(cls, calibrate.CalibrateError) and cls.__doc__


def test_importing_calibrate_does_not_import_the_heavy_stack():
    import subprocess
    import sys

    code = "import sys, calibrate; print(sorted(m for m in ('mlflow','sklearn','statsmodels','matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
