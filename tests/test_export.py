"""Config validation/publishing through the CLI, the reference scorer on files, and the SQL export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import sqlglot
from _postgres import copy_frame, postgres_url  # noqa: F401  (fixture)
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from calibrate import DataError, WeightConfig, load_accounts, read_config, write_config
from calibrate.config import Dimension, default_bands
from calibrate.config.model import Calibration, Transform
from calibrate.data.sql import read_sql
from calibrate.publish.export import export_sql, load_for_scoring, score_accounts
from calibrate.score.scorer import score_frame

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def make_config(missing="error", version=1, weights=(0.4, 0.25, 0.2, 0.15), **kw) -> WeightConfig:
    names = ("usage", "engagement", "support", "commercial")
    dims = [Dimension(name=n, column=n, weight=w, direction="lower_is_healthier" if n == "support" else "higher_is_healthier")
            for n, w in zip(names, weights)]
    return WeightConfig(dimensions=dims, bands=default_bands(), missing=missing, version=version,
                        calibration=Calibration(intercept=-2.5, slope=0.08), **kw)


def test_config_validate_ok_tampered_and_overwrite_exit_codes(tmp_path):
    path = write_config(make_config(), tmp_path / "configs")
    ok = cli("config", "validate", str(path), "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["valid"] is True and json.loads(ok.stdout)["version"] == 1

    doc = json.loads(path.read_text())
    doc["dimensions"][0]["weight"], doc["dimensions"][1]["weight"] = 0.25, 0.4
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    bad = cli("config", "validate", str(tampered), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "content_hash does not match the content — the file was edited by hand" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

    before = path.read_bytes()
    draft = tmp_path / "draft.json"
    draft.write_text(make_config(weights=(0.1, 0.2, 0.3, 0.4)).to_json())
    again = cli("config", "publish", str(draft), "--configs", str(tmp_path / "configs"), cwd=tmp_path)
    assert again.returncode == 2
    assert "account-health v1 was issued already (highest issued v1) and a number is never reused" in again.stderr
    assert path.read_bytes() == before
    # version 0 draft gets the next free version instead
    draft.write_text(make_config(weights=(0.1, 0.2, 0.3, 0.4), version=0).to_json())
    new = cli("config", "publish", str(draft), "--configs", str(tmp_path / "configs"), "--json", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert json.loads(new.stdout)["version"] == 2 and (tmp_path / "configs" / "account-health-v2.json").is_file()


def test_loading_for_scoring_needs_no_outcome_and_keeps_gaps_only_when_redistributing(book):
    frame = book.drop(columns="renewed")
    frame.loc[3, "usage"] = np.nan
    with pytest.raises(DataError, match=r"missing column\(s\) \['renewed'\]"):
        load_accounts(frame)  # fitting still needs the outcome
    with pytest.raises(DataError, match=r"column 'usage': missing sub-score at row 4"):
        load_for_scoring(frame, make_config("error"))
    acc = load_for_scoring(frame, make_config("redistribute"))
    assert np.isnan(acc.frame.loc[3, "usage"]) and "renewed" not in acc.frame and acc.n_churned == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_command_writes_the_reference_scores(tmp_path, book, suffix):
    book = book.drop(columns="renewed")
    book.loc[5, "engagement"] = np.nan
    data = tmp_path / "book.csv"
    book.to_csv(data, index=False)
    cfg_path = write_config(make_config("redistribute"), tmp_path)
    out = tmp_path / f"scores{suffix}"
    res = cli("score", "--data", str(data), "--config", str(cfg_path), "--out", str(out), "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rows"] == len(book)
    got = (pd.read_csv(out, dtype={"account_id": str}, float_precision="round_trip") if suffix == ".csv"
           else pd.read_parquet(out))
    assert list(got.columns[:2]) == ["account_id", "snapshot_date"]
    assert {"score", "band", "band_code", "p_renew", "contribution_usage"} <= set(got.columns)
    contrib = got.filter(like="contribution_").to_numpy()
    np.testing.assert_array_equal(contrib.sum(axis=1), got["score"].to_numpy())  # exactly, as score_values sums them
    # independent reference: the weighted sum by hand, inverted support, weight redistributed on row 5
    w = {"usage": 0.4, "engagement": 0.25, "support": 0.2, "commercial": 0.15}
    healthy = book[list(w)].assign(support=100 - book["support"])
    expected = sum(w[d] * healthy[d] for d in w)
    expected[5] = (0.4 * healthy.usage[5] + 0.2 * healthy.support[5] + 0.15 * healthy.commercial[5]) / 0.75
    np.testing.assert_allclose(got["score"], expected, rtol=0, atol=1e-9)
    edges = np.array([25, 50, 75])
    names = np.array(["critical", "red", "amber", "green"])
    assert (got["band"].to_numpy() == names[np.searchsorted(edges, expected, side="right")]).all()


def test_score_command_refuses_missing_values_under_the_error_rule_and_bad_out(tmp_path, book):
    book.loc[2, "support"] = np.nan
    data = tmp_path / "book.csv"
    book.to_csv(data, index=False)
    cfg_path = write_config(make_config("error"), tmp_path)
    res = cli("score", "--data", str(data), "--config", str(cfg_path), "--out", str(tmp_path / "s.csv"), cwd=tmp_path)
    assert res.returncode == 2 and "column 'support': missing sub-score at row 3" in res.stderr
    assert not (tmp_path / "s.csv").exists()
    res = cli("score", "--data", str(data), "--config", str(cfg_path), "--out", str(tmp_path / "s.xlsx"), cwd=tmp_path)
    assert res.returncode == 2 and "unknown output type '.xlsx'" in res.stderr


def _duckdb_scores(frame: pd.DataFrame, cfg: WeightConfig, table: str = "accounts", dialect: str = "duckdb") -> pd.DataFrame:
    """Run the ``dialect`` export in DuckDB: as is, or parsed back with sqlglot and transpiled to DuckDB."""
    sql = export_sql(cfg, dialect=dialect, table=table)
    if dialect != "duckdb":
        sql = sqlglot.transpile(sql, read=dialect, write="duckdb")[0]
    con = duckdb.connect()
    con.register("accounts_view", frame)
    con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM accounts_view')
    got = con.sql(sql).df().rename(columns=str.lower)  # Snowflake writes the output names upper case
    return got.sort_values("row_id").reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(*[st.one_of(st.none(), st.floats(0, 100), st.sampled_from([0.0, 25.0, 50.0, 75.0, 100.0]))] * 4),
                min_size=1, max_size=30),
       st.sampled_from(["error", "redistribute"]))
@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "bigquery"])
def test_sql_export_in_duckdb_matches_score_frame(dialect, rows, missing):
    names = ["usage", "engagement", "support", "commercial"]
    frame = pd.DataFrame(rows, columns=names, dtype=float).assign(row_id=lambda f: np.arange(len(f)))
    cfg = make_config(missing)
    got = _duckdb_scores(frame, cfg, dialect=dialect)
    complete = frame[names].notna().all(axis=1).to_numpy()
    if missing == "error":  # SQL cannot refuse a row: its score is NULL; Python refuses the file
        assert got["score"].isna().to_numpy().tolist() == (~complete).tolist()
        frame, got = frame[complete], got[complete]
        if frame.empty:
            return
    ref = score_frame(frame, cfg)
    np.testing.assert_allclose(got["score"], ref["score"], rtol=0, atol=1e-9)
    assert got["band_index"].tolist() == ref["band_index"].tolist()
    assert got["band"].fillna("-").tolist() == ref["band"].fillna("-").tolist()
    assert got["band_code"].fillna("-").tolist() == ref["band_code"].fillna("-").tolist()
    np.testing.assert_allclose(got["p_renew"], ref["p_renew"], rtol=0, atol=1e-12)
    for d in names:
        np.testing.assert_allclose(got[f"contribution_{d}"], ref[f"contribution_{d}"], rtol=0, atol=1e-12)


def test_sql_band_edges_are_half_open_after_rounding():
    # every sub-score 75 gives 75 up to floating-point error: the green band, in SQL as in Python
    frame = pd.DataFrame({d: [75.0, 74.9999999, 25.0, 100.0] for d in ("usage", "engagement", "commercial")})
    frame["support"] = 100 - frame["usage"]  # inverted
    frame["row_id"] = range(4)
    cfg = make_config(weights=(0.1, 0.7, 0.1, 0.1))
    got = _duckdb_scores(frame, cfg)
    assert got["band"].tolist() == ["green", "amber", "red", "green"] == score_frame(frame, cfg)["band"].tolist()


def test_identifiers_are_quoted_per_dialect():
    dims = [Dimension(name="usage", column='Usage "Score"', weight=0.5), Dimension(name="b", column="b`x", weight=0.5)]
    cfg = WeightConfig(dimensions=dims, bands=default_bands())
    pg = export_sql(cfg, dialect="postgres", table="cs.accounts")
    assert '"src"."Usage ""Score"""' in pg and 'FROM "cs"."accounts" AS "src"' in pg
    assert 'ROUND(CAST("s"."score" AS DECIMAL), 9)' in pg  # PostgreSQL rounds NUMERIC only
    # Snowflake: plain lowercase names are case-insensitive there (stored upper case); others exact
    sf = export_sql(cfg, dialect="snowflake", table="cs.accounts")
    assert 'FROM "CS"."ACCOUNTS" AS "SRC"' in sf and '"SRC"."Usage ""Score"""' in sf and 'AS "SCORE"' in sf
    bq = export_sql(cfg, dialect="bigquery", table="proj.ds.accounts")
    assert "`src`.`b\\`x`" in bq and "FROM `proj`.`ds`.`accounts` AS `src`" in bq and "FLOAT64" in bq
    # odd names survive a real engine
    frame = pd.DataFrame({'Usage "Score"': [80.0], "b`x": [40.0], "row_id": [0]})
    assert _duckdb_scores(frame, cfg, table="my table")["score"].iloc[0] == 60.0


