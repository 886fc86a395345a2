"""Publishing as one transaction: killed at every stage, concurrent publishers, one version line, relocatable stores."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import calibrate as cb
from calibrate.cli import main
from calibrate.publish.transaction import STAGES
from conftest import logistic_book

ROOT = Path(__file__).resolve().parents[1]

CRASH = """
import os, sys
import calibrate.publish.transaction as transaction

def crash(stage):
    if stage == sys.argv[1]:
        os._exit(9)  # killed: no rollback, no cleanup, the MLflow run left RUNNING

transaction._checkpoint = crash
import calibrate as cb
cb.recalibrate(cb.load_accounts(sys.argv[2]), n_boot=1000, n_boot_weights=10)
"""


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "CALIBRATE_QUIET": "1", **extra}


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "book.csv"
    logistic_book(3000, seed=8).to_csv(path, index=False)
    return path


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def store_state(root: Path) -> dict:
    """What is visible in a project's stores."""
    db = root / "mlflow" / "mlflow.db"
    runs, versions, aliases = [], [], {}
    if db.is_file():
        with sqlite3.connect(db) as con:
            runs = con.execute("SELECT name, status FROM runs").fetchall()
            versions = [int(v) for (v,) in con.execute(  # MLflow keeps a deleted version's row, marked deleted
                "SELECT t.value FROM model_version_tags t JOIN model_versions v ON v.name = t.name AND "
                "v.version = t.version WHERE t.key = 'config_version' AND v.current_stage != 'Deleted_Internal'")]
            aliases = dict(con.execute("SELECT alias, version FROM registered_model_aliases").fetchall())
    return {
        "configs": sorted(p.name for p in (root / "configs").glob("*.json")),
        "reports": sorted(p.parent.name for p in (root / "reports").glob("*/report.html")),
        "staging": sorted(str(p.relative_to(root)) for p in root.rglob(".staging")),
        "runs": runs, "registry": versions, "aliases": aliases,
    }


@pytest.mark.parametrize("stage", STAGES)
def test_killed_at_every_stage_leaves_nothing_or_a_complete_version(stage, small_csv, tmp_path, monkeypatch, capsys):
    crashed = subprocess.run([sys.executable, "-c", CRASH, stage, str(small_csv)], cwd=tmp_path, env=env(),
                             capture_output=True, text=True, timeout=900)
    assert crashed.returncode == 9, crashed.stderr
    assert store_state(tmp_path)["staging"], "a killed publish leaves its staging"

    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["status", "--json"], capsys)  # the next command cleans and says so
    assert code == 0
    state = store_state(tmp_path)
    assert state["staging"] == []
    if stage == "config":  # the config had become visible: the version is finished, complete
        assert "had made its config visible; finished it" in err
        assert state["configs"] == ["account-health-v1.json"] and state["reports"] == ["account-health-v1"]
        assert state["runs"] == [("account-health-v1", "FINISHED")]
        assert state["registry"] == [1] and set(state["aliases"]) == {"challenger"}
        assert json.loads(out)["challenger"]["config_version"] == 1
    else:  # nothing: no config, no report, no registered version; the run (if any) FAILED
        assert "rolled back an interrupted publish of account-health v1" in err
        assert state["configs"] == [] and state["reports"] == [] and state["registry"] == []
        assert state["aliases"] == {}
        assert {status for _, status in state["runs"]} <= {"FAILED"}
        assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("stage", ["logged", "report"])
