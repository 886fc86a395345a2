"""Engines (issue 16): DuckDB and Spark give the pandas engine's figures from aggregate queries.

The pandas path is the reference (itself checked against statsmodels / scikit-learn / closed forms in
test_validate.py and test_stats*.py). Data: 20,000 integer-valued snapshots (heavy score ties), 4,000 accounts over
five quarters, sorted by account so that both engines number accounts alike and draw the same bootstrap resamples.
One SparkSession for the whole test session (``spark`` fixture, from conftest.py), the Spark tests are marked slow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate import DataError, load_accounts, write_config
from calibrate.config import Dimension, default_bands
from calibrate.config.model import Calibration, WeightConfig
from calibrate.data.engines import open_engine
from calibrate.publish.export import export_sql, score_accounts, scoring_spec
from calibrate.validation.engine import validate_on_engine
from calibrate.validation.separation import validate

ROOT = Path(__file__).resolve().parent.parent
DIMS = ("usage", "engagement", "support", "commercial")


def _book(n_accounts: int = 4000, periods: int = 5, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_accounts * periods
    frame = pd.DataFrame({
        "account_id": np.repeat([f"A{i:05d}" for i in range(n_accounts)], periods),
        "snapshot_date": pd.to_datetime(np.tile(pd.date_range("2023-03-31", periods=periods, freq="QE"), n_accounts)),
        **{d: rng.integers(0, 101, n).astype(float) for d in DIMS},
        "arr": rng.gamma(2.0, 5000.0, n),
    })
    score = frame[list(DIMS)].to_numpy() @ np.array([0.4, 0.3, 0.2, 0.1])
    frame["renewed"] = (rng.random(n) < 1 / (1 + np.exp(-(score - 45) / 8))).astype(int)
    frame.loc[rng.choice(n, 300, replace=False), "renewed"] = np.nan  # pending renewals, counted apart
    return frame


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    frame = _book()
    path = tmp_path_factory.mktemp("engines") / "book.parquet"
    frame.to_parquet(path, coerce_timestamps="us")  # Spark reads microsecond timestamps, not pandas' nanoseconds
    return frame, path


@pytest.fixture(scope="module")
def config() -> WeightConfig:
    dims = [Dimension(name=d, column=d, weight=w) for d, w in zip(DIMS, (0.4, 0.3, 0.2, 0.1))]
    return WeightConfig(dimensions=dims, bands=default_bands(), version=1,
                        calibration=Calibration(intercept=-5.6, slope=0.125)).sealed()


@pytest.fixture(scope="module")
def reference(book: tuple[pd.DataFrame, Path], config: WeightConfig) -> dict:
    data = load_accounts(book[1], spec=scoring_spec(config), allow_pending=True)
    return validate(data, config, n_boot=1000, seed=3, by="period").to_dict()


@pytest.fixture(scope="module")
def spark(spark_session):
    """The test session's one SparkSession (tests/conftest.py)."""
    return spark_session


def _compare(ref: object, got: object, path: str = "") -> list[str]:
    """Paths where ``got`` differs from ``ref`` (numbers by more than 1e-9)."""
    if isinstance(ref, dict):
        if not isinstance(got, dict):
            return [f"{path}: {ref!r} != {got!r}"]
        return [p for k in ref for p in _compare(ref[k], got.get(k, "<missing>"), f"{path}/{k}")]
    if isinstance(ref, list):
        if not isinstance(got, list) or len(ref) != len(got):
            return [path]
        return [p for i, (a, b) in enumerate(zip(ref, got)) for p in _compare(a, b, f"{path}[{i}]")]
    if isinstance(ref, float) and isinstance(got, (int, float)):
        return [] if (np.isnan(ref) and np.isnan(got)) or abs(ref - got) <= 1e-9 else [f"{path}: {ref} != {got}"]
    return [] if ref == got else [f"{path}: {ref!r} != {got!r}"]


# On engines the red book, the CSM flag and the calibration slope/intercept are left out (docs/scale.md).
_LEFT_OUT = ("/red", "/csm", "/calibration/intercept", "/calibration/slope")


def _differences(ref: dict, got: dict) -> list[str]:
    return [d for d in _compare(ref, got) if not any(part in d.split(":")[0] for part in _LEFT_OUT)]


def test_duckdb_gives_the_pandas_figures(book, config, reference) -> None:
    with open_engine("duckdb", book[1], spec=scoring_spec(config), allow_pending=True) as engine:
        got = validate_on_engine(engine, config, n_boot=1000, seed=3, by="period").to_dict()
    assert _differences(reference, got) == []
    assert [b["n"] for b in got["bands"]] == [b["n"] for b in reference["bands"]]  # exactly
    assert got["spread"]["ci_low"] == reference["spread"]["ci_low"]  # the same bootstrap draws
    assert got["n_pending"] == 300 and len(got["groups"]) == 5


