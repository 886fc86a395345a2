"""Every bad input of contract.md §1 gets a CalibrateError with a one-line, actionable message."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate import DataError, DataSpec, FitError, fit_weights, load_accounts
from calibrate.errors import LeakageError
from calibrate.cli import main


def _write(tmp_path: Path, frame: pd.DataFrame, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_loads_csv_parquet_and_frame_alike(tmp_path, book, book_csv):
    pq = tmp_path / "book.parquet"
    book.to_parquet(pq)
    a, b, c = load_accounts(book_csv), load_accounts(pq), load_accounts(book)
    pd.testing.assert_frame_equal(a.frame, b.frame, check_dtype=False)
    pd.testing.assert_frame_equal(a.frame, c.frame, check_dtype=False)
    assert a.frame["renewed"].isin([0, 1]).all()
    assert a.n_accounts == 3000 and len(a) == 3000
    assert a.frame["snapshot_date"].dtype.kind == "M"


def test_parquet_digest_is_the_file_hash_and_typed_outcomes_read_like_labels(tmp_path, book):
    """Parquet is hashed from the file (not held in memory); 0/1, True/False and 1.0/0.0 outcomes read as the labels do."""
    import hashlib

    pq = tmp_path / "book.parquet"
    book.to_parquet(pq)
    assert load_accounts(pq).sha256 == hashlib.sha256(pq.read_bytes()).hexdigest()
    expected = load_accounts(book).frame["renewed"]
    for typed in (book["renewed"].astype(bool), book["renewed"].astype(float), book["renewed"].map({1: "yes", 0: "no"})):
        got = load_accounts(book.assign(renewed=typed)).frame["renewed"]
        pd.testing.assert_series_equal(got, expected)
    churn = load_accounts(book.assign(churned=1 - book["renewed"]).drop(columns="renewed"), spec=DataSpec(churn_column="churned"))
    pd.testing.assert_series_equal(churn.frame["renewed"], expected)
    with pytest.raises(DataError, match=r"column 'renewed'.*0.5"):
        load_accounts(book.assign(renewed=book["renewed"].astype(float).where(book.index > 0, 0.5)))


def test_csv_floats_are_read_exactly(tmp_path, book):
    """Every sub-score written with repr (shortest round-trip digits) comes back bit for bit from the CSV."""
    exact = book.copy()
    dims = [c for c in ("usage", "engagement", "support", "commercial") if c in exact]
    rng = np.random.default_rng(7)
    for col in dims:
        exact[col] = rng.random(len(exact)) * 100
    path = tmp_path / "exact.csv"
    exact.to_csv(path, index=False, float_format=lambda v: repr(float(v)))
    loaded = load_accounts(path).frame
    for col in dims:
        np.testing.assert_array_equal(loaded[col].to_numpy(), exact[col].to_numpy())


def test_column_mapping_and_churn_labels(book):
    theirs = book.rename(columns={"usage": "Product Usage", "account_id": "Id"})
    theirs["Churn"] = np.where(theirs.pop("renewed") == 1, "No", "Yes")
    acc = load_accounts(
        theirs, spec=DataSpec(columns={"usage": "Product Usage", "account_id": "Id"}, churn_column="Churn")
    )
    assert list(acc.frame["renewed"]) == list(book["renewed"])
    assert "usage" in acc.frame and acc.spec.column("usage") == "Product Usage"


def _check(tmp_path, frame, pattern, exc=DataError, name="bad.csv"):
    path = _write(tmp_path, frame, name)
    with pytest.raises(exc, match=pattern) as info:
        load_accounts(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_column(tmp_path, book):
    _check(tmp_path, book.drop(columns="support"), r"missing column\(s\) \['support'\].*--dimensions")


def test_duplicated_column(tmp_path, book):
    path = tmp_path / "dup.csv"
    text = book.head(5).to_csv(index=False).splitlines()
    text[0] = text[0].replace("arr", "usage")
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"duplicated column\(s\) \['usage'\].*keep one"):
        load_accounts(path)


def test_non_numeric_score(tmp_path, book):
    bad = book.astype({"engagement": object})
    bad.loc[4, "engagement"] = "high"
    _check(tmp_path, bad, r"column 'engagement': non-numeric value 'high' at row 5; sub-scores must be numbers")


def test_out_of_range_score(tmp_path, book):
    bad = book.copy()
    bad.loc[[2, 9], "usage"] = [120.0, -3.0]
    _check(tmp_path, bad, r"column 'usage': value 120 out of range 0-100 at rows 3, 10; rescale")


def test_missing_outcome(tmp_path, book):
    bad = book.astype({"renewed": "Int64"})
    bad.loc[0, "renewed"] = pd.NA
    _check(tmp_path, bad, r"column 'renewed': missing outcome at row 1; drop rows")


def test_unmappable_outcome_label(tmp_path, book):
    bad = book.astype({"renewed": object})
    bad.loc[3, "renewed"] = "maybe"
    _check(tmp_path, bad, r"outcome 'maybe' at row 4 is not 0/1")


def test_one_class_only(tmp_path, book):
    _check(tmp_path, book.assign(renewed=1), r"every row is renewed; calibrating needs both")


def test_duplicate_account_snapshot(tmp_path, book):
    bad = pd.concat([book, book.iloc[[10]]], ignore_index=True)
    _check(tmp_path, bad, r"duplicate \(account_id, snapshot_date\) at row 3001 \(account 'A000010'\)")


def test_renewal_before_snapshot_is_leakage(tmp_path, book):
    bad = book.copy()
    bad.loc[6, "renewal_date"] = bad.loc[6, "snapshot_date"] - pd.Timedelta(days=1)
    _check(tmp_path, bad, r"renewal on or before the snapshot at row 7 .*leakage", exc=LeakageError)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match=r"empty.csv: the file is empty"):
        load_accounts(path)


def test_header_only_file(tmp_path, book):
    _check(tmp_path, book.head(0), r"no data rows")


def test_unreadable_encoding(tmp_path, book):
    path = tmp_path / "latin.csv"
    path.write_bytes(book.head(20).assign(segment="Société").to_csv(index=False).encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text .*re-save the file as UTF-8"):
        load_accounts(path)


def test_missing_subscore_default_error_and_imputation_option(tmp_path, book):
    bad = book.copy()
    bad.loc[[1, 2], "commercial"] = np.nan
    _check(tmp_path, bad, r"column 'commercial': missing sub-score at rows 2, 3; fill it, or choose DataSpec\(on_missing='median'\)")
    acc = load_accounts(bad, spec=DataSpec(on_missing="median"))
    assert acc.imputed == {"commercial": 2}
    assert not acc.frame["commercial"].isna().any()


def test_unknown_extension_and_missing_file(tmp_path):
    (tmp_path / "x.json").write_text("a")
    with pytest.raises(DataError, match=r"unknown file type '.json'; use .csv \(or .csv.gz/.bz2/.zip\), .parquet or .xlsx"):
        load_accounts(tmp_path / "x.json")
    with pytest.raises(DataError, match=r"file not found"):
        load_accounts(tmp_path / "nope.csv")


def test_too_few_churn_events(book):
    few = book.copy()
    churned = np.flatnonzero(few["renewed"] == 0)
    few.loc[churned[30:], "renewed"] = 1  # keep 30 churns: 40 needed for 4 dimensions
    with pytest.raises(FitError, match=r"too few churn events to fit 4 weights: 30 found, 40 needed"):
        fit_weights(load_accounts(few))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.drop(columns="usage"),
        lambda b: b.assign(usage=b["usage"] + 200),
        lambda b: b.assign(renewed=0),
    ],
)
def test_cli_exits_2_with_one_line(tmp_path, book, mutate, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, mutate(book))
    with pytest.raises(SystemExit) as info:
        main(["run", "--data", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert re.match(r"^calibrate: error: .*bad\.csv: ", err) and "\n" not in err
    assert not (tmp_path / "configs").exists() and not (tmp_path / "reports").exists()


def test_repeated_dimension(book):
    with pytest.raises(DataError, match=r"dimension\(s\) \['usage'\] listed more than once; name each dimension once"):
        load_accounts(book, spec=DataSpec(dimensions=("usage", "usage", "support")))


# ---------------------------------------------------------------------------------------------
# dates: one format per column, ISO 8601 by default; nothing read value by value (issue 12 item 4)
# ---------------------------------------------------------------------------------------------
def _dated(book: pd.DataFrame, fmt: str, n: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    """``n`` rows with distinct snapshot dates written as ``fmt`` (days 1-28 of every month, so day > 12 occurs)."""
    truth = pd.Series([pd.Timestamp(2021, 1 + i % 12, 1 + (i * 7) % 28) for i in range(n)])
    frame = book.head(n).drop(columns="renewal_date").assign(
        snapshot_date=[datetime.datetime.strptime(str(t.date()), "%Y-%m-%d").strftime(fmt) for t in truth],
        account_id=[f"A{i:05d}" for i in range(n)])
    return frame, truth


def test_iso_dates_are_read_without_a_note(tmp_path, book):
    acc = load_accounts(_write(tmp_path, book))
    assert acc.notes == ()  # ISO 8601 is the default: nothing to report
    assert (acc.frame["snapshot_date"] == book["snapshot_date"]).all()


def test_integer_dates_are_refused_unless_declared(tmp_path, book):
    frame, truth = _dated(book, "%Y%m%d")
    path = _write(tmp_path, frame)  # the CSV holds 20210101 ...: read back as integers
    with pytest.raises(DataError, match=r"bad.csv: column 'snapshot_date': 20210101 is a number, not a date .*"
                                        r"declare date_format='%Y%m%d' for this column"):
        load_accounts(path)
    acc = load_accounts(path, spec=DataSpec(date_format={"snapshot_date": "%Y%m%d"}))
    assert (acc.frame["snapshot_date"] == truth).all()  # not 1970-01-01 00:00:00.020210101
    assert acc.notes == ()  # declared: nothing to report


def test_day_first_dates_are_refused_when_ambiguous_and_read_when_declared(tmp_path, book):
    frame, truth = _dated(book, "%d/%m/%Y")
    ambiguous = frame.head(100).assign(snapshot_date=[f"{1 + i % 12:02d}/{1 + i // 12 % 12:02d}/2021" for i in range(100)])
    with pytest.raises(DataError, match=r"column 'snapshot_date': ambiguous dates — '02/01/2021' reads as '%d/%m/%Y' "
                                        r"and as '%m/%d/%Y' \(day/month\); declare date_format='%d/%m/%Y' or '%m/%d/%Y'"):
        load_accounts(_write(tmp_path, ambiguous))
    declared = load_accounts(_write(tmp_path, ambiguous), spec=DataSpec(date_format="%d/%m/%Y"))
    assert declared.frame["snapshot_date"].iloc[1] == pd.Timestamp(2021, 1, 2)  # 02/01 is 2 January when declared
    inferred = load_accounts(_write(tmp_path, frame))  # day > 12 somewhere: only one reading fits every value
    assert (inferred.frame["snapshot_date"] == truth).all()
    assert "column 'snapshot_date': dates read as %d/%m/%Y (inferred over the whole column)" in inferred.notes


def test_declared_format_must_fit_every_value(tmp_path, book):
    frame, _ = _dated(book, "%d/%m/%Y", n=50)
    frame.loc[7, "snapshot_date"] = "2021-03-04"
    with pytest.raises(DataError, match=r"column 'snapshot_date': '2021-03-04' does not match the declared "
                                        r"date_format '%d/%m/%Y' at row 8; fix those values"):
        load_accounts(_write(tmp_path, frame), spec=DataSpec(date_format="%d/%m/%Y"))


@pytest.mark.parametrize("value", ["2999-01-01", "0001-01-01", "1899-12-31"])
def test_out_of_range_years_are_refused(tmp_path, book, value):
    bad = book.head(50).drop(columns="renewal_date").astype({"snapshot_date": str})
    bad.loc[3, "snapshot_date"] = value
    _check(tmp_path, bad, rf"column 'snapshot_date': date '{value}' outside the years 1900-2200 at row 4; "
                          "a placeholder or a typo")


def test_mixed_time_zones_are_refused_one_zone_is_converted(tmp_path, book):
    frame = book.head(40).drop(columns="renewal_date").assign(snapshot_date="2025-01-01T09:00:00+02:00")
    one = load_accounts(_write(tmp_path, frame))
    assert (one.frame["snapshot_date"] == pd.Timestamp("2025-01-01 07:00")).all()  # UTC
    frame.loc[5, "snapshot_date"] = "2025-01-01T09:00:00+00:00"
    _check(tmp_path, frame, r"column 'snapshot_date': mixed time zones \('2025-01-01T09:00:00\+02:00' and "
                            r"'2025-01-01T09:00:00\+00:00', at row 6\); export every date in one time zone")
    frame.loc[5, "snapshot_date"] = "2025-01-01T09:00:00"
    _check(tmp_path, frame, r"mixed time zones")


def test_unreadable_dates_name_the_fix(tmp_path, book):
    bad = book.head(30).drop(columns="renewal_date").astype({"snapshot_date": str})
    bad.loc[2, "snapshot_date"] = "soon"
    _check(tmp_path, bad, r"column 'snapshot_date': unreadable date 'soon' at row 3; use YYYY-MM-DD \(ISO 8601\), "
                          r"or declare the column's date_format")


# ---------------------------------------------------------------------------------------------
# the mapped column wins; one role per column; names; 0-1 scale
# ---------------------------------------------------------------------------------------------
def _remapped_config():
    from calibrate.config.model import Calibration, Dimension, WeightConfig, default_bands

    dims = [Dimension(name="usage", column="usage_v2", weight=0.4),
            Dimension(name="engagement", column="Engagement Score", weight=0.35, direction="lower_is_healthier"),
            Dimension(name="support", column="support", weight=0.25)]
    return WeightConfig(version=1, dimensions=dims, bands=default_bands(), calibration=Calibration(intercept=-2, slope=0.05))


def _decoyed(n: int = 500) -> pd.DataFrame:
    """The config's columns, plus decoys named like its dimensions (first, so a first-wins rule picks them)."""
    rng = np.random.default_rng(12)
    return pd.DataFrame({
        "account_id": [f"A{i:04d}" for i in range(n)],
        "usage": rng.uniform(0, 100, n), "engagement": rng.uniform(0, 100, n),  # decoys
        "usage_v2": rng.uniform(0, 100, n), "Engagement Score": rng.uniform(0, 100, n),
        "support": rng.uniform(0, 100, n),
    })


