"""`calibrate run --json` / `--quiet` print nothing but errors (and the JSON): MLflow's own chatter is silenced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_json_and_quiet_print_nothing_else(tmp_path):
    """`run --json` prints one JSON object and nothing on stderr; `run --quiet` prints nothing at all.

    The second run meets an existing registered model (MLflow's "already exists" branch) and an
    existing store (no table creation), the first a new one: both must stay silent.
    """
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("MLFLOW_LOGGING_LEVEL", None)

    def calibrate(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "calibrate", "run", "--n-boot", "1000", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)

    first = calibrate("--json")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    assert json.loads(first.stdout)["version"] == 1  # the whole of stdout is one JSON object
    second = calibrate("--quiet", "--seed", "2")  # another seed: new intervals, so a new version (not "identical")
    assert second.returncode == 0, second.stderr
    assert (second.stdout, second.stderr) == ("", "")
    assert (tmp_path / "configs" / "account-health-v2.json").exists()


def test_registry_chatter_dropped_keeps_everything_else(capsys):
    import logging

    from mlflow.utils.logging_utils import eprint

    from calibrate.publish.track import _quiet_mlflow, registry_chatter_dropped

    _quiet_mlflow()
    with pytest.raises(RuntimeError, match="boom"), registry_chatter_dropped():
        eprint("Successfully registered model 'account-health-score'.")
        eprint("Registered model 'account-health-score' already exists. Creating a new version of this model...")
        eprint("Created version '3' of model 'account-health-score'.")
        logging.getLogger("mlflow.store.db.utils").info("Creating initial MLflow database tables...")
        logging.getLogger("mlflow.tracking").warning("a real warning")
        eprint("Created version '3' of model 'x' and something unexpected")
        raise RuntimeError("boom")
    err = capsys.readouterr().err
    assert "registered" not in err and "Creating" not in err and "Created version '3' of model 'account" not in err
    assert "WARNING mlflow.tracking: a real warning" in err
    assert "something unexpected" in err
