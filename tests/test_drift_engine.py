"""Population drift on an engine (calibrate.drift.engine) against detect_drift on the same rows.

The reference is :func:`calibrate.detect_drift` (its PSI checked against closed forms and its KS/Wasserstein
against scipy in test_drift.py); the engine only counts, so every figure agrees to 1e-9.
"""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.data.engines import open_engine
from calibrate.data.load import load_accounts
from calibrate.drift.detect import detect_drift, fit_reference_config
from calibrate.drift.engine import population_engine
from calibrate.errors import DataError
from conftest import logistic_book


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    """5,000 accounts × 4 quarterly snapshots; usage falls 8 points after the reference half-year."""
    frame = logistic_book(5000, seed=3, snapshots=4)
    config = fit_reference_config(load_accounts(frame), train_until="2025-04-30", n_boot=1000)
    later = frame["snapshot_date"] > "2025-04-30"
    frame.loc[later, "usage"] = (frame.loc[later, "usage"] - 8).clip(0, 100)
    path = tmp_path_factory.mktemp("engine-drift") / "book.parquet"
    frame.to_parquet(path)
    engine = open_engine("duckdb", path)
    yield frame, config, engine, None  # None: the config's own scoring SQL over the relation
    engine.close()


@pytest.mark.parametrize("since", [None, "2025-09-01"])
def test_engine_population_drift_equals_detect_drift(drifted, since):
    frame, config, engine, scored = drifted
    report = detect_drift(load_accounts(frame), config, since=since, weight_drift=False, n_boot=1000)
    out = population_engine(engine, config, scored=scored, since=since)
    want, got = report.population.set_index("name"), out["population"].set_index("name")
    assert list(got.index) == list(want.index) == ["score", "usage", "engagement", "support", "commercial"]
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), rtol=0, atol=1e-9)
    assert got.loc["usage", "psi"] > 0.1  # the drift is there, not two empty tables agreeing
    np.testing.assert_allclose(out["bands"][["reference", "new", "change"]].to_numpy(),
                               report.bands[["reference", "new", "change"]].to_numpy(), atol=1e-12)
    assert out["red_share"]["band"] == report.red_share["band"] == "red"
    for key, value in report.red_share.items():
        if key != "band":
            assert out["red_share"][key] == pytest.approx(value, abs=1e-9)
    assert out["window"] == report.window


def test_engine_population_drift_refuses_an_empty_since(drifted):
    _, config, engine, scored = drifted
    with pytest.raises(DataError, match=r"^drift data: no snapshot on or after --since 2030-01-01; choose an earlier date$"):
        population_engine(engine, config, scored=scored, since="2030-01-01")


@pytest.fixture(scope="module")
def quarterly(tmp_path_factory):
    """3,000 accounts × 5 snapshots (15,000 rows, sorted by account); usage falls 8 points after the reference."""
    frame = logistic_book(3000, seed=3, snapshots=5)
    config = fit_reference_config(load_accounts(frame), train_until="2025-04-30", n_boot=1000)
    later = frame["snapshot_date"] > "2025-04-30"
    frame.loc[later, "usage"] = (frame.loc[later, "usage"] - 8).clip(0, 100)
    path = tmp_path_factory.mktemp("engine-drift-q") / "book.parquet"
    frame.to_parquet(path)
    engine = open_engine("duckdb", path, allow_pending=True)
    yield path, config, engine
    engine.close()


def test_engine_drift_report_matches_detect_drift(quarterly):
    from calibrate.drift.detect import load_drift_data
    from calibrate.drift.engine import detect_drift_engine

    path, config, engine = quarterly
    want = detect_drift(load_drift_data(path, config), config, n_boot=1000, n_boot_weights=200)
    got = detect_drift_engine(engine, config, n_boot=1000, n_boot_weights=200)
    assert got.verdict == want.verdict and got.reasons == want.reasons
    cols = ["n", "n_accounts", "n_known", "auc", "auc_se", "auc_ci_low", "auc_ci_high", "spread", "spread_ci_low",
            "spread_ci_high", "rate_red", "expected_rate_red", "expected_rate_green"]
    assert list(got.periods["period"]) == list(want.periods["period"])
    # AUC and its DeLong se are exact; the spread's bootstrap draws the same accounts (sorted data)
    np.testing.assert_allclose(got.periods[cols].to_numpy(dtype=float), want.periods[cols].to_numpy(dtype=float),
                               rtol=0, atol=1e-9)
    for stat in ("auc", "spread"):
        for key in ("slope", "se", "pvalue"):
            assert got.trend[stat][key] == pytest.approx(want.trend[stat][key], abs=1e-9)
    for name, w in want.weights["refit"].items():
        assert got.weights["refit"][name] == pytest.approx(w, abs=1e-4)
        # refits (pandas, m-out-of-n) vs one Newton step per resample (engine): equal in law, not draw by draw
        assert got.weights["ci_low"][name] == pytest.approx(want.weights["ci_low"][name], abs=0.02)
        assert got.weights["ci_high"][name] == pytest.approx(want.weights["ci_high"][name], abs=0.02)
    assert got.label_free == {} and any("label-free" in n for n in got.notes)


@pytest.mark.slow
def test_spark_population_drift_equals_detect_drift(drifted, spark_session):
    """The same counts on Spark: its SQL is DuckDB's transpiled (``list_extract`` is Spark's ``element_at``)."""
    frame, config, duck, _ = drifted
    report = detect_drift(load_accounts(frame), config, weight_drift=False, n_boot=1000)
    engine = open_engine("spark", duck.source, spark_session=spark_session)
    try:
        out = population_engine(engine, config)
    finally:
        engine.close()
    want, got = report.population.set_index("name"), out["population"].set_index("name")
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), rtol=0, atol=1e-9)
    assert got.loc["usage", "psi"] > 0.1
