"""`calibrate run` end to end, as a new user meets it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from calibrate import read_config
from calibrate.cli import main
from conftest import TRUE_W, logistic_book


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_bundled_run_twice(workdir, capsys):
    code, out, err = run_cli(["run", "--json", "--n-boot", "1000"], capsys)
    assert code == 0
    first = json.loads(out)
    assert err == ""  # --json: nothing on stderr; a first run without calibrate.yaml says where its root is
    assert any(f"so {workdir.resolve()} is the project root" in note for note in first["notes"])
    assert set(first) >= {"config_path", "version", "weights", "report_path", "mlflow_run_id"}
    assert first["version"] == 1 and Path(first["config_path"]).name == "account-health-v1.json"
    assert first["status"] == "published" and first["decision"] == "none"
    assert first["verdict"].endswith("recommendation: no current config to compare.")
    cfg = read_config(first["config_path"])
    assert cfg.provenance and cfg.provenance.mlflow_run_id == first["mlflow_run_id"]
    report = Path(first["report_path"]).read_text()
    assert report.count("data:image/png;base64,") >= 3 and "renews" in report
    rates = [b["renewal_rate"] for b in first["validation"]["bands"] if b["n"] > 0]
    assert rates == sorted(rates), "band renewal rates on the bundled data must be monotone"

    # same data, same seed: the same content apart from the envelope, so nothing new is published
    before = sorted(p.relative_to(workdir) for p in workdir.rglob("*") if p.is_file())
    code, out, err = run_cli(["run", "--json", "--n-boot", "1000"], capsys)
    second = json.loads(out)
    assert code == 0 and second["status"] == "identical" and second["version"] == 1
    assert second["config_path"] == first["config_path"] and second["mlflow_run_id"] == first["mlflow_run_id"]
    assert second["weights"] == first["weights"] and second["validation"] == first["validation"]
    assert not any("project root" in note for note in second["notes"])
    code, out, _ = run_cli(["run", "--n-boot", "1000"], capsys)  # --quiet would print nothing
    assert code == 0 and out.splitlines()[0].endswith("Identical to v1; nothing published.")
    after = sorted(p.relative_to(workdir) for p in workdir.rglob("*") if p.is_file())
    assert [p for p in after if p not in before and "mlflow.db" not in str(p)] == []

    with sqlite3.connect(workdir / "mlflow" / "mlflow.db") as db:
        runs = db.execute("select run_uuid, status from runs").fetchall()
        metrics = {k for (k,) in db.execute("select distinct key from metrics")}
    assert runs == [(first["mlflow_run_id"], "FINISHED")]
    assert {"auc", "spread", "weight_usage"} <= metrics
    artifacts = list((workdir / "mlflow" / "artifacts").rglob("*"))
    names = {p.name for p in artifacts if p.is_file()}
    assert {"account-health-v1.json", "report.html"} <= names
    assert not any(p.suffix in {".csv", ".parquet"} for p in artifacts)  # never raw rows


def test_run_publishes_the_weights_fitted_on_the_given_csv(workdir, capsys):
    """Thin end-to-end smoke of ``--data``; recovering known weights is checked at fit level (test_fit.py)."""
    from calibrate.data.load import load_accounts
    from calibrate.fit import fit_weights

    path = workdir / "known.csv"
    logistic_book(2000, seed=21).to_csv(path, index=False)
    code, out, _ = run_cli(["run", "--data", str(path), "--json", "--n-boot", "1000"], capsys)
    assert code == 0
    published = json.loads(out)["weights"]
    assert published == pytest.approx(fit_weights(load_accounts(str(path))).weights, abs=1e-12)
    assert max(published, key=published.get) == max(TRUE_W, key=TRUE_W.get)


def test_human_summary_and_exit_2_on_existing_version(workdir, capsys):
    code, out, _ = run_cli(["run", "--n-boot", "1000"], capsys)
    assert code == 0 and "new config account-health v1" in out and "spread" in out
    # A version appearing under our feet (another process published it) is never overwritten.
    from calibrate.config.model import write_config

    cfg = read_config(workdir / "configs" / "account-health-v1.json")
    before = (workdir / "configs" / "account-health-v1.json").read_bytes()
    with pytest.raises(Exception, match="never overwritten"):
        write_config(cfg, workdir / "configs")
    assert (workdir / "configs" / "account-health-v1.json").read_bytes() == before


def test_bad_usage_exits_2(workdir, capsys):
    code, _, err = run_cli(["run", "--n-boot", "5"], capsys)
    assert code == 2 and "--n-boot" in err


def test_quarterly_recalibration_against_the_shipped_current_config(workdir, capsys):
    """The quick start: the config in production (fitted before the documented drift) meets the new quarters."""
    shipped = Path(__file__).parents[1] / "data" / "account-health-v1.json"
    current = read_config(shipped)
    assert current.reference is not None and current.provenance.period_end == "2025-06-30"
    code, out, _ = run_cli(["run", "--current", str(shipped), "--json", "--n-boot", "1000"], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["version"] == 2 and result["parent_version"] == 1
    drift = result["drift"]
    assert drift["verdict"] == "recalibrate"
    assert any("engagement" in reason for reason in drift["reasons"])
    assert result["recommendation"]["decision"] == "adopt"
    assert "recommendation: adopt v2" in result["verdict"]
    # the quarterly question is the weights: the rows that judge the sub-scores are left out, and the note says how
    # to add them (test_run_learned_rows_adds_the_additive_ceiling)
    board = result["leaderboard"]
    assert [row["method"] for row in board["methods"]] == ["current", "equal", "logit", "simplex", "ceiling"]
    assert board["share_of_additive"] is None
    assert any("calibrate run --learned-rows" in note for note in board["notes"])
    report = Path(result["report_path"]).read_text()
    assert "<code>calibrate run --learned-rows</code>" in report
    for heading in ("Methods leaderboard", "Adopt or keep?", "Drift since the reference", "Band migration",
                    "The red book: does red catch churn?", "Quarter by quarter", "Expected churned ARR"):
        assert heading in report, heading

    # what the meeting decides is in the MLflow run and the registry version's description
    with sqlite3.connect(workdir / "mlflow" / "mlflow.db") as db:
        (run_id,) = db.execute("select run_uuid from runs").fetchone()
        tags = dict(db.execute("select key, value from tags where run_uuid = ?", (run_id,)))
        metrics = dict(db.execute("select key, value from latest_metrics where run_uuid = ?", (run_id,)))
        (description,) = db.execute("select description from model_versions").fetchone()
        datasets = db.execute("select name, digest, dataset_schema, dataset_profile from datasets").fetchall()
    assert tags["calibrate.decision"] == "adopt" and tags["calibrate.drift_verdict"] == "recalibrate"
    assert tags["calibrate.drift_reasons"] == "; ".join(drift["reasons"])
    for name, value in {"score": drift["psi"]["score"], **drift["psi"]["dimensions"]}.items():
        assert metrics[f"psi_{name}"] == pytest.approx(value)
    gain = result["recommendation"]["log_loss"]["gain"]
    assert (metrics["challenger_log_loss_gain_ci_low"], metrics["challenger_log_loss_gain_ci_high"]) == \
        pytest.approx((gain["ci_low"], gain["ci_high"]))
    assert "decision: adopt" in description and "drift: recalibrate" in description and "PSI: score" in description
    ((name, digest, schema, profile),) = datasets
    assert digest == read_config(result["config_path"]).provenance.data_sha256[:32]
    assert {c["name"] for c in json.loads(schema)["mlflow_colspec"]} >= {"account_id", "renewed", "usage"}
    assert profile is None  # digest and schema only: no rows, no row-level profile


def test_run_learned_rows_adds_the_additive_ceiling(workdir, capsys):
    """`--learned-rows` puts the free logit, learned sub-scores and additive ceiling on the board and in the report."""
    code, out, _ = run_cli(["run", "--json", "--n-boot", "1000", "--learned-rows", "--dry-run"], capsys)
    assert code == 0
    board = json.loads(out)["leaderboard"]
    rows = {row["method"]: row for row in board["methods"]}
    assert list(rows) == ["equal", "logit", "simplex", "ceiling", "logit_free", "learned", "additive"]
    additive = rows["additive"]["auc"]["value"]
    for method in ("simplex", "learned"):
        share = (rows[method]["auc"]["value"] - 0.5) / (additive - 0.5)
        assert board["share_of_additive"][method] == pytest.approx(share)
    assert not any("--learned-rows" in note for note in board["notes"])


def test_run_result_frame_and_plot(workdir):
    import numpy as np

    import calibrate as cb

    run = cb.recalibrate(cb.load_accounts(logistic_book(3000, seed=8)), n_boot=1000, n_boot_weights=30)
    frame = run.to_frame()
    assert list(frame["name"]) == ["critical", "red", "amber", "green"]
    assert frame["n"].sum() == run.validation.n
    ax = run.plot()
    heights = [p.get_height() for p in ax.patches]
    assert heights == list(run.config.weights.values())
    segments = ax.collections[0].get_segments()
    lows = np.array([s[0][1] for s in segments])
    assert lows == pytest.approx([run.weight_intervals.low[d] for d in run.config.weights])