def test_the_mapped_column_wins_in_python_sql_and_mlflow(tmp_path):
    import duckdb
    import mlflow

    from calibrate import write_config
    from calibrate.publish.export import export_sql, score_accounts
    from calibrate.publish.registry import champion_uri, promote, register_scorer
    from calibrate.score.scorer import score_frame

    cfg, frame = _remapped_config(), _decoyed()
    # closed form on the mapped columns: 0.4 usage_v2 + 0.35 (100 - Engagement Score) + 0.25 support
    expected = 0.4 * frame["usage_v2"] + 0.35 * (100 - frame["Engagement Score"]) + 0.25 * frame["support"]
    python = score_accounts(frame, cfg)
    by_name = score_frame(frame, cfg, by="name")  # a raw frame read "by name": the mapped column still wins
    con = duckdb.connect()
    con.register("accounts", frame)
    sql = con.sql(export_sql(cfg, dialect="duckdb")).df()
    store = tmp_path / "mlflow"
    promote(register_scorer(write_config(cfg, tmp_path / "configs"), mlflow_dir=store).version, mlflow_dir=store)
    from_mlflow = mlflow.pyfunc.load_model(champion_uri()).predict(frame)
    for name, got in {"python": python, "by_name": by_name, "duckdb": sql, "mlflow": from_mlflow}.items():
        np.testing.assert_allclose(got["score"].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9, err_msg=name)
        assert (got["band"].to_numpy() == python["band"].to_numpy()).all(), name


