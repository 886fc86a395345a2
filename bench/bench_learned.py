"""Bench: fitting learned sub-scores on 1,000,000 rows, against the linear (percentile) sub-scores' fit.

Run: ``PYTHONPATH=. python bench/bench_learned.py [--n 1000000] [--k 6] [--repeat 3]``
Both fits start from the raw columns and end with simplex weights. *Linear*: a percentile transform per signal
(:func:`calibrate.data.transforms.fit_transform`, no outcome) and :func:`calibrate.fit.weights.fit_weights`.
*Learned*: the signals' cross-fitted joint learned transforms (:func:`calibrate.fit.joint.cross_fit_joint`, what
``calibrate fit --spec`` runs: five fold fits and the final fit, each a ridge logit over every signal's pre-bins)
and the same weight fit on the out-of-fold sub-scores. Prints both times (medians over ``--repeat``),
the ratio (target <= 3x) and the held-out-free in-sample AUC of each score.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd


def main() -> None:
    from sklearn.metrics import roc_auc_score

    from calibrate.data.load import DataSpec, load_accounts
    from calibrate.data.transforms import apply_transform, fit_transform
    from calibrate.fit.joint import JointSignal, cross_fit_joint
    from calibrate.fit.weights import fit_weights

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--k", type=int, default=6)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    raw = {f"s{j}": rng.gamma(2.0, 10.0, args.n).round(1) for j in range(args.k)}
    shapes = [lambda x: np.minimum(x, 30) / 30, lambda x: -np.abs(x - 20) / 20, lambda x: (x > 15) * 1.0]
    eta = sum(shapes[j % 3](x) for j, x in enumerate(raw.values())) - 0.3
    y = (rng.uniform(size=args.n) < 1 / (1 + np.exp(-eta))).astype(float)
    ids = np.array([f"A{i:07d}" for i in range(args.n)], dtype=object)
    names = tuple(raw)

    def weights(subs: dict[str, np.ndarray]) -> dict[str, float]:
        frame = pd.DataFrame(subs).assign(account_id=ids, renewed=y)
        return fit_weights(load_accounts(frame, spec=DataSpec(dimensions=names))).weights

    def linear() -> tuple[dict[str, float], dict[str, np.ndarray]]:
        subs = {c: apply_transform(x, fit_transform(x)) for c, x in raw.items()}
        return weights(subs), subs

    def learned() -> tuple[dict[str, float], dict[str, np.ndarray]]:
        fitted = cross_fit_joint({c: JointSignal(x, column=c) for c, x in raw.items()}, y, groups=ids)
        subs = {c: out for c, (_, out) in fitted.items()}
        return weights(subs), subs

    def timed(fn):
        times, out = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), out

    t_lin, (w_lin, s_lin) = timed(linear)
    t_learn, (w_learn, s_learn) = timed(learned)

    def auc(w: dict[str, float], s: dict[str, np.ndarray]) -> float:
        return roc_auc_score(y, sum(w[c] * s[c] for c in names))

    print(f"n={args.n:,} raw signals={args.k}, median of {args.repeat}")
    print(f"linear  (percentile + simplex)            {t_lin:6.2f} s   AUC {auc(w_lin, s_lin):.4f}")
    print(f"learned (cross-fitted binned + simplex)   {t_learn:6.2f} s   AUC {auc(w_learn, s_learn):.4f} (out of fold)  "
          f"ratio {t_learn / t_lin:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
