"""Speed of the validation-style account-level bootstrap (spread + AUC) on a large book.

Run: PYTHONPATH=. python bench/bench_bootstrap.py [n_rows] [n_boot]
Book: accounts with 2–3 quarterly snapshots; four sub-scores on 0–100 with two decimals that drift
around an account level; score = 0.40·usage + 0.25·engagement + 0.20·support + 0.15·commercial;
renewal from a logistic model; bands cut at 40 / 55 / 70. Prints the absolute times and their ratio
to one ``sklearn.metrics.roc_auc_score`` on the same data, measured in the same run (the best of
three, which makes the ratio conservative; machines are noisy). Target: ratio ≤ 15.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from calibrate import _stats


def book(n: int, seed: int = 0, *, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    size = rng.integers(2, 4, n)
    groups = np.repeat(np.arange(n), size)[:n]
    n_accounts = groups[-1] + 1
    level = rng.normal(62, 16, (n_accounts, 4))
    dims = np.clip(level[groups] + rng.normal(0, 6, (n, 4)), 0, 100).round(2)
    score = dims @ np.array([0.40, 0.25, 0.20, 0.15])
    if decimals is not None:
        score = score.round(decimals)
    renewed = (rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 0.06 * score)))).astype(int)
    band = np.digitize(score, [40.0, 55.0, 70.0])
    return groups, score, renewed, band


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run(n: int, n_boot: int, decimals: int | None) -> float:
    groups, score, renewed, band = book(n, decimals=decimals)
    rocs = [timed(lambda: roc_auc_score(renewed, score))[0] for _ in range(3)]
    roc = min(rocs)
    t_spread, spread = timed(lambda: _stats.bootstrap_spread(
        groups, band, renewed, top=3, red=1, n_boot=n_boot, seed=0))
    t_auc, auc = timed(lambda: _stats.bootstrap_auc(groups, renewed, score, n_boot=n_boot, seed=0))
    total = t_spread + t_auc
    label = "score as computed" if decimals is None else f"score rounded to {decimals} decimals"
    print(f"n={n:,} rows, {groups[-1] + 1:,} accounts, {np.unique(score).size:,} distinct scores ({label})")
    print(f"  roc_auc_score      {roc:7.3f} s  (best of 3; all: {', '.join(f'{r:.3f}' for r in rocs)})")
    print(f"  bootstrap_spread   {t_spread:7.3f} s  {spread.value:+.4f} [{spread.ci_low:+.4f}, {spread.ci_high:+.4f}]")
    print(f"  bootstrap_auc      {t_auc:7.3f} s  {auc.value:.4f} [{auc.ci_low:.4f}, {auc.ci_high:.4f}] se {auc.se:.5f}")
    print(f"  spread + AUC, {n_boot:,} account-level resamples: {total:.3f} s = {total / roc:.1f}x roc_auc_score")
    return total / roc


def main(n: int, n_boot: int) -> None:
    run(n, n_boot, None)
    run(n, n_boot, 0)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
