"""Speed of the full band validation against one scikit-learn ``roc_auc_score`` (issue 4).

Run: PYTHONPATH=. python bench/bench_validate.py [n_rows] [n_boot]
Builds a book of n_rows snapshots (4 per account, dates, ARR, segments, a csm_red flag) drawn from a
known logistic model, then times ``validate(data, config, n_boot=2000)`` — scoring, bands with Wilson
intervals, the account-level bootstrap of the spread and of the red multiple, DeLong AUC, KS,
calibration, lift, the red book and the CSM test — and prints it as a ratio to one
``roc_auc_score`` on the same rows in the same run (target: at most 15x; no Python loop per resample).
Also times ``validate(..., red_metrics=False)`` to show what the red book costs.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from bench_scorers import best  # same directory: the timing helper of the benches

from calibrate.config.model import Calibration, Dimension, WeightConfig, default_bands
from calibrate.data.load import load_accounts
from calibrate.score.scorer import score_frame
from calibrate.validation.separation import validate


def book(n: int, snapshots: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = ("usage", "engagement", "support", "commercial")
    dims = {d: np.clip(rng.normal(62, 18, n), 0, 100).round(2) for d in names}
    score = 0.4 * dims["usage"] + 0.25 * dims["engagement"] + 0.2 * dims["support"] + 0.15 * dims["commercial"]
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 0.08 * score)))).astype(int)
    account = np.arange(n) // snapshots
    snap = pd.Timestamp("2024-01-01") + pd.to_timedelta((np.arange(n) % snapshots) * 91, unit="D")
    return pd.DataFrame({
        "account_id": account.astype(str), "snapshot_date": snap, "renewal_date": snap + pd.Timedelta(days=60),
        "renewed": y, "arr": rng.lognormal(10, 1, n).round(2), "segment": rng.choice(["SMB", "MM", "ENT"], n),
        "csm_red": (rng.random(n) < np.where(y == 0, 0.3, 0.05)).astype(int), **dims,
    })


def main(n: int, n_boot: int) -> None:
    data = load_accounts(book(n))
    cfg = WeightConfig(
        dimensions=[Dimension(name=d, column=d, weight=w)
                    for d, w in zip(("usage", "engagement", "support", "commercial"), (0.4, 0.25, 0.2, 0.15))],
        bands=default_bands(), calibration=Calibration(intercept=-2.5, slope=0.08),
    )
    from sklearn.metrics import roc_auc_score

    y = data.frame["renewed"].to_numpy()
    s = score_frame(data.frame, cfg, contributions=False)["score"].to_numpy()
    ref = best(lambda: roc_auc_score(y, s))
    full = best(lambda: validate(data, cfg, n_boot=n_boot), repeat=2)
    core = best(lambda: validate(data, cfg, n_boot=n_boot, red_metrics=False), repeat=2)
    v = validate(data, cfg, n_boot=n_boot)
    print(f"n={n:,} rows, {data.n_accounts:,} accounts, n_boot={n_boot:,}: roc_auc_score {ref:.3f} s")
    print(f"validate (everything)       {full:.2f} s = {full / ref:.1f}x roc_auc_score (target <= 15x)")
    print(f"validate (no red book)      {core:.2f} s = {core / ref:.1f}x roc_auc_score")
    print(f"AUC {v.auc:.4f} (sklearn {roc_auc_score(y, s):.4f}), spread {v.spread:+.3f} "
          f"[{v.spread_ci[0]:+.3f}, {v.spread_ci[1]:+.3f}], red multiple {v.red.red_multiple:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000, int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
