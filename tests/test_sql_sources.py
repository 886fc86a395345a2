"""Database sources: PostgreSQL (a real server started by the tests) and DuckDB files load like the CSV,
and the password never reaches the Accounts, the config, the report or the MLflow store."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from _postgres import PG_PASSWORD, copy_frame, postgres_url  # noqa: F401  (fixture)

from calibrate import DataError, load_accounts, recalibrate
from calibrate.data.sql import redact_url

BOOK_TYPES = {"account_id": "text", "snapshot_date": "date", "renewal_date": "date", "renewed": "integer",
              "arr": "double precision", "segment": "text", "usage": "double precision",
              "engagement": "double precision", "support": "double precision", "commercial": "double precision"}
QUERY = "SELECT * FROM book ORDER BY account_id"


@pytest.fixture(scope="module")
def pg_book(postgres_url):  # noqa: F811
    from conftest import logistic_book

    frame = logistic_book(3000, seed=7)
    copy_frame(postgres_url, "book", frame, BOOK_TYPES)
    return postgres_url


def test_postgres_gives_the_same_accounts_as_the_csv(pg_book, book_csv):
    from_csv = load_accounts(book_csv)
    from_pg = load_accounts(pg_book, query=QUERY)
    pd.testing.assert_frame_equal(from_pg.frame, from_csv.frame)
    assert from_pg.source == redact_url(pg_book) == pg_book.replace(PG_PASSWORD, "***")
    assert PG_PASSWORD not in repr(from_pg) and len(from_pg.sha256) == 64


def test_duckdb_file_gives_the_same_accounts_as_the_csv(tmp_path, book, book_csv):
    path = tmp_path / "cs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("b", book)
        con.execute("CREATE TABLE book AS SELECT * FROM b")
    from_duckdb = load_accounts(f"duckdb:///{path}", query=QUERY)
    pd.testing.assert_frame_equal(from_duckdb.frame, load_accounts(book_csv).frame)


def test_password_from_the_environment(pg_book, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)
    bare = pg_book.replace(f":{PG_PASSWORD}@", "@")
    acc = load_accounts(bare, query=QUERY)
    assert len(acc) == 3000 and acc.source == bare


def test_errors_are_one_line_and_redacted(pg_book, monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    wrong = pg_book.replace(PG_PASSWORD, "Wr0ng-pw-42")
    with pytest.raises(DataError, match=r"postgresql://calibrate:\*\*\*@127\.0\.0\.1:\d+/postgres: query failed") as info:
        load_accounts(wrong, query=QUERY)
    assert "Wr0ng-pw-42" not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DataError, match=r"query failed \(.*no_such_table.*\); check the URL"):
        load_accounts(pg_book, query="SELECT * FROM no_such_table")
    with pytest.raises(DataError, match=r"a database source needs --query"):
        load_accounts(pg_book)


def test_credentials_never_reach_configs_reports_mlflow_or_logs(pg_book, workdir, caplog):
    caplog.set_level(logging.DEBUG)
    acc = load_accounts(pg_book, query=QUERY)
    result = recalibrate(acc, n_boot=200, seed=1)
    assert result.config.provenance.data_source == redact_url(pg_book)
    leaks = [p for p in Path(workdir).rglob("*") if p.is_file() and PG_PASSWORD.encode() in p.read_bytes()]
    assert leaks == []
    assert any(p.suffix == ".db" for p in Path(workdir).rglob("*"))  # the MLflow store was searched too
    assert PG_PASSWORD not in caplog.text


# ---------------------------------------------------------------------------------------------
# read-only, single-statement sources: refused before the database sees them
# ---------------------------------------------------------------------------------------------
FIX = "pass exactly one SELECT (or WITH … SELECT) as --query: database sources are read-only"


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from calibrate.cli import main

    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _score_args(url: str, query: str, tmp_path: Path) -> list[str]:
    from calibrate import write_config
    from calibrate.config import Dimension, default_bands
    from calibrate.config.model import WeightConfig

    dims = [Dimension(name=d, column=d, weight=0.25) for d in ("usage", "engagement", "support", "commercial")]
    cfg = write_config(WeightConfig(dimensions=dims, bands=default_bands(), version=1), tmp_path / "configs")
    return ["score", "--data", url, "--query", query, "--config", str(cfg), "--out", str(tmp_path / "scores.csv")]


def _write_queries(target: Path) -> dict[str, tuple[str, str]]:
    return {"drop": ("DROP TABLE y; COMMIT; SELECT * FROM book", "--query holds 3 statements"),
            "copy": (f"COPY book TO '{target}'", "--query is not a SELECT (COPY)")}


@pytest.fixture
def duckdb_book(tmp_path, book) -> Path:
    path = tmp_path / "cs.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("b", book)
        con.execute("CREATE TABLE book AS SELECT * FROM b")
        con.execute("CREATE TABLE y AS SELECT 1 AS keep")
    return path


@pytest.mark.parametrize("kind", ["drop", "copy"])
def test_writing_queries_change_nothing_in_duckdb(kind, duckdb_book, tmp_path, capsys):
    before = duckdb_book.read_bytes()
    target = tmp_path / "copied.csv"
    query, message = _write_queries(target)[kind]
    code, out, err = run_cli(_score_args(f"duckdb:///{duckdb_book}", query, tmp_path), capsys)
    assert code == 2 and out == "" and err == f"calibrate: error: duckdb:///{duckdb_book}: {message}; {FIX}\n"
    assert duckdb_book.read_bytes() == before and not target.exists() and not (tmp_path / "scores.csv").exists()
    with duckdb.connect(str(duckdb_book), read_only=True) as con:
        assert con.sql("SELECT keep FROM y").fetchall() == [(1,)]


@pytest.mark.parametrize("kind", ["drop", "copy"])
def test_writing_queries_change_nothing_in_postgres(kind, pg_book, tmp_path, capsys):
    import uuid

    import psycopg

    with psycopg.connect(pg_book) as conn:
        conn.execute("DROP TABLE IF EXISTS y")
        conn.execute("CREATE TABLE y AS SELECT 1 AS keep")
    target = Path(f"/tmp/calibrate-copy-{uuid.uuid4().hex}.csv")  # writable by the server, were COPY to run
    query, message = _write_queries(target)[kind]
    code, out, err = run_cli(_score_args(pg_book, query, tmp_path), capsys)
    assert code == 2 and out == "" and err == f"calibrate: error: {redact_url(pg_book)}: {message}; {FIX}\n"
    assert PG_PASSWORD not in err and not target.exists() and not (tmp_path / "scores.csv").exists()
    with psycopg.connect(pg_book) as conn:
        assert conn.execute("SELECT keep FROM y").fetchall() == [(1,)]
        assert conn.execute("SELECT count(*) FROM book").fetchone() == (3000,)


@pytest.mark.parametrize("query, message", [
    ("PRAGMA database_list", "--query is not a SELECT (PRAGMA)"),
    ("ATTACH '/nonexistent/other.duckdb' AS other", "--query is not a SELECT (ATTACH)"),
    ("INSERT INTO y VALUES (2)", "--query is not a SELECT (INSERT)"),
    ("CALL pragma_version()", "--query is not a SELECT (CALL)"),
    ("SELECT * INTO z FROM book", "--query writes or locks (SELECT … INTO)"),
    ("SELECT * FROM book; SELECT * FROM y", "--query holds 2 statements"),
    (" ; ", "--query holds 0 statements"),
    ("SELEC * FROM book", "--query is not SQL that can be checked ("),  # then sqlglot's first line, by version
])
def test_only_one_select_reaches_the_database(query, message, duckdb_book):
    with pytest.raises(DataError) as info:
        load_accounts(f"duckdb:///{duckdb_book}", query=query)
    text = str(info.value)
    assert text.startswith(f"duckdb:///{duckdb_book}: {message}") and text.endswith(f"; {FIX}") and "\n" not in text
    # what is allowed: one SELECT, a WITH … SELECT, a UNION, a trailing semicolon, comments
    ok = "-- the book\nWITH b AS (SELECT * FROM book) SELECT * FROM b UNION ALL SELECT * FROM book WHERE false;"
    assert len(load_accounts(f"duckdb:///{duckdb_book}", query=ok)) == 3000


def test_a_data_modifying_with_is_refused_and_a_writing_function_fails_read_only(pg_book):
    import psycopg

    from calibrate.data.sql import read_sql

    with psycopg.connect(pg_book) as conn:
        conn.execute("DROP TABLE IF EXISTS scratch")
        conn.execute("CREATE TABLE scratch AS SELECT generate_series(1, 5) AS n")
        conn.execute("CREATE OR REPLACE FUNCTION wipe() RETURNS bigint LANGUAGE sql AS "
                     "'WITH d AS (DELETE FROM scratch RETURNING 1) SELECT count(*) FROM d'")
    with pytest.raises(DataError, match=r"--query writes or locks \(DELETE inside the SELECT\)"):
        read_sql(pg_book, "WITH d AS (DELETE FROM scratch RETURNING *) SELECT * FROM d")
    # a function is one SELECT to the parser: the READ ONLY transaction stops it
    with pytest.raises(DataError, match=r"query failed \(cannot execute \w+ in a read-only transaction\)") as info:
        read_sql(pg_book, "SELECT wipe() AS deleted")
    assert PG_PASSWORD not in str(info.value)
    with psycopg.connect(pg_book) as conn:
        assert conn.execute("SELECT count(*) FROM scratch").fetchone() == (5,)


def test_a_missing_duckdb_file_is_refused_not_created(tmp_path, capsys):
    typo = tmp_path / "cs-typo.duckdb"
    code, out, err = run_cli(_score_args(f"duckdb:///{typo}", QUERY, tmp_path), capsys)
    assert code == 2 and out == "" and err == (
        f"calibrate: error: duckdb:///{typo}: no DuckDB database at '{typo}'; check the path "
        "(duckdb:///relative/file.duckdb or duckdb:////absolute/file.duckdb)\n")
    assert not typo.exists()