def test_a_shadowed_column_is_set_aside_and_reported(book):
    theirs = book.assign(usage_v2=book["usage"], usage=0.0)[["usage", *book.columns.drop("usage"), "usage_v2"]]
    acc = load_accounts(theirs, spec=DataSpec(columns={"usage": "usage_v2"}))
    assert (acc.frame["usage"] == book["usage"]).all()
    assert "column 'usage' ignored: 'usage' is read from column 'usage_v2'" in acc.notes


@pytest.mark.parametrize(("columns", "shown"), [
    ({"usage": "support"}, r"column 'support' is mapped to \['usage', 'support'\]"),
    ({"usage": "arr"}, r"column 'arr' is mapped to \['usage', 'arr'\]"),
])
def test_one_column_cannot_feed_two_roles(book, columns, shown):
    with pytest.raises(DataError, match=shown + r"; each dimension \(and key\) needs a column of its own"):
        load_accounts(book, spec=DataSpec(columns=columns))


def test_dimension_names_with_spaces_are_refused_and_mapping_them_works(book):
    theirs = book.rename(columns={"usage": "product usage"})
    with pytest.raises(DataError, match=r"dimension name 'product usage' is not an identifier .*name the dimension "
                                        r"'product_usage' and map it to the column: columns=\{'product_usage': 'product usage'\}"):
        load_accounts(theirs, spec=DataSpec(dimensions=("product usage", "engagement", "support", "commercial")))
    acc = load_accounts(theirs, spec=DataSpec(dimensions=("product_usage", "engagement", "support", "commercial"),
                                              columns={"product_usage": "product usage"}))
    assert (acc.frame["product_usage"] == book["usage"]).all()


