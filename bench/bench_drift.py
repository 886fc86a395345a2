"""Drift on 1,000,000 rows × 12 dimensions, timed as a ratio to reading the same data from Parquet.

The book: 125,000 accounts × 8 quarterly snapshots, 12 sub-scores (correlated within an account
over time), renewals from a logistic model; the config is fitted on periods 0–5 (not timed), the
last two periods carry a shift of one dimension. Timed in the same run (medians of ``--repeat``):

* ``read``: ``pandas.read_parquet`` of the file (the reference; warm: after one untimed read, median of at
  least 5 — the first reads of a fresh file take 2–4× as long and would flatter the ratio);
* ``drift, no refit``: :func:`calibrate.drift.detect.detect_drift` with ``weight_drift=False`` —
  population drift of the score and 12 dimensions (PSI/CSI, noise quantiles, KS, Wasserstein),
  band mix, per-period AUC/spread/band rates with intervals, trend, label-free estimate;
* ``drift, full``: the same plus the weight refit on the recent window with its account-level
  bootstrap (``n_boot_weights`` fits of the simplex model; m-out-of-n with m = 10,000 accounts
  per resample, as the window holds 125,000 accounts — ``WEIGHT_BOOT_ACCOUNTS``).

    python bench/bench_drift.py [--rows 1000000] [--dims 12] [--repeat 3] [--n-boot-weights 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from calibrate.drift.detect import detect_drift, fit_reference_config
from calibrate.data.load import load_accounts


def make_frame(rows: int, dims: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    periods = 8
    n_acc = rows // periods
    base = rng.normal(size=(n_acc, 1, dims))
    x = 0.8 * base + 0.6 * rng.normal(size=(n_acc, periods, dims))
    values = np.clip(70 + 15 * x, 0, 100).round(2)
    values[:, 6:, 1] = np.clip(values[:, 6:, 1] - 10, 0, 100)  # drift of d01 in the last two periods
    w = np.linspace(2, 1, dims)
    w /= w.sum()
    score = values @ w
    y = rng.random((n_acc, periods)) < 1 / (1 + np.exp(-(-4 + 0.09 * score)))
    dates = pd.date_range("2024-01-01", periods=periods, freq="QS").to_numpy()
    frame = pd.DataFrame({
        "account_id": np.repeat([f"A{i:07d}" for i in range(n_acc)], periods),
        "snapshot_date": np.tile(dates, n_acc),
        "renewed": y.reshape(-1).astype(int),
    })
    for j in range(dims):
        frame[f"d{j:02d}"] = values[:, :, j].reshape(-1)
    return frame


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dims", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-boot-weights", type=int, default=200)
    args = ap.parse_args()
    frame = make_frame(args.rows, args.dims)
    names = tuple(c for c in frame.columns if c.startswith("d"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.parquet"
        frame.to_parquet(path, index=False)
        from calibrate.data.load import DataSpec

        data = load_accounts(frame, spec=DataSpec(dimensions=names))
        config = fit_reference_config(data, train_until="2025-04-01", n_boot=200)
        detect_drift(data, config, weight_drift=False, n_boot=200)  # warm-up (imports, caches)
        pd.read_parquet(path)  # warm-up: the first reads pay the page cache and the allocator (2-4x a warm read)
        t_read, _ = median_time(lambda: pd.read_parquet(path), max(5, args.repeat))
        t_pop, rep = median_time(lambda: detect_drift(data, config, weight_drift=False), args.repeat)
        t_full, rep_full = median_time(
            lambda: detect_drift(data, config, n_boot_weights=args.n_boot_weights), args.repeat)
    print(f"{len(frame):,} rows x {len(names)} dimensions; verdict {rep.verdict}; reasons: {rep.reasons[:2]}")
    print(f"read_parquet        {t_read * 1e3:8.0f} ms  (reference)")
    print(f"drift, no refit     {t_pop * 1e3:8.0f} ms  ratio {t_pop / t_read:6.1f}x  (target <= 10x)")
    print(f"drift, full         {t_full * 1e3:8.0f} ms  ratio {t_full / t_read:6.1f}x  "
          f"(with {args.n_boot_weights} bootstrap resamples on {rep_full.weights['n']:,} rows; accounts per resample "
          f"{rep_full.weights.get('accounts_per_resample') or 'all'} of {rep_full.weights['n_accounts']:,})")


if __name__ == "__main__":
    main()