def test_failure_rolls_back_and_exits_2_with_one_line(stage, small_csv, workdir, monkeypatch, capsys):
    import calibrate.publish.transaction as transaction

    def fail(at: str) -> None:
        if at == stage:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(transaction, "_checkpoint", fail)
    code, out, err = run_cli(["run", "--data", str(small_csv), "--n-boot", "1000", "--quiet"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "publishing account-health v1 failed ([Errno 28] No space left on device); rolled back (" in err
    assert "marked FAILED" in err and "nothing published" in err
    state = store_state(workdir)
    assert state["configs"] == state["reports"] == state["staging"] == state["registry"] == []
    assert [s for _, s in state["runs"]] == ["FAILED"]

    monkeypatch.setattr(transaction, "_checkpoint", lambda at: None)
    code, out, _ = run_cli(["run", "--data", str(small_csv), "--n-boot", "1000", "--json", "--quiet"], capsys)
    assert code == 0 and json.loads(out)["version"] == 2  # v1 was issued (its FAILED run records it): never reused


def test_two_concurrent_runs_on_a_fresh_store(small_csv, tmp_path):
    procs = [subprocess.Popen([sys.executable, "-m", "calibrate", "run", "--data", str(small_csv), "--n-boot", "1000",
                               "--seed", str(seed), "--json", "--quiet"], cwd=tmp_path, env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (0, 1)]
    results = [(p.wait(timeout=900), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, _, err in results:
        assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1), err
    versions = sorted(json.loads(out)["version"] for code, out, _ in results if code == 0)
    assert versions == sorted(set(versions)) and versions
    state = store_state(tmp_path)
    assert state["configs"] == [f"account-health-v{v}.json" for v in versions]
    assert sorted(state["registry"]) == versions


def test_a_held_lock_makes_a_publisher_exit_2(small_csv, workdir, monkeypatch, capsys):
    (workdir / "configs").mkdir()
    with open(workdir / "configs" / ".calibrate-publish.lock", "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # another publisher, as far as the lock can tell
        monkeypatch.setenv("CALIBRATE_LOCK_TIMEOUT", "0")
        code, out, err = run_cli(["run", "--data", str(small_csv), "--n-boot", "1000", "--quiet"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("calibrate: error: ") and "another publish is in progress" in err
    assert "CALIBRATE_LOCK_TIMEOUT" in err and len(err.strip().splitlines()) == 1
    assert not (workdir / "mlflow" / "mlflow.db").exists() and not list((workdir / "configs").glob("*.json"))

    monkeypatch.setenv("CALIBRATE_LOCK_TIMEOUT", "soon")
    code, _, err = run_cli(["config", "publish", str(ROOT / "data" / "account-health-v1.json")], capsys)
    assert code == 2 and "CALIBRATE_LOCK_TIMEOUT='soon' is not a number of seconds" in err


def test_identical_rerun_dry_run_and_moving_configs_away(small_csv, workdir, capsys):
    args = ["run", "--data", str(small_csv), "--n-boot", "1000"]  # not --quiet: the summary is checked
    code, out, _ = run_cli([*args, "--dry-run"], capsys)
    assert code == 0 and "dry run: would publish account-health v1; nothing written" in out
    assert "recommendation: no current config to compare." in out and "adopt" not in out
    assert list(workdir.iterdir()) == []  # dry run: nothing written, not even a lock or an empty store

    first = json.loads(run_cli([*args, "--json"], capsys)[1])
    assert first["status"] == "published" and first["version"] == 1
    report = Path(first["report_path"]).read_bytes()
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and out.startswith("identical to v1; nothing published")
    assert store_state(workdir)["runs"] == [("account-health-v1", "FINISHED")]

    shutil.move(workdir / "configs", workdir / "configs.old")  # the version line survives configs/ moving away
    code, out, _ = run_cli([*args, "--json"], capsys)
    again = json.loads(out)
    assert code == 0 and again["version"] == 2 and again["status"] == "published"
    assert Path(first["report_path"]).read_bytes() == report  # never overwritten
    assert store_state(workdir)["registry"] == [1, 2]


def test_config_publish_takes_the_next_number_and_never_reuses_one(workdir, capsys):
    shipped = ROOT / "data" / "account-health-v1.json"
    code, out, _ = run_cli(["config", "publish", str(shipped), "--json"], capsys)
    assert code == 0 and json.loads(out)["version"] == 1
    code, out, _ = run_cli(["config", "publish", str(shipped)], capsys)
    assert code == 0 and out.startswith("identical to v1; nothing published")
    (workdir / "configs" / "account-health-v1.json").unlink()
    (workdir / "reports" / "account-health-v1").mkdir(parents=True)  # v1 recorded by its report
    code, _, err = run_cli(["config", "publish", str(shipped)], capsys)
    assert code == 2 and "account-health v1 was issued already (highest issued v1)" in err
    assert '"version": 0' in err and not list((workdir / "configs").glob("*.json"))


def test_project_root_is_the_nearest_calibrate_yaml(tmp_path, monkeypatch, capsys):
    from calibrate.config.model import default_dirs
    from calibrate.publish.project import first_run_notice

    (tmp_path / "calibrate.yaml").write_text("dimensions: [usage]\n")
    deep = tmp_path / "notebooks" / "q3"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert default_dirs() == {k: tmp_path.resolve() / k for k in ("configs", "reports", "mlflow")}
    assert first_run_notice(*default_dirs().values()) is None
    monkeypatch.setenv("CALIBRATE_REPORTS", "elsewhere")
    assert default_dirs()["reports"] == Path("elsewhere")
    code, out, _ = run_cli(["config", "publish", str(ROOT / "data" / "account-health-v1.json")], capsys)
    assert code == 0 and (tmp_path / "configs" / "account-health-v1.json").is_file()
    assert str(tmp_path.resolve() / "configs" / "account-health-v1.json") in out  # says where it wrote

    bare = tmp_path.parent / f"{tmp_path.name}-bare"
    bare.mkdir()
    monkeypatch.chdir(bare)
    notice = first_run_notice(*default_dirs(bare).values())
    assert notice is not None and f"so {bare.resolve()} is the project root" in notice


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_files_are_written_with_the_users_umask(umask, mode, tmp_path):
    from calibrate.config import Dimension, default_bands

    dims = [Dimension(name=n, column=n, weight=w) for n, w in (("usage", 0.5), ("support", 0.5))]
    old = os.umask(umask)
    try:
        path = cb.write_config(cb.WeightConfig(dimensions=dims, bands=default_bands(), version=1), tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_mlflow_telemetry_is_off_unless_turned_on(tmp_path):
    probe = ("import calibrate.publish.track as t; t._quiet_mlflow(); import mlflow.telemetry as m; "
             "print(m.get_telemetry_client() is None)")
    clean = {k: v for k, v in env().items() if k not in {"PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS",
                                                          "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"}}
    off = subprocess.run([sys.executable, "-c", probe], env=clean, capture_output=True, text=True, cwd=tmp_path)
    assert off.stdout.strip() == "True", off.stderr
    on = subprocess.run([sys.executable, "-c", probe], env={**clean, "MLFLOW_DISABLE_TELEMETRY": "false"},
                        capture_output=True, text=True, cwd=tmp_path)
    assert on.stdout.strip() == "False", on.stderr
