"""The scorer in the MLflow registry, and the done-when check: four scorers, one answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from _postgres import copy_frame, postgres_url  # noqa: F401  (fixture)

from calibrate import WeightConfig, write_config
from calibrate.config import Dimension, default_bands
from calibrate.data.sql import read_sql
from calibrate.config.model import Calibration
from calibrate.publish.export import export_sql
from calibrate.publish.registry import MODEL_NAME, champion_uri, promote, register_scorer
from calibrate.score.scorer import score_frame

ROOT = Path(__file__).resolve().parents[1]


def make_config(version: int, weights=(0.4, 0.25, 0.2, 0.15), missing="redistribute") -> WeightConfig:
    cols = ("Usage", "engagement_score", "open_tickets", "commercial")
    names = ("usage", "engagement", "support", "commercial")
    dims = [Dimension(name=n, column=c, weight=w, direction="lower_is_healthier" if n == "support" else "higher_is_healthier")
            for n, c, w in zip(names, cols, weights)]
    return WeightConfig(dimensions=dims, bands=default_bands(), missing=missing, version=version,
                        calibration=Calibration(intercept=-2.4, slope=0.071))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_register_promote_and_rollback(tmp_path):
    store = tmp_path / "mlflow"
    # config v2 registered before v1: model version numbers differ from config version numbers
    second = register_scorer(write_config(make_config(2, (0.1, 0.2, 0.3, 0.4)), tmp_path / "configs"), mlflow_dir=store)
    first = register_scorer(write_config(make_config(1), tmp_path / "configs"), mlflow_dir=store)
    assert (second.version, first.version, first.alias) == (1, 2, "challenger")
    assert register_scorer(tmp_path / "configs" / "account-health-v1.json", mlflow_dir=store).version == 2  # once

    first_promotion = promote(1, mlflow_dir=store)  # config v1, which is model version 2
    assert (first_promotion.config_version, first_promotion.version, first_promotion.previous) == (1, 2, None)
    res = cli("promote", "--version", "2", "--mlflow", str(store), "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    payload = json.loads(res.stdout)
    assert (payload["champion"], payload["previous"], payload["model_version"]) == (2, 1, 1)
    assert cli("promote", "--version", "1", "--mlflow", str(store), cwd=tmp_path).returncode == 0
    # champions so far: v1, v2, v1 -> a rollback goes to v2, the next to v1, then there is none left
    back = promote(rollback=True, mlflow_dir=store)
    assert (back.config_version, back.previous_config_version, back.rollback) == (2, 1, True)
    res = cli("promote", "--rollback", "--mlflow", str(store), cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.startswith("rolled back: account-health v1 is champion (was v2)")
    res = cli("promote", "--rollback", "--mlflow", str(store), cwd=tmp_path)
    assert res.returncode == 2 and "no previous champion to roll back to" in res.stderr
    missing = cli("promote", "--version", "7", "--mlflow", str(store), cwd=tmp_path)
    assert missing.returncode == 2
    assert "config v7 is not registered (registered config versions: v1, v2)" in missing.stderr
    positional = cli("promote", "2", "--mlflow", str(store), cwd=tmp_path)
    assert positional.returncode == 2  # a bare number was a model version: no longer accepted

    status = cli("status", "--mlflow", str(store), "--configs", str(tmp_path / "configs"), "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["champion"]["config_version"] == 1 and shown["challenger"]["config_version"] == 1
    assert shown["version_line"]["published"] == [1, 2] and shown["version_line"]["next"] == 3
    assert shown["champion_history"] == [1]

    import mlflow

    client = mlflow.MlflowClient()
    assert client.get_model_version_by_alias(MODEL_NAME, "champion").tags["config_version"] == "1"
    # logged from code: the model directory holds the code file and the config JSON, no pickle
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL_NAME}/2"))
    files = {p.name for p in local.rglob("*") if p.is_file()}
    assert {"mlflow_model.py", "account-health-v1.json", "MLmodel"} <= files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))]
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert [c["name"] for c in json.loads(mlmodel["signature"]["inputs"])] == ["Usage", "engagement_score", "open_tickets", "commercial", "account_id", "snapshot_date"]


def test_registering_other_content_under_a_used_version_is_refused(tmp_path):
    store = tmp_path / "mlflow"
    register_scorer(write_config(make_config(1), tmp_path / "a"), mlflow_dir=store)
    other = write_config(make_config(1, (0.1, 0.2, 0.3, 0.4)), tmp_path / "b")
    res = cli("register", str(other), "--mlflow", str(store), cwd=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "account-health v1 is registered already with other content (model version 1)" in res.stderr


def test_a_moved_or_copied_project_writes_only_inside_itself(tmp_path):
    import mlflow

    old = tmp_path / "old"
    register_scorer(write_config(make_config(1), old / "configs"), mlflow_dir=old / "mlflow")
    moved = tmp_path / "moved"
    old.rename(moved)
    register_scorer(write_config(make_config(2, (0.1, 0.2, 0.3, 0.4)), moved / "configs"), mlflow_dir=moved / "mlflow")
    promote(1, mlflow_dir=moved / "mlflow")
    assert not old.exists()  # nothing recreated at the old place
    model = mlflow.pyfunc.load_model(champion_uri())
    frame = pd.DataFrame({"Usage": [80.0], "engagement_score": [60.0], "open_tickets": [10.0], "commercial": [50.0]})
    assert model.predict(frame)["score"].iloc[0] == pytest.approx(score_frame(frame, make_config(1))["score"].iloc[0])

    copy = tmp_path / "copy"
    shutil.copytree(moved, copy)
    before = sorted((p.relative_to(moved), p.stat().st_mtime_ns) for p in moved.rglob("*"))
    register_scorer(write_config(make_config(3, (0.3, 0.3, 0.2, 0.2)), copy / "configs"), mlflow_dir=copy / "mlflow")
    assert sorted((p.relative_to(moved), p.stat().st_mtime_ns) for p in moved.rglob("*")) == before
    models = {p.name for p in (copy / "mlflow" / "artifacts" / "models").iterdir()}
    assert len(models - {p.name for p in (moved / "mlflow" / "artifacts" / "models").iterdir()}) == 1  # in the copy


def test_four_scorers_agree_on_100k_rows(tmp_path, postgres_url):  # noqa: F811
    """Python, the SQL export in DuckDB and in PostgreSQL, and the champion from MLflow: same scores and bands."""
    rng = np.random.default_rng(20260)
    n = 100_000
    frame = pd.DataFrame({
        "account_id": [f"A{i:06d}" for i in range(n)],
        "Usage": rng.uniform(0, 100, n).round(2),
        "engagement_score": rng.integers(0, 101, n).astype(float),  # integers hit the band edges often
        "open_tickets": rng.uniform(0, 100, n),
        "commercial": rng.choice([0.0, 25.0, 50.0, 75.0, 100.0, 62.5], n),
    })
    for col, every in (("Usage", 17), ("open_tickets", 23)):
        frame.loc[::every, col] = np.nan  # the redistribute rule
    frame.loc[5, ["Usage", "engagement_score", "open_tickets", "commercial"]] = [75.0, 75.0, 25.0, 75.0]  # score 75: an edge
    cfg = make_config(1)
    reference = score_frame(frame, cfg).set_index(frame["account_id"])

    con = duckdb.connect()
    con.register("accounts", frame)
    in_duckdb = con.sql(export_sql(cfg, dialect="duckdb")).df().set_index("account_id").loc[reference.index]

    copy_frame(postgres_url, "accounts", frame, {c: "text" if c == "account_id" else "double precision" for c in frame})
    in_postgres, _, _ = read_sql(postgres_url, export_sql(cfg, dialect="postgres"))
    in_postgres = in_postgres.set_index("account_id").loc[reference.index]

    store = tmp_path / "mlflow"
    version = register_scorer(write_config(cfg, tmp_path), mlflow_dir=store).version
    promote(version, mlflow_dir=store)
    import mlflow

    model = mlflow.pyfunc.load_model(champion_uri())
    from_mlflow = model.predict(frame).set_index(frame["account_id"])

    assert reference.loc["A000005", "band"] == "green"
    for name, got in {"duckdb": in_duckdb, "postgres": in_postgres, "mlflow": from_mlflow}.items():
        np.testing.assert_allclose(got["score"], reference["score"], rtol=0, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(got["p_renew"], reference["p_renew"], rtol=0, atol=1e-9, err_msg=name)
        assert (got["band"].to_numpy() == reference["band"].to_numpy()).all(), name
        assert (got["band_code"].to_numpy() == reference["band_code"].to_numpy()).all(), name
        assert (got["band_index"].to_numpy() == reference["band_index"].to_numpy()).all(), name
