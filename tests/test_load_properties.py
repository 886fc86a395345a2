"""Property: whatever frame is written to CSV or Parquet, ``load_accounts`` either returns what an
independent parse of the written values gives, or raises a ``CalibrateError`` — never another
exception, never a silently different value (issue 12, item 6)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibrate import DataSpec, load_accounts
from calibrate.errors import CalibrateError

LABELS = {"1": 1, "0": 0, "yes": 1, "no": 0, "True": 1, "False": 0, "churned": 0, "renewed": 1}
# (format written, format declared or None, UTC offset in hours of the written value or None)
DATE_STYLES = [
    ("%Y-%m-%d", None, None),
    ("%Y-%m-%d", "%Y-%m-%d", None),
    ("%Y-%m-%dT%H:%M:%S+02:00", None, 2),
    ("%d/%m/%Y", None, None),
    ("%m/%d/%Y", None, None),
    ("%d/%m/%Y", "%d/%m/%Y", None),
    ("%d.%m.%Y", None, None),
    ("%Y%m%d", None, None),
    ("%Y%m%d", "%Y%m%d", None),
]

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
score = st.one_of(st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3)), st.integers(0, 100))
# one fault now and then, so that loads succeed often enough to compare with the independent parse
faults = st.sampled_from([None, "n/a", " ", "12,5", -0.5, 100.5, 1e300])
dates = st.dates(dt.date(1990, 1, 1), dt.date(2150, 12, 31))


@st.composite
def books(draw: st.DrawFn) -> tuple[pd.DataFrame, DataSpec, dict]:
    n = draw(st.integers(2, 12))
    cols = draw(st.lists(names, min_size=2, max_size=3, unique=True))
    style = draw(st.sampled_from(DATE_STYLES))
    fmt, declared, offset = style
    ids: list[str | None] = draw(st.lists(names, min_size=n, max_size=n))
    labels: list[object] = draw(st.lists(st.sampled_from(list(LABELS)), min_size=n, max_size=n))
    day: list[dt.date | None] = draw(st.lists(dates, min_size=n, max_size=n))
    values = {c: draw(st.lists(score, min_size=n, max_size=n)) for c in cols}
    row = draw(st.integers(0, n - 1))
    fault = draw(st.sampled_from(["none", "none", "none", "id", "label", "date", "cell"]))
    if fault == "id" or fault == "label":
        (ids if fault == "id" else labels)[row] = None
    elif fault == "date":
        day[row] = draw(st.sampled_from([None, dt.date(1850, 6, 1), dt.date(2999, 1, 1)]))
    elif fault == "cell":
        values[cols[0]][row] = draw(faults)

    def written(d: dt.date | None) -> object:
        if d is None:
            return None
        text = dt.datetime(d.year, d.month, d.day, 9, 30).strftime(fmt)
        return int(text) if fmt == "%Y%m%d" else text

    frame = pd.DataFrame({"account_id": ids, "renewed": labels, "snapshot_date": [written(d) for d in day], **values})
    dims = tuple(f"d{i}" for i in range(len(cols)))
    spec = DataSpec(dimensions=dims, columns=dict(zip(dims, cols)), date_format=declared,
                    on_missing=draw(st.sampled_from(["error", "keep"])))
    truth = {"ids": ids, "labels": labels, "dates": day, "values": values, "offset": offset, "fmt": fmt}
    return frame, spec, truth


def _number(v: object) -> float:
    """The independent reading of a sub-score cell: a number, or NaN for a blank (anything else: not a number)."""
    if v is None or (isinstance(v, str) and v.strip().lower() in {"", "n/a"}):  # "n/a": a conventional blank
        return math.nan
    return float(v)  # raises on 'n/a', '12,5': such a frame must have been refused


def _expected_date(d: dt.date | None, offset: int | None, fmt: str) -> pd.Timestamp:
    if d is None:
        return pd.NaT
    t = pd.Timestamp(d.year, d.month, d.day, 9, 30) if "%H" in fmt else pd.Timestamp(d.year, d.month, d.day)
    return t - pd.Timedelta(hours=offset) if offset else t


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=books())
def test_load_returns_the_independent_parse_or_a_calibrate_error(tmp_path, kind, case):
    frame, spec, truth = case
    path = tmp_path / f"book.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        as_text = {c: [None if v is None or v != v else str(v) for v in frame[c]] for c in frame if c != "snapshot_date"}
        pd.DataFrame(as_text).assign(snapshot_date=frame["snapshot_date"]).to_parquet(path, index=False)
    try:
        acc = load_accounts(path, spec=spec)
    except CalibrateError as exc:
        assert "\n" not in str(exc)
        return
    got = acc.frame
    # ids: the text as written (CSV reads id columns as text)
    assert got["account_id"].tolist() == [str(i) for i in truth["ids"]]
    assert got["renewed"].tolist() == [LABELS[label] for label in truth["labels"]]
    for dim, col in spec.columns.items():
        want = np.array([_number(v) for v in truth["values"][col]])
        np.testing.assert_allclose(got[dim].to_numpy(dtype=float), want, rtol=0, atol=1e-12, err_msg=col)
        assert ((want[~np.isnan(want)] >= 0) & (want[~np.isnan(want)] <= 100)).all()
    want_dates = [_expected_date(d, truth["offset"], truth["fmt"]) for d in truth["dates"]]
    assert got["snapshot_date"].tolist() == want_dates