def test_snowflake_export_resolves_the_columns_of_a_table_created_without_quotes():
    """sqlglot's model of Snowflake name resolution: unquoted names are stored upper case, quoted ones exactly."""
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
    from sqlglot.optimizer.qualify import qualify

    dims = [Dimension(name="usage", column="usage", weight=0.6), Dimension(name="nps", column="NPS Score", weight=0.4)]
    cfg = WeightConfig(dimensions=dims, bands=default_bands())
    ddl = 'CREATE TABLE cs.accounts (account_id VARCHAR, usage FLOAT, "NPS Score" FLOAT)'  # as a user would
    table = normalize_identifiers(sqlglot.parse_one(ddl, read="snowflake"), dialect="snowflake").this
    schema = {table.this.db: {table.this.name: {c.name: c.args["kind"].sql("snowflake") for c in table.expressions}}}
    assert list(schema["CS"]["ACCOUNTS"]) == ["ACCOUNT_ID", "USAGE", "NPS Score"]
    query = sqlglot.parse_one(export_sql(cfg, dialect="snowflake", table="cs.accounts"), read="snowflake")
    qualified = qualify(query, schema=schema, dialect="snowflake", validate_qualify_columns=True)  # raises if unresolved
    assert {c.name for c in qualified.find_all(exp.Column) if c.table == "SRC"} == {"ACCOUNT_ID", "USAGE", "NPS Score"}


