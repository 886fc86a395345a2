"""Held-out AUC on the two real exports: linear sub-scores vs learned (joint, cross-fitted) vs the additive ceiling vs
logistic regression on the raw columns — the table of docs/learned-transforms.md.

Run: ``PYTHONPATH=. python bench/learned_real.py [--data telco|iranian|both] [--split grouped|stratified|both]
[--options JSON] [--digits 3]``; ``--options`` sets :class:`~calibrate.fit.joint.JointOptions` fields (the measured
variants of docs/learned-transforms.md, e.g. ``'{"max_bins": 20}'``).

Splits: five grouped folds (scikit-learn ``StratifiedGroupKFold``, shuffled, seed 0, by account; AUC on the pooled
held-out rows, as the leaderboard) and an outcome-stratified 25 % hold-out (``train_test_split``, seed 0). Every
model is fitted on the training side only:

* *linear*: the sub-scores of ``calibrate init``'s spec (percentile / min–max / log / step / category points), the
  simplex weights fitted on the training side;
* *learned*: :func:`calibrate.fit.joint.cross_fit_joint` on the raw columns of the training side (out-of-fold
  sub-scores, simplex weights on them), the held-out rows scored by the final transforms;
* *additive ceiling*: ``HistGradientBoostingClassifier(interaction_cst="no_interactions")`` on the raw columns
  (categories native);
* *LR raw*: an unpenalised logistic regression on the raw columns (numbers standardised, gaps the training median;
  categories one-hot).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = {"telco": (ROOT / "data" / "ibm-telco" / "Telco-Customer-Churn.csv", "Yes", "customerID"),
        "iranian": (ROOT / "data" / "iranian-churn" / "Customer_Churn.csv", "1", None)}


def _linear_subscores(path: Path, churned: str, id_col: str | None) -> pd.DataFrame:
    from calibrate.data.spec import read_spec
    from calibrate.data.spec_load import load_with_spec

    with tempfile.TemporaryDirectory() as tmp:
        args = ["init", "--data", str(path), "--outcome", "Churn", "--churned-value", churned]
        subprocess.run([sys.executable, "-m", "calibrate", *args, *(["--id", id_col] if id_col else [])], cwd=tmp,
                       check=True, capture_output=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
        spec_path = Path(tmp) / "calibrate.yaml"
        spec_path.write_text(spec_path.read_text().replace('missing: "error"', 'missing: "median"'))
        accounts, _ = load_with_spec(pd.read_csv(path), read_spec(spec_path))
    return accounts


def main() -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    from calibrate.data.transforms import apply_transform
    from calibrate.fit.joint import JointOptions, JointSignal, cross_fit_joint
    from calibrate.fit.weights import fit_arrays

    p = argparse.ArgumentParser()
    p.add_argument("--data", choices=("telco", "iranian", "both"), default="both")
    p.add_argument("--split", choices=("grouped", "stratified", "both"), default="both")
    p.add_argument("--points", action="store_true", help="also print the three heaviest signals' points tables, "
                   "fitted on every row")
    p.add_argument("--options", type=json.loads, default={}, help="JointOptions fields as JSON (lists for tuples)")
    p.add_argument("--digits", type=int, default=3, help="decimals of the AUCs printed")
    args = p.parse_args()
    options = JointOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.options.items()})
    warnings.filterwarnings("ignore", category=FutureWarning)
    print("| data | split | linear (simplex) | learned (simplex) | additive ceiling | LR on raw columns |")
    print("|---|---|---|---|---|---|")
    for name in (("telco", "iranian") if args.data == "both" else (args.data,)):
        path, churned, id_col = DATA[name]
        accounts = _linear_subscores(path, churned, id_col)
        raw = pd.read_csv(path)
        if name == "iranian":
            raw = raw.drop_duplicates(ignore_index=True)
        y = accounts.frame["renewed"].to_numpy(dtype=float)
        ids = accounts.frame["account_id"].to_numpy(dtype=object)
        dims = tuple(accounts.dimensions)
        x_lin = accounts.frame[list(dims)].to_numpy(dtype=float)
        cols = [c for c in raw.columns if c not in ("Churn", id_col)]
        if name == "telco":
            raw["TotalCharges"] = pd.to_numeric(raw["TotalCharges"], errors="coerce")
        cats = [c for c in cols if not pd.api.types.is_numeric_dtype(raw[c])]
        nums = [c for c in cols if c not in cats]
        splits = {}
        if args.split in ("grouped", "both"):
            splits["grouped 5 folds"] = list(StratifiedGroupKFold(5, shuffle=True, random_state=0).split(raw, y, ids))
        if args.split in ("stratified", "both"):
            tr, te = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=0)
            splits["stratified 25 %"] = [(np.sort(tr), np.sort(te))]
        for split, folds in splits.items():
            got: dict[str, list[np.ndarray]] = {m: [] for m in ("linear", "learned", "additive", "lr")}
            tests = []
            for tr, te in folds:
                tests.append(te)
                lin = fit_arrays(x_lin[tr], y[tr], dims, groups=ids[tr])
                got["linear"].append(x_lin[te] @ np.array([lin.weights[d] for d in dims]))
                is_tr = np.zeros(len(y), dtype=bool)
                is_tr[tr] = True
                learned = cross_fit_joint({c: JointSignal(raw[c].to_numpy(), categorical=c in cats, column=c)
                                           for c in cols}, y, groups=ids, train=is_tr, options=options)
                kept = tuple(c for c in cols if learned[c][0].shape != "flat")
                subs = np.column_stack([learned[c][1] for c in kept])
                fill = np.nanmedian(subs[tr], axis=0)  # a gap without a bin of its own: the spec's `missing: median`
                subs = np.where(np.isnan(subs), fill, subs)
                fit = fit_arrays(subs[tr], y[tr], kept, groups=ids[tr])
                test_subs = np.column_stack([apply_transform(raw[c].to_numpy()[te], learned[c][0]) for c in kept])
                test_subs = np.where(np.isnan(test_subs), fill, test_subs)
                got["learned"].append(test_subs @ np.array([fit.weights[c] for c in kept]))
                enc = make_column_transformer((OrdinalEncoder(), cats), remainder="passthrough")
                hgb = make_pipeline(enc, HistGradientBoostingClassifier(
                    interaction_cst="no_interactions", random_state=0,
                    categorical_features=[True] * len(cats) + [False] * len(nums)))
                got["additive"].append(hgb.fit(raw.iloc[tr][cats + nums], y[tr]).predict_proba(
                    raw.iloc[te][cats + nums])[:, 1])
                lr = make_pipeline(make_column_transformer(
                    (OneHotEncoder(drop="first", handle_unknown="ignore"), cats),
                    (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums)),
                    LogisticRegression(C=np.inf, max_iter=5000))
                got["lr"].append(lr.fit(raw.iloc[tr][cols], y[tr]).decision_function(raw.iloc[te][cols]))
            yt = y[np.concatenate(tests)]
            auc = {m: roc_auc_score(yt, np.concatenate(v)) for m, v in got.items()}
            print(f"| {name} | {split} | " + " | ".join(f"{auc[m]:.{args.digits}f}" for m in got) + " |", flush=True)
        if args.points:
            from calibrate.fit.points import points_text

            learned = cross_fit_joint({c: JointSignal(raw[c].to_numpy(), categorical=c in cats, column=c)
                                       for c in cols}, y, groups=ids, options=options)
            kept = tuple(c for c in cols if learned[c][0].shape != "flat")
            subs = np.column_stack([learned[c][1] for c in kept])
            subs = np.where(np.isnan(subs), np.nanmedian(subs, axis=0), subs)
            fit = fit_arrays(subs, y, kept, groups=ids)
            for c in sorted(kept, key=lambda c: -fit.weights[c])[:3]:
                print(points_text(c, learned[c][0], weight=fit.weights[c]) + "\n", flush=True)


if __name__ == "__main__":
    main()
