"""A minimal hand-written quarterly recalibration: the reference ``calibrate run`` is measured against.

    python bench/minimal_pipeline.py BOOK.parquet OUT_DIR [--dims d00,d01,...]

The same core work as ``calibrate run --current`` with nothing else: read Parquet; a statsmodels
``Logit`` and the simplex MLE (``v ≥ 0`` logistic regression by L-BFGS-B, weights ``v / Σv``); score
(0–100) and cut the default bands; a 1,000-resample account-level bootstrap of the green − red
renewal-rate spread (account draw counts × per-account band × outcome cells); AUC
(``roc_auc_score``); PSI of the score and the 12 dimensions, first six quarters vs the last two
(10 quantile bins); one PNG (matplotlib); one MLflow run (SQLite store) with params and metrics.
Prints one JSON line of its figures. Uses only numpy, pandas, scipy, statsmodels, scikit-learn,
matplotlib and mlflow — not calibrate.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd


def simplex_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from scipy.optimize import minimize
    from scipy.special import expit

    def loss(t: np.ndarray) -> tuple[float, np.ndarray]:
        eta = t[0] + x @ t[1:]
        r = expit(eta) - y
        return float(np.mean(np.logaddexp(0, eta) - y * eta)), np.concatenate(([r.mean()], x.T @ r / len(y)))

    t0 = np.concatenate(([np.log(y.mean() / (1 - y.mean()))], np.full(x.shape[1], 0.1)))
    res = minimize(loss, t0, jac=True, method="L-BFGS-B", bounds=[(None, None)] + [(0, None)] * x.shape[1])
    return res.x[1:] / res.x[1:].sum(), float(res.x[0])


def psi(a: np.ndarray, b: np.ndarray, bins: int = 10) -> float:
    edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
    pa = np.bincount(np.searchsorted(edges, a), minlength=len(edges) + 1) / len(a)
    pb = np.bincount(np.searchsorted(edges, b), minlength=len(edges) + 1) / len(b)
    pa, pb = np.clip(pa, 1e-6, None), np.clip(pb, 1e-6, None)
    return float(np.sum((pb - pa) * np.log(pb / pa)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("book", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--dims", default=",".join(f"d{j:02d}" for j in range(12)))
    args = ap.parse_args()
    dims = args.dims.split(",")
    args.out.mkdir(parents=True, exist_ok=True)

    frame = pd.read_parquet(args.book)
    x = frame[dims].to_numpy(dtype=float) / 100.0
    y = frame["renewed"].to_numpy(dtype=float)

    import statsmodels.api as sm

    logit = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
    w, _ = simplex_fit(x, y)
    score = 100.0 * (x @ w)
    band = np.searchsorted([25.0, 50.0, 75.0], score, side="right")  # critical, red, amber, green

    codes, _ = pd.factorize(frame["account_id"])
    n_acc = codes.max() + 1
    cell = np.where(band == 3, y.astype(int), np.where(band == 1, 2 + y.astype(int), -1))
    keep = cell >= 0
    per_account = np.zeros((n_acc, 4))
    np.add.at(per_account, (codes[keep], cell[keep]), 1.0)
    rng = np.random.default_rng(0)
    spreads = np.empty(1000)
    for b in range(1000):  # how often each account is drawn × its band × outcome cells
        c = np.bincount(rng.integers(0, n_acc, n_acc), minlength=n_acc) @ per_account
        spreads[b] = c[1] / (c[0] + c[1]) - c[3] / (c[2] + c[3])
    lo, hi = np.percentile(spreads, [2.5, 97.5])
    spread = y[band == 3].mean() - y[band == 1].mean()

    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(y, score)
    dates = frame["snapshot_date"].to_numpy()
    cut = np.sort(np.unique(dates))[-2]
    old, new = dates < cut, dates >= cut
    psis = {"score": psi(score[old], score[new]), **{d: psi(x[old, j], x[new, j]) for j, d in enumerate(dims)}}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(dims, w)
    ax.set_ylabel("weight")
    fig.savefig(args.out / "weights.png", dpi=100)
    plt.close(fig)

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{(args.out / 'mlflow.db').resolve()}")
    # artifacts beside the store, not in ./mlruns of whatever directory the bench is started from
    experiment = mlflow.create_experiment("minimal", artifact_location=(args.out / "artifacts").resolve().as_uri())
    with mlflow.start_run(run_name="minimal", experiment_id=experiment):
        mlflow.log_params({"rows": len(frame), "dims": len(dims)})
        mlflow.log_metrics({"auc": auc, "spread": spread, "spread_lo": lo, "spread_hi": hi,
                            **{f"w_{d}": v for d, v in zip(dims, w)}, **{f"psi_{k}": v for k, v in psis.items()}})
        mlflow.log_artifact(str(args.out / "weights.png"))
    print(json.dumps({"auc": auc, "spread": [spread, lo, hi], "logit_llf": float(logit.llf),
                      "weights": dict(zip(dims, map(float, w))), "psi_score": psis["score"]}))


if __name__ == "__main__":
    main()