def test_unit_scale_book_is_refused_unless_declared(book):
    unit = book.assign(**{d: book[d] / 100 for d in ("usage", "engagement", "support", "commercial")})
    with pytest.raises(DataError, match=r"<DataFrame>: sub-scores \['usage', 'engagement', 'support', 'commercial'\] "
                                        r"all lie in \[0, 1\] — looks like a 0–1 scale; multiply by 100 or declare a transform"):
        load_accounts(unit)
    assert load_accounts(unit, spec=DataSpec(allow_unit_scale=True)).frame["usage"].max() <= 1.0


# ---------------------------------------------------------------------------------------------
# compressed CSV, Excel, polars, pyarrow
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["book.csv.gz", "book.csv.bz2", "book.zip", "book.gz"])
def test_compressed_csv_reads_like_the_csv(tmp_path, book, book_csv, name):
    import bz2
    import gzip
    import zipfile

    raw = book_csv.read_bytes()
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(raw))
    elif name.endswith(".bz2"):
        path.write_bytes(bz2.compress(raw))
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("export/book.csv", raw)
    got, want = load_accounts(path), load_accounts(book_csv)
    pd.testing.assert_frame_equal(got.frame, want.frame)
    assert got.sha256 == want.sha256  # the digest is of the data, not of its packaging


