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
