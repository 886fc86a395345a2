"""Shared fixtures: small seeded books, and a working directory per test for configs/reports/mlflow."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

DIMS = ("usage", "engagement", "support", "commercial")
TRUE_W = {"usage": 0.40, "engagement": 0.25, "support": 0.20, "commercial": 0.15}


def logistic_book(n: int, *, seed: int, weights: dict[str, float] = TRUE_W, slope: float = 0.08,
                  intercept: float = -2.5, snapshots: int = 1) -> pd.DataFrame:
    """A small book drawn from a known logistic model (kept here so tests do not depend on the generator)."""
    rng = np.random.default_rng(seed)
    rows = n * snapshots
    dims = {d: np.clip(rng.normal(62, 18, rows), 0, 100).round(2) for d in weights}
    score = sum(w * dims[d] for d, w in weights.items())
    p = 1 / (1 + np.exp(-(intercept + slope * score)))
    account = np.repeat(np.arange(n), snapshots)
    snap = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.tile(np.arange(snapshots) * 91, n), unit="D")
    return pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in account],
            "snapshot_date": snap,
            "renewal_date": snap + pd.Timedelta(days=60),
            "renewed": (rng.random(rows) < p).astype(int),
            "arr": np.round(rng.lognormal(10, 1, rows), 2),
            "segment": rng.choice(["SMB", "Mid-Market", "Enterprise"], rows),
            **dims,
        }
    )


@pytest.fixture
def book() -> pd.DataFrame:
    return logistic_book(3000, seed=7)


@pytest.fixture
def book_csv(tmp_path: Path, book: pd.DataFrame) -> Path:
    path = tmp_path / "book.csv"
    book.to_csv(path, index=False)
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory so configs/, reports/ and mlflow/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def spark_session():
    """The one local SparkSession of the test session (skipped without pyspark)."""
    pytest.importorskip("pyspark")
    from calibrate.data.engines import spark_session as make

    session = make("local[2]")
    yield session
    session.stop()
