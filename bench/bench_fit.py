"""Bench: the simplex fit on 1,000,000 rows × 12 dimensions, against one statsmodels Logit in the same run.

Run: ``PYTHONPATH=. python bench/bench_fit.py [--n 1000000] [--k 12] [--repeat 3]``
Prints the fit time as a ratio to statsmodels Logit (target ≤ 2×) and the fit's peak traced memory
as a multiple of the data size (n × k float64; target ≤ 3×). Medians over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np


def main() -> None:
    import statsmodels.api as sm

    from calibrate import load_accounts
    from calibrate.data.datasets import make_logistic_sample
    from calibrate.fit.weights import fit_weights
    from calibrate.data.load import DataSpec

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--k", type=int, default=12)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    names = tuple(f"d{j:02d}" for j in range(args.k))
    truth = dict(zip(names, rng.dirichlet(np.ones(args.k))))
    frame = make_logistic_sample(n=args.n, weights=truth, slope=6.0, intercept=-2.0, seed=1)
    data = load_accounts(frame, spec=DataSpec(dimensions=names))
    x = data.frame[list(names)].to_numpy(dtype=float) / 100.0
    y = data.frame["renewed"].to_numpy(dtype=float)
    data_bytes = x.nbytes
    xc = sm.add_constant(x)

    def timed(fn):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), out

    t_sm, ref = timed(lambda: sm.Logit(y, xc).fit(disp=0))
    t_fit, fit = timed(lambda: fit_weights(data))
    t_floor, fit_floor = timed(lambda: fit_weights(data, floor=0.02, cap=0.3))
    tracemalloc.start()
    fit_weights(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n_neg = int((ref.params[1:] < 0).sum())
    print(f"n={args.n:,} k={args.k} (data {data_bytes / 2**20:.0f} MiB), median of {args.repeat}")
    print(f"statsmodels Logit (Newton)        {t_sm:6.2f} s   (reference)")
    print(f"fit_weights simplex (Newton)      {t_fit:6.2f} s   ratio {t_fit / t_sm:.2f}x (target <= 2x)  converged={fit.converged}")
    print(f"fit_weights floor+cap (Newton)    {t_floor:6.2f} s   ratio {t_floor / t_sm:.2f}x  converged={fit_floor.converged}")
    print(f"peak traced memory of the fit     {peak / 2**20:6.0f} MiB = {peak / data_bytes:.2f}x the data (target <= 3x)")
    print(f"log-likelihood: simplex {fit.log_likelihood:.3f}, unconstrained Logit {ref.llf:.3f} "
          f"({n_neg} negative Logit coefficient(s), so the simplex optimum is on the boundary)")


if __name__ == "__main__":
    main()
