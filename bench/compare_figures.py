"""Figures for the README: leaderboard and champion/challenger on the bundled book, the Iranian
worked example, and tuned bands. Run: PYTHONPATH=. python bench/compare_figures.py"""

from __future__ import annotations

import time

import numpy as np

from calibrate.fit.bands import band_separation, tune_bands
from calibrate.cli.options import bundled_data_path
from calibrate.compare.champion import compare_with_current
from calibrate.config.model import Dimension, WeightConfig, default_bands
from calibrate.data.datasets._real import load_iranian
from calibrate.fit.weights import fit_weights
from calibrate.compare.methods import leaderboard
from calibrate.data.load import load_accounts
from calibrate.fit.draft import build_config
from calibrate.score.scorer import score_frame

book = load_accounts(str(bundled_data_path()))
equal = WeightConfig(dimensions=[Dimension(name=d, column=d, weight=0.25) for d in book.dimensions], bands=default_bands())
new = build_config(fit_weights(book), book)
t = time.perf_counter()
board, cc = compare_with_current(book, new, equal, seed=0, n_boot=1000)
print(f"bundled book, current = equal weights ({time.perf_counter() - t:.1f} s)")
print(board.summary())
print(cc.summary())

real = load_iranian()
print("\nIranian churn (UCI 563), 5 grouped folds")
print(leaderboard(real.accounts, n_boot=1000, seed=0).summary())

score = score_frame(book.frame, new, by="name")["score"].to_numpy()
y = book.frame["renewed"].to_numpy()
tuned = tune_bands(score, y, new.bands)
for label, bands in (("configured", list(new.bands)), ("tuned", tuned)):
    idx = np.searchsorted([b.min for b in bands[1:]], score, side="right")
    shares = np.bincount(idx, minlength=4) / len(score)
    rates = np.bincount(idx, weights=y, minlength=4) / np.maximum(np.bincount(idx, minlength=4), 1)
    cuts = ", ".join(f"{b.min:g}" for b in bands[1:])
    print(f"{label:>10} bands: cuts {cuts}; shares {np.round(shares, 3).tolist()}; renewal {np.round(rates, 3).tolist()}; "
          f"G2 {band_separation(score, y, bands):.0f}")
