"""The registered scorer travels: it loads by URI where only MLflow and pandas are installed, and scores like `calibrate score`."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from calibrate import ConfigError, WeightConfig, write_config
from calibrate.config import Dimension, default_bands
from calibrate.config.model import Calibration
from calibrate.publish.export import score_accounts
from calibrate.publish.registry import champion_uri, promote, register_scorer
from calibrate.publish.scorer_code import SCORER_DATA, scorer_modules, scorer_requirements, stage_scorer_code
from calibrate.publish.track import tracking_uri

COLUMNS = ("usage", "engagement", "support", "commercial")


def make_config(version: int = 1, weights=(0.4, 0.25, 0.2, 0.15)) -> WeightConfig:
    dims = [Dimension(name=c, column=c, weight=w, direction="lower_is_healthier" if c == "support" else "higher_is_healthier")
            for c, w in zip(COLUMNS, weights)]
    return WeightConfig(dimensions=dims, bands=default_bands(), missing="redistribute", version=version,
                        calibration=Calibration(intercept=-2.4, slope=0.071), created_at="2026-01-01T00:00:00Z")


def sample(n: int = 500, seed: int = 3) -> pd.DataFrame:
    """Integer and float sub-scores (integers hit the band edges), with ids and snapshot dates to pass through."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "account_id": [f"A{i:05d}" for i in range(n)],
        "snapshot_date": pd.Timestamp("2025-03-31") + pd.to_timedelta(rng.integers(0, 4, n) * 91, unit="D"),
        "usage": rng.integers(0, 101, n),  # int64, which MLflow refuses for a double column
        "engagement": rng.uniform(0, 100, n).round(2),
        "support": rng.integers(0, 101, n),
        "commercial": rng.choice([0.0, 25.0, 50.0, 75.0, 100.0], n),
    })


@pytest.fixture
def champion(tmp_path: Path) -> Path:
    """A project store with config v1 registered and promoted; returns the MLflow store directory."""
    store = tmp_path / "mlflow"
    promote(register_scorer(write_config(make_config(), tmp_path / "configs"), mlflow_dir=store).version,
            mlflow_dir=store)
    return store


def test_champion_scores_exactly_like_calibrate_score(champion, tmp_path):
    import mlflow

    frame = sample()
    expected = score_accounts(frame, make_config().sealed())
    got = mlflow.pyfunc.load_model(champion_uri()).predict(frame)
    assert list(got.columns) == list(expected.columns)  # account_id and snapshot_date first, as `calibrate score`
    assert_same_scores(got, expected)


def assert_same_scores(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal to the last bit; the snapshot column is passed through as given (`calibrate score` parses it to its unit)."""
    got = got.assign(snapshot_date=got["snapshot_date"].astype(expected["snapshot_date"].dtype))
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_exact=True)


def _model_dir(store: Path) -> Path:
    [mlmodel] = [p for p in store.rglob("MLmodel") if (p.parent / "artifacts").is_dir()]
    return mlmodel.parent


def test_model_carries_code_not_pickles_and_resolvable_requirements(champion):
    local = _model_dir(champion)
    files = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))]
    assert {f"code/calibrate/{m}" for m in [*scorer_modules(), *SCORER_DATA]} <= set(files)
    assert {"code/calibrate/score/scorer.py", "code/calibrate/config/seal.py"} <= set(files)
    assert "code/calibrate/__init__.py" not in files  # a namespace package: nothing else of calibrate is pulled in
    requirements = (local / "requirements.txt").read_text().split()
    assert [r.split("==")[0] for r in requirements] == ["mlflow", "pandas", "numpy", "pydantic", "pyyaml"]
    assert requirements == scorer_requirements() and "calibrate" not in " ".join(requirements)
    config = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["python_function"]["config"]
    assert config["content_hash"] == make_config().sealed().content_hash


def test_vendored_modules_are_the_installed_ones_and_import_nothing_else(tmp_path):
    """Byte-identical copies; third-party imports only of what MLflow brings (jsonschema is optional)."""
    [root] = stage_scorer_code(tmp_path)
    package = Path(__file__).resolve().parents[1] / "calibrate"
    allowed = {"numpy", "pandas", "pydantic", "yaml", "jsonschema", "mlflow", "calibrate"} | set(sys.stdlib_module_names)
    staged = sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.is_file())
    assert staged == sorted([*scorer_modules(), *SCORER_DATA])
    assert {"score/scorer.py", "config/model.py", "config/seal.py", "data/transforms.py"} <= set(staged)
    for module in staged:
        assert (Path(root) / module).read_bytes() == (package / module).read_bytes(), module
        if module.endswith(".py"):
            for node in ast.walk(ast.parse((package / module).read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
                assert {n.split(".")[0] for n in names} <= allowed, f"{module} imports {names}"


def test_a_scorer_import_of_a_package_is_refused(monkeypatch):
    from calibrate.publish import scorer_code

    monkeypatch.setattr(scorer_code, "SCORER_ENTRY", ("calibrate.score",))
    with pytest.raises(RuntimeError, match="the scorer imports calibrate.score, which is not a module file"):
        scorer_code.scorer_modules()


def _artifact(store: Path) -> Path:
    [path] = (_model_dir(store) / "artifacts").rglob("account-health-v1.json")
    return path


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda doc: doc.pop("content_hash"), r"not sealed \(no content_hash\), so it is refused; `calibrate config publish .*` seals a draft"),
        (lambda doc: doc.update(content_hash=make_config(weights=(0.1, 0.2, 0.3, 0.4)).sealed().content_hash)
         or doc["dimensions"][0].update(weight=0.1) or doc["dimensions"][1].update(weight=0.2)
         or doc["dimensions"][2].update(weight=0.3) or doc["dimensions"][3].update(weight=0.4),
         r"is not the sha256:\w+ the model registry recorded for this version — the config was replaced"),
    ],
    ids=["unsealed", "replaced-and-resealed"],
)
def test_champion_refuses_a_tampered_config(champion, tamper, message):
    import mlflow

    path = _artifact(champion)
    doc = json.loads(path.read_text())
    tamper(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=message):
        mlflow.pyfunc.load_model(champion_uri())


LOAD_AND_SCORE = """
import importlib.util, sys
import mlflow, pandas as pd
assert importlib.util.find_spec("calibrate") is None, "calibrate is importable before the model is loaded"
mlflow.set_tracking_uri(sys.argv[1]); mlflow.set_registry_uri(sys.argv[1])
model = mlflow.pyfunc.load_model("models:/account-health-score@champion")
model.predict(pd.read_parquet(sys.argv[2])).to_parquet(sys.argv[3])
"""


@pytest.mark.slow
def test_champion_loads_and_scores_in_a_clean_venv(champion, tmp_path):
    """A plain venv (no system site-packages) with only MLflow and pandas installed: minutes, network or pip's cache."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", f"mlflow=={version('mlflow')}",
         f"pandas=={version('pandas')}", f"pyarrow=={version('pyarrow')}"],
        capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    frame = sample()
    frame.to_parquet(tmp_path / "in.parquet")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CALIBRATE", "MLFLOW"))}
    res = subprocess.run([str(python), "-c", LOAD_AND_SCORE, tracking_uri(champion), str(tmp_path / "in.parquet"),
                          str(tmp_path / "out.parquet")], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert_same_scores(got, score_accounts(frame, make_config().sealed()))
