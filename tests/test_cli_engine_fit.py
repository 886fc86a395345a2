"""``fit``, ``drift`` and ``run`` with ``--engine duckdb``: the same figures as the pandas engine, and every
combination the engines do not support refused with exit 2 and one line."""

from __future__ import annotations

import json

import pytest

from calibrate.cli import main
from calibrate.config.model import write_config
from calibrate.data.load import load_accounts
from calibrate.drift.detect import fit_reference_config
from calibrate.fit.weights import fit_weights
from conftest import logistic_book


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """4,000 accounts × 5 quarterly snapshots (20,000 rows) as Parquet, and a config with a drift reference."""
    root = tmp_path_factory.mktemp("cli-engine")
    frame = logistic_book(4000, seed=11, snapshots=5)
    frame.to_parquet(root / "book.parquet")
    config = fit_reference_config(load_accounts(frame), train_until="2025-04-30", n_boot=1000)
    path = write_config(config.model_copy(update={"version": 1}), root)
    return frame, root / "book.parquet", path


def test_fit_on_duckdb_gives_the_pandas_weights(files, capsys):
    frame, parquet, _ = files
    code, out, err = run_cli(["fit", "--engine", "duckdb", "--data", str(parquet), "--dry-run", "--json",
                              "--n-boot", "1000", "--floor", "0.02"], capsys)
    assert code == 0, err
    payload = json.loads(out)
    want = fit_weights(load_accounts(frame), floor=0.02)
    for name, w in want.weights.items():
        assert payload["fit"]["weights"][name] == pytest.approx(w, abs=1e-4)
    assert payload["status"] == "dry-run" and payload["engine"] == "duckdb"
    assert payload["weight_intervals"] is None and "no weight intervals" in payload["notes"][0]


def test_drift_on_duckdb_gives_the_pandas_psi(files, capsys):
    _, parquet, config = files
    args = ["drift", "--data", str(parquet), "--config", str(config), "--json", "--no-refit", "--fail-on", "none"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    want = json.loads(out)
    code, out, err = run_cli(args + ["--engine", "duckdb"], capsys)
    assert code == 0, err
    got = json.loads(out)
    assert got["verdict"] == want["verdict"] and got["reasons"] == want["reasons"]
    assert got["psi"]["score"] == pytest.approx(want["psi"]["score"], abs=1e-9)
    for name, value in want["psi"]["dimensions"].items():
        assert got["psi"]["dimensions"][name] == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("args, message", [
    (["fit", "--engine", "duckdb"], "fit --engine duckdb publishes no config yet (its calibration, baseline and drift "
                                    "reference need the rows in memory); pass --dry-run to see the fit and its "
                                    "intervals, or use --engine pandas"),
    (["fit", "--engine", "duckdb", "--dry-run", "--method", "logit"],
     "method='logit' is not supported by the fit on --engine duckdb (the simplex fit with floor, cap, fixed, a numeric "
     "stability and weight_by is); drop it or use --engine pandas"),
    (["fit", "--engine", "duckdb", "--dry-run", "--stability", "auto"],
     "stability='auto' is not supported by the fit on --engine duckdb"),
    (["fit", "--engine", "duckdb", "--dry-run", "--orient", "auto"],
     "fit --engine duckdb: --orient auto is not supported on engines; use --engine pandas"),
    (["fit", "--engine", "duckdb", "--dry-run", "--by-segment", "segment"],
     "fit --engine duckdb: --by-segment is not supported on engines; use --engine pandas"),
    (["run", "--engine", "duckdb"], "run --engine duckdb: the quarterly run (report, leaderboard, published config) "
                                    "needs the rows in memory; use --engine pandas"),
    (["fit", "--engine", "duckdb", "--dry-run", "--spark-master", "local[1]"],
     "--spark-master/--spark-conf need --engine spark (got --engine duckdb)"),
])
def test_unsupported_engine_combinations_exit_2_with_one_line(files, capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)  # nothing may be written: an empty directory stays empty
    code, out, err = run_cli(args + ["--data", str(files[1])], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_drift_on_duckdb_refuses_a_query(files, capsys):
    _, parquet, config = files
    code, _, err = run_cli(["drift", "--engine", "duckdb", "--data", str(parquet), "--config", str(config),
                            "--query", "SELECT 1"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "--query is not supported with --engine duckdb; use --engine pandas" in err