def test_duckdb_refuses_bad_data_with_the_loaders_message(book, config, tmp_path: Path) -> None:
    bad = book[0].copy()
    bad.loc[10, "usage"] = 130.0
    path = tmp_path / "bad.parquet"
    bad.to_parquet(path)
    with pytest.raises(DataError, match=r"^.*bad\.parquet: column 'usage': value 130 out of range 0-100 at 1 row "
                                        r"\(account 'A00002' among them\); rescale the sub-score to 0-100"):
        open_engine("duckdb", path, spec=scoring_spec(config), allow_pending=True)
    dup = pd.concat([book[0], book[0].iloc[[5]]])
    dup.to_parquet(path)
    with pytest.raises(DataError, match=r"duplicate \(account_id, snapshot_date\) at 1 row \(account 'A00001'\)"):
        open_engine("duckdb", path, spec=scoring_spec(config), allow_pending=True)


@pytest.mark.parametrize("bitmaps", [True, False], ids=["day-bitmaps", "pair-hash"])
def test_duckdb_duplicate_screen_finds_every_repeat_and_passes_clean_data(book, config, tmp_path: Path, monkeypatch,
                                                                           bitmaps: bool) -> None:
    """The duplicate screen (per-account day bitmaps, or the hash of the pair when they would not fit) passes the
    clean book and sends every kind of repeat to the exact count: a dated pair twice, an account's two undated rows."""
    from calibrate.data import engine_checks

    if not bitmaps:
        monkeypatch.setattr(engine_checks, "_BITMAP_BYTES", 0)
    seen = []
    real = engine_checks._repeats_possible
    monkeypatch.setattr(engine_checks, "_repeats_possible", lambda *a: seen.append(real(*a)) or seen[-1])
    with open_engine("duckdb", book[1], spec=scoring_spec(config), allow_pending=True):
        pass
    assert seen == [False]
    path = tmp_path / "dup.parquet"
    undated = book[0].astype({"snapshot_date": str})
    undated.loc[[3, 4], "account_id"] = "A09999"
    undated.loc[[3, 4], "snapshot_date"] = "not a date"  # read as NULL on the engine: the pair (A09999, NULL) twice
    for frame, account in ((pd.concat([book[0], book[0].iloc[[5]]]), "A00001"), (undated, "A09999")):
        frame.to_parquet(path)
        with pytest.raises(DataError, match=rf"duplicate \(account_id, snapshot_date\) at 1 row \(account '{account}'\)"):
            open_engine("duckdb", path, spec=scoring_spec(config), allow_pending=True)
    assert seen == [False, True, True]


