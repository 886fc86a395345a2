"""The public API changes only on purpose: a small root, everything else in its stage subpackage."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import pytest

import calibrate
import calibrate.errors

PUBLIC = [
    "__version__",
    "Accounts",
    "CalibrateError",
    "ChampionChallenger",
    "ConfigError",
    "DataError",
    "DataSpec",
    "DriftPolicy",
    "DriftReport",
    "FitError",
    "FitResult",
    "GateResult",
    "HealthScoreClassifier",
    "Leaderboard",
    "LogitResult",
    "Policy",
    "RunResult",
    "Validation",
    "WeightConfig",
    "WeightIntervals",
    "bootstrap_weights",
    "champion_challenger",
    "check",
    "detect_drift",
    "export_sql",
    "fit_logit",
    "fit_weights",
    "leaderboard",
    "load_accounts",
    "promote",
    "read_config",
    "read_policy",
    "recalibrate",
    "register_scorer",
    "run_report",
    "score_accounts",
    "score_frame",
    "validate",
    "write_config",
]
SUBPACKAGES = ["config", "data", "score", "fit", "validation", "compare", "drift", "systems", "publish", "report"]


def test_all_is_pinned_and_small():
    assert sorted(calibrate.__all__) == sorted(PUBLIC)
    assert len(calibrate.__all__) <= 40
    for name in calibrate.__all__:
        assert getattr(calibrate, name) is not None, name


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_every_subpackage_name_resolves_and_none_shadows_a_module(sub: str):
    package = importlib.import_module(f"calibrate.{sub}")
    assert package.__doc__, f"calibrate.{sub} needs a docstring saying what it owns"
    modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    for name in package.__all__:
        obj = getattr(package, name)
        if name in modules:  # a public submodule (calibrate.data.datasets) listed as such
            assert isinstance(obj, types.ModuleType), f"calibrate.{sub}.{name} is both an object and a module"
        else:
            assert not isinstance(obj, types.ModuleType), name


def test_modules_stay_modules():
    """``import calibrate.validation.separation`` gives the module, and the root's verbs stay functions."""
    import calibrate.validation.separation

    assert calibrate.validation.separation.Validation is calibrate.Validation
    assert callable(calibrate.validate) and callable(calibrate.recalibrate) and callable(calibrate.leaderboard)


def test_every_error_is_a_calibrate_error_with_a_docstring():
    errors = [obj for obj in vars(calibrate.errors).values() if isinstance(obj, type) and issubclass(obj, Exception)]
    assert len(errors) >= 5
    for cls in errors:
        assert issubclass(cls, calibrate.CalibrateError) and cls.__doc__, cls


def test_importing_calibrate_does_not_import_the_heavy_stack():
    code = ("import sys, calibrate; print(sorted(m for m in ('mlflow','sklearn','statsmodels','matplotlib','scipy.stats',"
            "'pandas','pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_the_cli_starts_without_the_statistics_stack():
    code = ("import sys, calibrate.cli; print(sorted(m for m in ('mlflow','sklearn','statsmodels','matplotlib',"
            "'scipy','pandas','pydantic','numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
