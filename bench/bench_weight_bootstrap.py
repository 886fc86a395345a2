"""The weight bootstrap's resample fits: warm-started refits against one Newton step (same draws).

    PYTHONPATH=. python bench/bench_weight_bootstrap.py [--rows 100000] [--n-boot 200] [--m 0] [--coverage 0]

On the scale book (bench/make_scale_book.py: rows / 8 accounts × 8 quarters, 12 dimensions) it runs
:func:`calibrate.fit.bootstrap.bootstrap_weights` twice with the same seed — ``resample_fit="refit"`` and
``"newton"`` — and prints each one's time, and per dimension both intervals and how far the Newton
bounds are from the refits' in units of the refits' bootstrap standard error (Monte-Carlo error of a
percentile bound at 200 resamples is about 0.2 SE). ``--m`` sets ``accounts_per_resample`` for both.
``--coverage R`` also runs R books of known truth (``make_logistic_sample``, 20,000 accounts, the
Newton path) and prints each dimension's coverage of the true weights (target 90–98 %).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from make_scale_book import dimension_names, make_frame  # same directory


def compare(rows: int, n_boot: int, m: int | None) -> None:
    from calibrate.data.load import DataSpec, load_accounts
    from calibrate.fit.bootstrap import bootstrap_weights
    from calibrate.fit.weights import fit_weights

    frame = make_frame(rows, 12)
    data = load_accounts(frame, spec=DataSpec(dimensions=dimension_names(12)))
    full = fit_weights(data)
    out = {}
    for how in ("refit", "newton"):
        t = time.perf_counter()
        out[how] = bootstrap_weights(data, n_boot=n_boot, seed=0, resample_fit=how, full_fit=full,
                                     accounts_per_resample=m)
        print(f"{how:<7} {time.perf_counter() - t:7.2f} s  ({n_boot} resamples of {data.n_accounts:,} accounts, "
              f"m = {out[how].accounts_per_resample or 'all'})")
    ref, new = out["refit"], out["newton"]
    se = ref.draws.std(axis=0, ddof=1)
    print(f"{'dim':<5}{'weight':>8}{'refit low':>11}{'high':>8}{'newton low':>12}{'high':>8}{'Δlow/SE':>9}{'Δhigh/SE':>9}")
    for j, d in enumerate(ref.weights):
        print(f"{d:<5}{ref.weights[d]:8.4f}{ref.low[d]:11.4f}{ref.high[d]:8.4f}{new.low[d]:12.4f}{new.high[d]:8.4f}"
              f"{(new.low[d] - ref.low[d]) / se[j]:9.2f}{(new.high[d] - ref.high[d]) / se[j]:9.2f}")
    corr = [np.corrcoef(ref.draws[:, j], new.draws[:, j])[0, 1] for j in range(se.size)]
    print(f"correlation of the draws (refit vs step), per dimension: min {min(corr):.4f}")


def coverage(reps: int, n: int = 20_000, n_boot: int = 200) -> None:
    from calibrate import load_accounts
    from calibrate.data.datasets import make_logistic_sample
    from calibrate.fit.bootstrap import bootstrap_weights

    truth = {"usage": 0.40, "engagement": 0.25, "support": 0.20, "commercial": 0.15}
    hits = np.zeros((reps, len(truth)), dtype=bool)
    for r in range(reps):
        frame = make_logistic_sample(n=n, weights=truth, slope=8.0, intercept=-3.0, seed=1000 + r)
        iv = bootstrap_weights(load_accounts(frame), n_boot=n_boot, seed=r, resample_fit="newton")
        hits[r] = [iv.low[d] <= w <= iv.high[d] for d, w in truth.items()]
    print(f"coverage of the true weights, {reps} books of {n:,} accounts (Newton step): "
          + ", ".join(f"{d} {c:.0%}" for d, c in zip(truth, hits.mean(axis=0))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--m", type=int, default=0)
    ap.add_argument("--coverage", type=int, default=0)
    args = ap.parse_args()
    compare(args.rows, args.n_boot, args.m or None)
    if args.coverage:
        coverage(args.coverage)


if __name__ == "__main__":
    main()