def test_duckdb_reads_number_boolean_and_text_outcomes_alike(book, config, tmp_path: Path) -> None:
    """An integer or boolean outcome column is compared as a number (no text per row), a text one through the
    labels: the same validation; a number that is not 0/1 is refused with the loader's message."""
    decided = book[0].dropna(subset=["renewed"]).reset_index(drop=True)
    path = tmp_path / "outcomes.parquet"
    figures = []
    for frame in (decided.astype({"renewed": int}), decided.astype({"renewed": bool}),
                  decided.assign(renewed=decided["renewed"].map({1.0: "Yes", 0.0: "no"}))):
        frame.to_parquet(path)
        with open_engine("duckdb", path, spec=scoring_spec(config)) as engine:
            figures.append(validate_on_engine(engine, config, n_boot=200).to_dict())
    # (ARR sums are DuckDB's parallel float sums: equal to 1e-9, not always to the last bit)
    assert _differences(figures[0], figures[1]) == [] and _differences(figures[0], figures[2]) == []
    assert [b["n"] for b in figures[0]["bands"]] == [b["n"] for b in figures[2]["bands"]]
    bad = decided.astype({"renewed": int})
    bad.loc[3, "renewed"] = 2
    bad.to_parquet(path)
    with pytest.raises(DataError, match=r"column 'renewed': outcome '2' at 1 row is not 0/1, true/false or yes/no"):
        open_engine("duckdb", path, spec=scoring_spec(config))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_cli_engine_duckdb(book, config, tmp_path: Path) -> None:
    cfg = write_config(config, tmp_path / "configs")
    out = tmp_path / "scores.parquet"
    res = _cli("score", "--engine", "duckdb", "--data", str(book[1]), "--config", str(cfg), "--out", str(out),
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    got = pd.read_parquet(out).sort_values(["account_id", "snapshot_date"]).reset_index(drop=True)
    want = score_accounts(book[1], config)
    assert list(got.columns) == list(want.columns)
    assert (got["band"] == want["band"]).all() and (got["band_index"] == want["band_index"]).all()
    num = [c for c in want.columns if c.startswith(("score", "p_renew", "contribution_"))]
    assert np.abs(got[num].to_numpy() - want[num].to_numpy()).max() <= 1e-9
    assert (got["snapshot_date"] == want["snapshot_date"]).all()

    bad = book[0].assign(renewed=book[0]["renewed"].map({1.0: "yes", 0.0: "no"}))
    bad.loc[3, "renewed"] = "maybe"
    bad.to_parquet(tmp_path / "bad.parquet")
    res = _cli("validate", "--engine", "duckdb", "--data", str(tmp_path / "bad.parquet"), "--config", str(cfg),
               cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "column 'renewed': outcome 'maybe' at 1 row is not 0/1, true/false or yes/no; map the labels" in res.stderr

    res = _cli("validate", "--engine", "duckdb", "--query", "SELECT 1", "--data", str(book[1]), "--config", str(cfg),
               cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "--query is not supported with --engine duckdb; use --engine pandas" in res.stderr
    for args in (("--spec", str(tmp_path / "calibrate.yaml")), ("--outcome", "Churn", "--churned-value", "Yes")):
        res = _cli("validate", "--engine", "duckdb", *args, "--data", str(book[1]), "--config", str(cfg), cwd=tmp_path)
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
        assert "not supported with --engine duckdb; use --engine pandas, or give --data a table or view whose " \
               "columns carry calibrate's names" in res.stderr

    res = _cli("validate", "--engine", "duckdb", "--data", str(book[1]), "--config", str(cfg), "--json",
               "--n-boot", "1000", "--seed", "3", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    data = load_accounts(book[1], spec=scoring_spec(config), allow_pending=True)
    assert _differences(validate(data, config, n_boot=1000, seed=3).to_dict(), got) == []


def test_spark_options_need_the_spark_engine_and_pyspark(book, config, monkeypatch: pytest.MonkeyPatch) -> None:
    from calibrate.cli.options import EngineArgs
    from calibrate.errors import ParameterError

    with pytest.raises(ParameterError, match=r"^--spark-master/--spark-conf need --engine spark \(got --engine duckdb\)$"):
        EngineArgs("duckdb", spark_master="local[1]").refuse()
    with pytest.raises(ParameterError, match=r"^--spark-conf 'x': expected key=value"):
        EngineArgs("spark", spark_conf=("x",)).conf()
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # as if pyspark were not installed
    with pytest.raises(DataError, match=r"^--engine spark needs pyspark: install calibrate-health\[spark\]"):
        open_engine("spark", book[1], spec=scoring_spec(config))


@pytest.mark.slow
def test_spark_gives_the_pandas_figures_and_scores(book, config, reference, spark) -> None:
    engine = open_engine("spark", book[1], spec=scoring_spec(config), allow_pending=True, spark_session=spark)
    got = validate_on_engine(engine, config, n_boot=1000, seed=3).to_dict()  # the groups: DuckDB's test
    reference = {k: v for k, v in reference.items() if k not in ("by", "groups")}  # the book-wide figures
    # Java's exp differs from numpy's by an ulp at times, so rows whose p ties (at the ulp) with a p decile's edge
    # may fall in the next bin: the reliability curve and the ECE agree to 1e-3 there, everything else to 1e-9
    binned = ("/calibration/reliability", "/calibration/ece")
    assert [d for d in _differences(reference, got) if not any(b in d for b in binned)] == []
    assert abs(reference["calibration"]["ece"] - got["calibration"]["ece"]) <= 1e-3
    # the export's spark dialect scores in Spark as calibrate does
    rows = spark.sql(export_sql(config, dialect="spark", table="calibrate_source").split("\n", 3)[3]).collect()
    got_scores = pd.DataFrame([r.asDict() for r in rows]).sort_values(["account_id", "snapshot_date"])
    want = score_accounts(book[1], config)
    assert np.abs(got_scores["score"].to_numpy() - want["score"].to_numpy()).max() <= 1e-9
    assert (got_scores["band"].to_numpy() == want["band"].to_numpy()).all()
    bad = book[0].copy()
    bad.loc[0, "support"] = -1.0
    path = book[1].with_name("bad_spark.parquet")
    bad.to_parquet(path, coerce_timestamps="us")
    with pytest.raises(DataError, match=r"column 'support': value -1 out of range 0-100 at 1 row \(account 'A00000'"):
        open_engine("spark", path, spec=scoring_spec(config), allow_pending=True, spark_session=spark)


def test_engine_refusals_name_the_problem_and_the_fix(book, config, tmp_path: Path) -> None:
    from calibrate.data.load import DataSpec
    from calibrate.publish.export import score_on_engine

    with pytest.raises(DataError, match=r"nope-\*\.parquet: no such file \(or no file matches the glob\); check the path$"):
        open_engine("duckdb", str(tmp_path / "nope-*.parquet"), spec=scoring_spec(config))
    with pytest.raises(DataError, match=r"^--engine duckdb: a date format \(date_format\) is supported by the pandas "
                                        r"engine only; use --engine pandas, or prepare the column in the warehouse$"):
        open_engine("duckdb", book[1], spec=DataSpec(dimensions=DIMS, date_format="%d/%m/%Y"))
    with pytest.raises(DataError, match=r"^--engine must be one of \['duckdb', 'spark'\] here \(got 'polars'\)"):
        open_engine("polars", book[1], spec=scoring_spec(config))
    with pytest.raises(DataError, match=r"^no_such_table: the duckdb engine could not read or query the data \(.*\); "
                                        r"check --data \(a Parquet file or glob, a CSV file, or a table name\)$"):
        open_engine("duckdb", "no_such_table", spec=scoring_spec(config))
    with open_engine("duckdb", book[1], spec=scoring_spec(config), require_outcome=False) as engine:
        with pytest.raises(DataError, match=r"scores\.csv: --engine duckdb writes Parquet; name the file \.parquet$"):
            score_on_engine(engine, config, tmp_path / "scores.csv")
    assert not (tmp_path / "scores.csv").exists()


def _broken(rule: str) -> pd.DataFrame:
    """A 400-row book breaking one contract rule at one row."""
    frame = _book(200, 2).drop(columns="arr").assign(renewed=lambda f: f["renewed"].fillna(1).astype(int),
                                                     arr=1000.0, renewal_date=pd.Timestamp("2025-01-31"))
    text = frame["usage"].astype(str)
    change = {
        "nonnum": ("usage", text.where(frame.index != 4, "abc")),
        "nan": ("usage", text.where(frame.index != 4, "nan")),
        "gap": ("usage", frame["usage"].where(frame.index != 4)),
        "range": ("support", frame["support"].where(frame.index != 4, -2.0)),
        "noid": ("account_id", frame["account_id"].where(frame.index != 4)),
        "leak": ("renewal_date", frame["renewal_date"].where(frame.index != 4, pd.Timestamp("2020-01-01"))),
        "arr": ("arr", frame["arr"].where(frame.index != 4, -1.0)),
        "unit": ("usage", frame["usage"]),
        "oneclass": ("renewed", 1),
    }[rule]
    frame[change[0]] = change[1]
    if rule == "unit":
        frame[list(DIMS)] = frame[list(DIMS)] / 100
    return frame


@pytest.mark.parametrize(("rule", "message"), [
    ("nonnum", r"column 'usage': non-numeric value 'abc' at 1 row \(account 'A00002' among them\)"),
    ("nan", r"column 'usage': value nan out of range 0-100 at 1 row \(account 'A00002' among them\)"),
    ("gap", r"column 'usage': missing sub-score at 1 row \(account 'A00002' among them\)"),
    ("range", r"column 'support': value -2 out of range 0-100 at 1 row \(account 'A00002' among them\)"),
    ("noid", r"column 'account_id': empty account id at 1 row"),
    ("leak", r"column 'renewal_date': renewal on or before the snapshot at 1 row \(account 'A00002' among them\)"),
    ("arr", r"column 'arr': ARR must be a number >= 0; bad at 1 row \(account 'A00002' among them\)$"),
    ("unit", r"all lie in \[0, 1\] — looks like a 0–1 scale"),
    ("oneclass", r"column 'renewed': every row is renewed"),
])
def test_duckdb_contract_scan_refuses_each_rule(rule: str, message: str, tmp_path: Path) -> None:
    """The contract's one scan of counts, minima and maxima finds each broken rule; the follow-up query counts it."""
    from calibrate.data.load import DataSpec
    from calibrate.errors import LeakageError

    path = tmp_path / "bad.parquet"
    _broken(rule).to_parquet(path)
    with pytest.raises(LeakageError if rule == "leak" else DataError, match=message):
        open_engine("duckdb", path, spec=DataSpec(dimensions=DIMS))
    if rule == "oneclass":  # the same book with both classes opens
        frame = _broken(rule)
        frame.loc[0, "renewed"] = 0
        frame.to_parquet(path)
        open_engine("duckdb", path, spec=DataSpec(dimensions=DIMS)).close()