def test_bad_archives_are_refused(tmp_path, book_csv):
    import zipfile

    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as z:
        z.writestr("a.csv", "x")
        z.writestr("b.csv", "y")
    with pytest.raises(DataError, match=r"two.zip: the zip holds 2 files \['a.csv', 'b.csv'\]; zip one CSV file only"):
        load_accounts(two)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"broken.csv.gz: not a readable gzip file .*compress the CSV again"):
        load_accounts(broken)


def test_excel_sheets(tmp_path, book):
    from calibrate.data.load import read_sheet

    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as w:
        book.head(3).to_excel(w, sheet_name="readme", index=False)
        book.to_excel(w, sheet_name="Q1", index=False)
    want = load_accounts(book)
    got = load_accounts(path, spec=DataSpec(sheet="Q1"))
    pd.testing.assert_frame_equal(got.frame, want.frame, check_dtype=False)
    via_cli = load_accounts(read_sheet(path, "Q1"))
    assert via_cli.source == f"{path} (sheet 'Q1')" and via_cli.sha256 == got.sha256
    with pytest.raises(DataError, match=r"book.xlsx: no sheet 'Q9'; the workbook has \['readme', 'Q1'\] — pass one with --sheet"):
        load_accounts(path, spec=DataSpec(sheet="Q9"))
    assert len(load_accounts(path, require_outcome=False).frame) == 3  # the first sheet by default
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf")
    with pytest.raises(DataError, match=r"old.xls: old Excel .xls files are not read; save the sheet as .xlsx or .csv"):
        load_accounts(tmp_path / "old.xls")
    with pytest.raises(DataError, match=r"a sheet \('Q1'\) was given but the file is not .xlsx; drop --sheet"):
        load_accounts(tmp_path / "old.xls", spec=DataSpec(sheet="Q1"))