def _transform_config(missing: str) -> WeightConfig:
    dims = [Dimension(name="usage", column="seconds", weight=0.5,
                      transform=Transform(kind="percentile", knots=[0.0, 60.0, 600.0, 3600.0], values=[0.0, 40.0, 80.0, 100.0])),
            Dimension(name="support", column="tickets", weight=0.3, direction="lower_is_healthier",
                      transform=Transform(kind="minmax", knots=[1.0, 9.0], values=[0.0, 100.0])),
            Dimension(name="commercial", column="commercial", weight=0.2)]
    cal = Calibration(method="isotonic", intercept=-2.5, slope=0.08, knots=[20.0, 50.0, 80.0], probabilities=[0.1, 0.6, 0.9])
    return WeightConfig(dimensions=dims, bands=default_bands(), missing=missing, calibration=cal)


def _raw_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 400
    frame = pd.DataFrame({"row_id": np.arange(n), "account_id": [f"A{i:03d}" for i in range(n)], "seconds": rng.uniform(-10, 4000, n), "tickets": rng.integers(0, 12, n) * 1.0,
                          "commercial": rng.choice([0.0, 25.0, 50.0, 75.0, 100.0], n)})
    frame.loc[[0, 1], "seconds"] = [60.0, 3600.0]  # on the knots
    frame.loc[::7, "seconds"] = np.nan
    frame.loc[::11, "tickets"] = np.nan
    frame.loc[::77, ["seconds", "tickets", "commercial"]] = np.nan  # nothing present: no score
    return frame


