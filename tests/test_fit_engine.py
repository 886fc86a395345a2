"""The simplex fit on an engine (calibrate.fit.engine) against the pandas fit on the same rows.

The reference is :func:`calibrate.fit_weights` (L-BFGS-B / SLSQP on the rows, itself checked against statsmodels
and a known-truth simulation in test_fit.py); the engine reaches the same convex optimum by Newton steps of one
aggregate query each, so weights agree to 1e-4 (in practice ~1e-7) and the weight intervals, which draw the same
accounts for a seed, to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest

from calibrate.data.engines import open_engine
from calibrate.data.load import load_accounts
from calibrate.errors import FitError
from calibrate.fit.bootstrap import bootstrap_weights
from calibrate.fit.engine import bootstrap_engine, fit_engine
from calibrate.fit.weights import fit_weights
from conftest import logistic_book

WEIGHTS = {"usage": 0.5, "engagement": 0.3, "support": 0.2, "commercial": 0.0}
CURRENT = {"usage": 0.25, "engagement": 0.25, "support": 0.25, "commercial": 0.25}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """10,000 accounts × 2 snapshots (20,000 rows), one dimension without effect; the rows as Parquet too."""
    frame = logistic_book(10_000, seed=3, snapshots=2, weights=WEIGHTS)
    path = tmp_path_factory.mktemp("engine-fit") / "book.parquet"
    frame.to_parquet(path)
    return load_accounts(frame), path


@pytest.fixture(scope="module")
def duck(book):
    engine = open_engine("duckdb", book[1])
    yield engine
    engine.close()


@pytest.mark.parametrize("options", [
    {}, {"floor": 0.05}, {"cap": 0.4}, {"fixed": {"usage": 0.45}}, {"weight_by": "arr"},
    {"stability": 0.3, "current": CURRENT}, {"train_until": "2025-02-01"},
], ids=["plain", "floor", "cap", "fixed", "weight_by", "stability", "train_until"])
def test_engine_fit_matches_the_pandas_fit(book, duck, options):
    pandas = fit_weights(book[0], **options)
    engine = fit_engine(duck, **options)
    fit = engine.fit
    for name, w in pandas.weights.items():
        assert fit.weights[name] == pytest.approx(w, abs=1e-4)
    assert fit.intercept == pytest.approx(pandas.intercept, abs=1e-4)
    assert fit.slope == pytest.approx(pandas.slope, rel=1e-5)
    assert fit.log_likelihood == pytest.approx(pandas.log_likelihood, rel=1e-9)
    assert (fit.n, fit.n_events, fit.n_accounts) == (pandas.n, pandas.n_events, pandas.n_accounts)
    assert fit.flags == pandas.flags  # bounds that bind, and the weight at 0 with its (clustered) score test
    assert fit.options["solver"] == "newton-sql" and fit.options["engine"] == "duckdb"
    assert engine.queries <= 20  # one aggregate query per Newton step (plus halvings)


def test_engine_fit_keeps_a_zero_weight_exactly_with_the_pandas_score_test(book, duck):
    fit = fit_engine(duck).fit
    assert fit.weights["commercial"] == 0.0
    assert fit.flags["commercial"] == fit_weights(book[0]).flags["commercial"]
    assert fit.flags["commercial"].startswith("weight 0: no detectable association")


def test_engine_bootstrap_draws_the_pandas_accounts_and_gives_its_intervals(book, duck):
    pandas = bootstrap_weights(book[0], n_boot=100, seed=1, resample_fit="newton")
    engine = bootstrap_engine(fit_engine(duck), duck, n_boot=100, seed=1)
    assert engine.resample_fit == "newton" and engine.n_accounts == pandas.n_accounts == 10_000
    np.testing.assert_allclose(engine.draws, pandas.draws, atol=1e-6)
    for name in WEIGHTS:
        assert engine.low[name] == pytest.approx(pandas.low[name], abs=1e-6)
        assert engine.high[name] == pytest.approx(pandas.high[name], abs=1e-6)


@pytest.mark.parametrize("options, message", [
    ({"method": "logit"}, "method='logit' is not supported by the fit on --engine duckdb"),
    ({"stability": "auto", "current": CURRENT}, "stability='auto' is not supported by the fit on --engine duckdb"),
    ({"penalty": "l1"}, r"penalty \(L1/L2\) is not supported by the fit on --engine duckdb"),
])
def test_engine_fit_refuses_what_it_cannot_do_in_one_line(duck, options, message):
    with pytest.raises(FitError, match=message + r".*; drop it or use --engine pandas$"):
        fit_engine(duck, **options)


def test_engine_bootstrap_refuses_bounds(duck):
    with pytest.raises(FitError, match=r"^weight intervals with floors, caps or fixed weights are not supported on "
                                       r"--engine duckdb .*use --engine pandas$"):
        bootstrap_engine(fit_engine(duck, floor=0.05), duck, n_boot=10)


def test_engine_fit_refuses_a_constant_dimension(tmp_path):
    frame = logistic_book(2000, seed=5)
    frame["support"] = 50.0
    frame.to_parquet(tmp_path / "flat.parquet")
    with open_engine("duckdb", tmp_path / "flat.parquet") as engine:
        with pytest.raises(FitError, match=r"dimension\(s\) \['support'\] are constant"):
            fit_engine(engine)


@pytest.mark.slow  # the JVM's start-up (shared by every Spark test through the session fixture) and 6 Spark queries
def test_engine_fit_on_spark_matches_the_pandas_fit(book, spark_session):
    """The same Newton steps transpiled to Spark SQL (sqlglot) reach the pandas optimum."""
    with open_engine("spark", book[1], spark_session=spark_session) as engine:
        fit = fit_engine(engine, floor=0.02).fit
    for name, w in fit_weights(book[0], floor=0.02).weights.items():
        assert fit.weights[name] == pytest.approx(w, abs=1e-4)
    assert fit.options["engine"] == "spark"