def test_polars_and_pyarrow_are_converted_other_objects_refused(book):
    import pyarrow as pa

    pl = pytest.importorskip("polars")
    want = load_accounts(book).frame
    for source in (pl.from_pandas(book), pa.Table.from_pandas(book)):
        pd.testing.assert_frame_equal(load_accounts(source).frame, want, check_dtype=False)
    assert load_accounts(pa.Table.from_pandas(book)).source == "<pyarrow.Table>"
    with pytest.raises(DataError, match=r"^<polars.LazyFrame>: a lazy frame holds no rows yet; pass frame.collect\(\)$"):
        load_accounts(pl.from_pandas(book).lazy())
    with pytest.raises(DataError, match=r"^<builtins.list>: not a data source calibrate reads; pass a file path"):
        load_accounts([1, 2, 3])


# ---------------------------------------------------------------------------------------------
# a bad port, a NaN in a sealed config: one line, exit 2
# ---------------------------------------------------------------------------------------------
def test_bad_port_in_a_database_url(capsys, workdir):
    url = "postgresql://ana:s3cret@db.example.com:54x32/cs"
    with pytest.raises(DataError, match=r"^postgresql://ana:\*\*\*@db.example.com:54x32/cs: not a database URL "
                                        r"\(the port is not a number; use e.g. postgresql://user@host:5432/db"):
        load_accounts(url, query="select 1")
    with pytest.raises(SystemExit) as info:
        main(["validate", "--data", url, "--query", "select 1", "--config", "c.json"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "s3cret" not in err


def test_nan_in_a_sealed_config_is_one_line_exit_2(tmp_path, capsys, workdir):
    from calibrate import write_config
    from calibrate.config.model import read_config
    from calibrate.errors import ConfigError

    path = write_config(_remapped_config(), tmp_path / "configs")
    bad = tmp_path / "nan.json"
    bad.write_text(path.read_text().replace('"intercept": -2.0', '"intercept": NaN'))
    with pytest.raises(ConfigError, match=r"nan.json: calibration/intercept: nan is not a number a config may hold"):
        read_config(bad)
    with pytest.raises(SystemExit) as info:
        main(["score", "--data", "x.csv", "--config", str(bad), "--out", "s.csv"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "nan is not a number" in err
