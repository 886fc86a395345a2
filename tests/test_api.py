"""The public API changes only on purpose."""

from __future__ import annotations

import calibrate

PUBLIC = [
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
