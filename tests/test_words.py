"""The analyst's command-line pieces (issue 15): tune-bands, --xlsx workbooks, explain with the config's own
dimensions, the number formats and the drift headline in words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate.cli import main
from calibrate.cli.options import bundled_data_path

ROOT = Path(__file__).resolve().parents[1]
V1 = ROOT / "data" / "account-health-v1.json"


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _bands_of(score: np.ndarray, bands: list[dict]) -> np.ndarray:
    return np.searchsorted([b["min"] for b in bands[1:]], score, side="right")


def test_tune_bands_respects_the_red_capacity(capsys):
    """The tuned cut-points keep at most --red-capacity of the snapshots red, every band >= --min-share, rates rising."""
    import calibrate as cb
    from calibrate.score.scorer import score_frame

    code, out, _ = run_cli(["tune-bands", "--config", str(V1), "--red-capacity", "0.08", "--json"], capsys)
    assert code == 0
    tuned = json.loads(out)["bands"]
    data = cb.load_accounts(str(bundled_data_path()))
    score = score_frame(data.frame, cb.read_config(V1), contributions=False, by="name")["score"].to_numpy()
    band = _bands_of(score, tuned)
    shares = np.bincount(band, minlength=4) / len(score)
    rates = [data.frame["renewed"].to_numpy()[band == k].mean() for k in range(4)]
    assert shares[:2].sum() <= 0.08 and shares.min() >= 0.02 and rates == sorted(rates)
    assert [b["name"] for b in tuned] == ["critical", "red", "amber", "green"]
    code, out, _ = run_cli(["tune-bands", "--config", str(V1), "--red-capacity", "0.08"], capsys)
    assert out.startswith("Tuned cut-points: ") and "renewal rate tuned" in out and "Nothing written" in out


def test_tune_bands_infeasible_capacity_is_exit_2_with_the_fix(capsys):
    code, out, err = run_cli(["tune-bands", "--config", str(V1), "--red-capacity", "0.01"], capsys)
    assert code == 2 and out == ""
    assert err == ("calibrate: error: no cut-points give every band >= 2% of rows, at most 1% at or below 'red' and "
                   "rising renewal rates; relax min_share or max_red_share\n")


def test_validate_xlsx_writes_one_sheet_per_table_with_headers_in_words(tmp_path, capsys):
    import openpyxl

    book = tmp_path / "validate.xlsx"
    code, out, err = run_cli(["validate", "--data", str(bundled_data_path()), "--config", str(V1), "--n-boot", "1000",
                              "--json", "--xlsx", str(book)], capsys)
    assert code == 0 and f"tables written to {book}" in err
    result = json.loads(out)
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Bands", "Red book", "Reliability", "Lift"]
    rows = list(wb["Bands"].values)
    header = list(rows[0])
    assert header[:4] == ["band", "from score", "to score", "snapshots"] or "snapshots" in header
    assert "renewal rate" in header and not any("_" in str(h) for h in header)
    n = {r[header.index("band")]: r[header.index("snapshots")] for r in rows[1:]}
    assert n == {b["name"]: b["n"] for b in result["bands"]}
    labels = [r[0] for r in list(wb["Red book"].values)[1:]]
    assert "churned ARR that was green" in labels and not any("_" in str(x) for x in labels)


def test_drift_xlsx_and_an_unwritable_workbook(tmp_path, capsys):
    import openpyxl

    book = tmp_path / "drift.xlsx"
    args = ["drift", "--data", str(bundled_data_path()), "--config", str(V1), "--no-refit", "--fail-on", "none"]
    code, out, err = run_cli([*args, "--xlsx", str(book)], capsys)
    assert code == 0
    assert openpyxl.load_workbook(book).sheetnames == ["Population drift", "Per quarter", "Band mix"]
    missing = tmp_path / "no" / "such" / "dir" / "drift.xlsx"
    code, out, err = run_cli([*args, "--xlsx", str(missing)], capsys)
    assert code == 2 and out == ""  # the tables are written before anything is printed
    assert err.count("\n") == 1 and err.startswith(f"calibrate: error: {missing}: No such file or directory; check the path")
    assert not missing.parent.exists()


def test_compare_xlsx(tmp_path, capsys):
    import openpyxl

    book = tmp_path / "compare.xlsx"
    code, _, _ = run_cli(["compare", "--current", str(V1), "--n-boot", "1000", "--xlsx", str(book)], capsys)
    assert code == 0
    sheet = list(openpyxl.load_workbook(book)["Leaderboard"].values)
    assert sheet[0][:3] == ("method", "AUC", "AUC, 95 % interval low")
    assert [r[0] for r in sheet[1:]][:2] == ["current weights", "equal weights"]


def test_explain_reads_the_config_s_own_dimensions(tmp_path, capsys):
    """A three-dimension config explains a book without the fourth default column (it used to need --spec)."""
    import calibrate as cb

    cfg = cb.read_config(V1)
    total = sum(d.weight for d in cfg.dimensions[:3])
    three = cfg.model_copy(update={"dimensions": [d.model_copy(update={"weight": d.weight / total})
                                                  for d in cfg.dimensions[:3]]}).sealed()
    (tmp_path / "three.json").write_text(three.model_dump_json(indent=2))
    pd.read_csv(bundled_data_path()).drop(columns=["commercial"]).to_csv(tmp_path / "three.csv", index=False)
    code, out, err = run_cli(["explain", "--data", str(tmp_path / "three.csv"), "--config", str(tmp_path / "three.json"),
                              "--account", "ACC-00500"], capsys)
    assert code == 0, err
    assert out.startswith("ACC-00500 fell from ") and "commercial" not in out


def test_numbers_for_people():
    from calibrate import _labels as L

    assert L.money(9925457.16) == "$9,925,457" and L.money(-1200) == "-$1,200" and L.money(float("nan")) == "n/a"
    assert L.pct(0.1234) == "12.3 %" and L.points(0.423) == "+42.3 pts" and L.count(15520.0) == "15,520"
    assert L.interval(0.971, 0.978, L.pct) == "97.1–97.8 %" and L.interval(0.398, 0.448, L.points) == "+39.8 to +44.8 pts"
    assert L.pvalue(0.0) == "< 0.001" and L.pvalue(0.163) == "0.16" and L.number(None) == "n/a"
    assert L.not_enough(needs=10, have=3) == "not enough data: needs 10 churned accounts (has 3)"
    assert L.label("auc_low") == "AUC, 95 % interval low" and L.label("noise_recalibrate") == "sampling noise (99 %)"
    assert L.glossary_key("log_loss_high") == "log_loss" and L.glossary_for("AUC (95 % interval)") == "auc"
    assert L.snake_case("share_red_or_below 0.111 and auc") == ["share_red_or_below"]
    assert L.value("missed_churn_arr", 9925457.16) == "$9,925,457" and L.value("brier", float("nan")) == "n/a"


def test_the_validation_text_never_prints_nan():
    """A book without calibrated probabilities: no Brier/ECE at all, never 'nan'."""
    import calibrate as cb

    cfg = cb.read_config(V1)
    data = cb.load_accounts(str(bundled_data_path()))
    v = cb.validate(data.subset(data.frame["snapshot_date"] >= "2025-01-01"), cfg, n_boot=1000)
    from dataclasses import replace

    text = replace(v, ece=float("nan"), cal_slope=float("nan"), cal_intercept=float("nan")).summary()
    assert "nan" not in text
    assert "calibration error (ECE) n/a" in text and "slope n/a" in text
