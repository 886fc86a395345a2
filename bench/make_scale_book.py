"""A large book for the scale benches: ``accounts × 8`` quarterly snapshots, 12 sub-scores, as Parquet.

The shape of the bundled book (``calibrate.data.datasets.make_book``): ``account_id``, ``segment``,
``snapshot_date``, ``renewal_date``, ``renewed``, ``arr``, the dimensions and ``csm_red``; sub-scores
``100 − gap·exp(0.75·x)`` of a stationary Gaussian AR(1) across quarters (ρ = 0.75) with equicorrelated
dimensions (0.35), so red and critical accounts exist; renewals from a known logistic model
(``sigmoid(a_segment + 0.85·(Σ wᵢ sᵢ − 50) / 10)``) with a shift of ``d01`` by −12 points in the last two
quarters. Every account has all 8 snapshots (rows = 8 × accounts, exactly). Also writes ``current.json``:
the config "in production", fitted by calibrate on the first six quarters with its validation baseline
and drift reference — what ``calibrate run --current`` needs.

    python bench/make_scale_book.py OUT_DIR [--rows 1000000] [--dims 12]

Prints the ``calibrate run`` command line for the book. Deterministic for given rows, dims and seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

PERIODS = 8
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_INTERCEPTS = (0.6, 1.0, 1.5)
TRAIN_UNTIL = "2025-06-30"  # first six quarters: the current config's training window


def dimension_names(dims: int) -> tuple[str, ...]:
    """``d00``, ``d01``, ... (``d01`` drifts)."""
    return tuple(f"d{j:02d}" for j in range(dims))


def make_frame(rows: int, dims: int = 12, seed: int = 0) -> pd.DataFrame:
    """The book as a DataFrame (see the module docstring); built in blocks of accounts to bound memory."""
    n_acc = rows // PERIODS
    rng = np.random.default_rng(seed)
    weights = np.linspace(2.0, 1.0, dims)
    weights /= weights.sum()
    chol = np.linalg.cholesky(np.full((dims, dims), 0.35) + 0.65 * np.eye(dims))
    gap = np.linspace(24.0, 28.0, dims)
    dates = pd.date_range("2024-01-01", periods=PERIODS, freq="QS").to_numpy()
    parts = []
    block = 250_000
    for start in range(0, n_acc, block):
        n = min(block, n_acc - start)
        seg = rng.choice(3, size=n, p=[0.55, 0.30, 0.15])
        x = np.empty((n, PERIODS, dims))
        x[:, 0] = rng.standard_normal((n, dims)) @ chol.T
        for t in range(1, PERIODS):
            x[:, t] = 0.75 * x[:, t - 1] + np.sqrt(1 - 0.75**2) * (rng.standard_normal((n, dims)) @ chol.T)
        values = np.clip(100.0 - gap * np.exp(0.75 * x), 0.0, 100.0)
        if dims > 1:
            values[:, PERIODS - 2 :, 1] = np.clip(values[:, PERIODS - 2 :, 1] - 12.0, 0.0, 100.0)
        values = values.round(2)
        score = values @ weights
        logit = np.asarray(SEGMENT_INTERCEPTS)[seg][:, None] + 0.85 * (score - 50.0) / 10.0
        renewed = (rng.random((n, PERIODS)) < expit(logit)).astype(np.int64)
        red = rng.random((n, PERIODS)) < expit(-2.0 + (50.0 - score) / 10.0 + 1.3 * (1 - renewed))
        arr = np.round(np.exp(np.log(np.array([12_000.0, 60_000.0, 250_000.0])[seg]) + 0.5 * rng.standard_normal(n)), 2)
        dtr = rng.integers(30, 91, size=(n, PERIODS))
        snap = np.tile(dates, n)
        part = pd.DataFrame({
            "account_id": np.repeat(np.char.add("ACC-", np.char.zfill(np.arange(start + 1, start + n + 1).astype(str), 8)),
                                    PERIODS).astype(object),
            "segment": np.repeat(np.array(SEGMENTS, dtype=object)[seg], PERIODS),
            "snapshot_date": snap,
            "renewal_date": snap + dtr.reshape(-1).astype("timedelta64[D]"),
            "renewed": renewed.reshape(-1),
            "arr": np.repeat(arr, PERIODS),
        })
        for j, name in enumerate(dimension_names(dims)):
            part[name] = values[:, :, j].reshape(-1)
        part["csm_red"] = red.reshape(-1).astype(np.int64)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def write_book(out: Path, rows: int, dims: int = 12, seed: int = 0) -> tuple[Path, Path]:
    """Write ``book.parquet`` and ``current.json`` into ``out`` (reused when already there)."""
    out.mkdir(parents=True, exist_ok=True)
    book, current = out / "book.parquet", out / "current.json"
    if book.exists() and current.exists():
        return book, current
    frame = make_frame(rows, dims, seed)
    frame.to_parquet(book, index=False)
    from calibrate.config.model import write_config
    from calibrate.data.load import DataSpec, load_accounts
    from calibrate.drift.detect import fit_reference_config

    train = frame[frame["snapshot_date"] <= pd.Timestamp(TRAIN_UNTIL)]
    data = load_accounts(train, spec=DataSpec(dimensions=dimension_names(dims)))
    config = fit_reference_config(data, n_boot=1000).model_copy(update={"name": "scale", "version": 1})
    written = write_config(config.sealed(), out)
    written.replace(current)
    return book, current


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dims", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    book, current = write_book(args.out, args.rows, args.dims, args.seed)
    print(f"{sys.executable} -m calibrate run --data {book} --dimensions {','.join(dimension_names(args.dims))} "
          f"--current {current} -q")


if __name__ == "__main__":
    main()
