"""Coverage of the 95 % bootstrap weight intervals on synthetic data of known truth.

Run: ``PYTHONPATH=. python bench/coverage_weights.py [--reps 50] [--n 3000] [--n-boot 300]``
Each repetition draws ``calibrate.data.datasets.make_logistic_sample`` with known weights (seed = the
repetition), computes :func:`calibrate.fit.bootstrap.bootstrap_weights` and records whether each
dimension's interval holds the true weight. Target: coverage ≥ 90 % per dimension.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

TRUTH = {"usage": 0.40, "engagement": 0.25, "support": 0.20, "commercial": 0.15}


def main() -> None:
    from calibrate import load_accounts
    from calibrate.data.datasets import make_logistic_sample
    from calibrate.fit.bootstrap import bootstrap_weights

    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--n-boot", type=int, default=300)
    args = p.parse_args()
    hits = np.zeros((args.reps, len(TRUTH)), dtype=bool)
    widths = np.zeros((args.reps, len(TRUTH)))
    t0 = time.perf_counter()
    for r in range(args.reps):
        frame = make_logistic_sample(n=args.n, weights=TRUTH, slope=8.0, intercept=-3.0, seed=1000 + r)
        iv = bootstrap_weights(load_accounts(frame), n_boot=args.n_boot, seed=r)
        for j, (name, w) in enumerate(TRUTH.items()):
            hits[r, j] = iv.low[name] <= w <= iv.high[name]
            widths[r, j] = iv.high[name] - iv.low[name]
    elapsed = time.perf_counter() - t0
    print(f"{args.reps} repetitions, n={args.n} accounts, {args.n_boot} resamples each, {elapsed:.0f} s")
    print(f"{'dimension':<12} {'truth':>6} {'coverage':>9} {'mean width':>11}")
    for j, (name, w) in enumerate(TRUTH.items()):
        print(f"{name:<12} {w:6.2f} {hits[:, j].mean():9.0%} {widths[:, j].mean():11.3f}")
    ok = (hits.mean(axis=0) >= 0.90).all()
    print(f"coverage >= 90% for every dimension: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