def _assert_scores_like_python(got: pd.DataFrame, frame: pd.DataFrame, cfg: WeightConfig) -> None:
    ref = score_frame(frame, cfg, by="column")
    np.testing.assert_allclose(got["score"].astype(float), ref["score"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["p_renew"].astype(float), ref["p_renew"], rtol=0, atol=1e-12)
    assert got["band"].fillna("-").tolist() == ref["band"].fillna("-").tolist()
    assert got["band_index"].tolist() == ref["band_index"].tolist()


@pytest.mark.parametrize("dialect", ["duckdb", "snowflake", "bigquery"])
def test_transforms_isotonic_and_redistribution_score_like_python_in_every_dialect(dialect):
    frame, cfg = _raw_frame(), _transform_config("redistribute")
    got = _duckdb_scores(frame, cfg, dialect=dialect)
    assert got["score"].isna().sum() == len(range(0, 400, 77))
    _assert_scores_like_python(got, frame, cfg)


def test_postgres_export_scores_like_python(postgres_url):  # noqa: F811
    frame, cfg = _raw_frame(), _transform_config("redistribute")
    copy_frame(postgres_url, "raw_accounts", frame, {c: {"row_id": "integer", "account_id": "text"}.get(c, "double precision") for c in frame})
    got, _, _ = read_sql(postgres_url, export_sql(cfg, dialect="postgres", table="public.raw_accounts") + ";")
    _assert_scores_like_python(got.sort_values("row_id").reset_index(drop=True), frame, cfg)


def test_export_sql_command(tmp_path):
    cfg_path = write_config(make_config(), tmp_path)
    res = cli("export-sql", "--config", str(cfg_path), "--dialect", "postgres", "--table", "cs.book", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout == export_sql(read_config(cfg_path), dialect="postgres", table="cs.book")
    assert "-- account-health v1:" in res.stdout and "content_hash sha256:" in res.stdout
    bad = cli("export-sql", "--config", str(cfg_path), "--dialect", "oracle", cwd=tmp_path)
    assert bad.returncode == 2 and "oracle" in bad.stderr
    deep = cli("export-sql", "--config", str(cfg_path), "--table", "a.b.c.d", "--out", str(tmp_path / "s.sql"), cwd=tmp_path)
    assert deep.returncode == 2 and deep.stdout == "" and not (tmp_path / "s.sql").exists()
    assert deep.stderr == "calibrate: error: table 'a.b.c.d': name it as table, schema.table or catalog.schema.table\n"


def test_score_accounts_python_api_matches_the_command_columns(book):
    out = score_accounts(book, make_config())
    assert list(out.columns[:3]) == ["account_id", "snapshot_date", "score"]
    assert out["account_id"].tolist() == book["account_id"].tolist()
