"""Every bad input of contract.md §1 gets a CalibrateError with a one-line, actionable message."""

from __future__ import annotations

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
