"""Learned sub-scores (issue 14): shape-constrained binned points per signal, fitted from outcomes, cross-fitted,
stored in the config and applied identically by Python, the SQL export (DuckDB, PostgreSQL) and the MLflow scorer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from _postgres import copy_frame, postgres_url  # noqa: F401  (fixture)
from statsmodels.stats.proportion import proportion_confint

from calibrate import read_config, write_config
from calibrate.config.model import Calibration, Dimension, WeightConfig, default_bands
from calibrate.data.sql import read_sql
from calibrate.data.transforms import apply_transform
from calibrate.errors import ConfigError
from calibrate.fit.joint import JointSignal, cross_fit_joint
from calibrate.fit.learned import N_FOLDS, cross_fit, fit_learned, fold_of, points_table
from calibrate.publish.export import export_sql, score_accounts
from calibrate.score.scorer import score_frame

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def _draw(p: np.ndarray, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=p.size) < p).astype(float)


def test_a_step_shaped_truth_is_recovered_within_one_bin():
    x = np.random.default_rng(3).integers(0, 40, 20_000).astype(float)  # 40 values: one pre-bin each
    y = _draw(np.where(x < 15, 0.6, 0.9), 4)  # renewal jumps at 15
    t = fit_learned(x, y)
    assert t.kind == "binned" and t.shape == "step" and t.knots == [15.0]
    assert t.values == [0.0, 100.0]  # the bin that renews best scores 100
    # the stored counts are the data's, bin by bin (an independent count with numpy)
    below = x < t.knots[0]
    assert t.bins == {"n": [int(below.sum()), int((~below).sum())],
                      "renewed": [int(y[below].sum()), int(y[~below].sum())]}


@pytest.mark.parametrize("seed", range(6))
def test_a_step_inside_a_pre_bin_is_recovered_within_one_bin(seed):
    x = np.random.default_rng(seed).uniform(0, 100, 20_000)
    t = fit_learned(x, _draw(np.where(x < 37.0, 0.6, 0.9), seed + 10))
    jump = int(np.argmax(np.diff(t.values)))
    assert t.shape in ("step", "increasing") and t.values[0] == 0.0 and t.values[-1] == 100.0
    assert abs(t.knots[jump] - 37.0) <= 100.0 / 40  # the biggest jump: within one of the 40 pre-bins of the truth


@pytest.mark.parametrize(("truth", "shape"), [
    (lambda x: 0.5 + 0.4 * x / 100, "increasing"),
    (lambda x: 0.9 - 0.4 * x / 100, "decreasing"),
    (lambda x: 0.9 - 0.5 * np.abs(x - 50) / 50, "peak"),
    (lambda x: 0.5 + 0.4 * np.abs(x - 50) / 50, "trough"),
    (lambda x: np.full(x.shape, 0.8), "flat"),
])
def test_the_shape_is_chosen_by_the_data(truth, shape):
    x = np.random.default_rng(5).uniform(0, 100, 20_000)
    t = fit_learned(x, _draw(truth(x), 6))
    assert t.shape == shape
    if shape != "flat":
        assert len(t.values) >= 3 and min(t.values) == 0.0 and max(t.values) == 100.0


def test_points_table_rates_and_wilson_intervals_match_statsmodels():
    x = np.random.default_rng(7).integers(0, 9, 5_000).astype(float)
    y = _draw(np.where(x >= 4, 0.55, 0.88), 8)  # "4+ service calls"
    t = fit_learned(x, y)
    assert t.knots == [4.0]
    table = points_table(t)
    assert table["bin"].tolist() == ["< 4", ">= 4"] and table["points"].tolist() == [100.0, 0.0]
    for row, mask in zip(table.itertuples(), (x < 4, x >= 4)):
        lo, hi = proportion_confint(int(y[mask].sum()), int(mask.sum()), alpha=0.05, method="wilson")
        assert (row.n, row.renewed) == (int(mask.sum()), int(y[mask].sum()))
        assert row.renewal_rate == pytest.approx(y[mask].mean(), abs=1e-12)
        assert (row.ci_low, row.ci_high) == pytest.approx((lo, hi), abs=1e-12)
    assert points_table(t, x, y).equals(table)  # the same table recounted from the data


def test_points_are_the_scaled_smoothed_log_odds_of_each_bin():
    x = np.random.default_rng(9).integers(0, 3, 6_000).astype(float)
    y = _draw(np.array([0.6, 0.75, 0.9])[x.astype(int)], 10)
    t = fit_learned(x, y)
    logit = [np.log((y[x == v].sum() + 0.5) / ((x == v).sum() - y[x == v].sum() + 0.5)) for v in (0, 1, 2)]
    expected = [round(100 * (v - logit[0]) / (logit[2] - logit[0]), 2) for v in logit]
    assert t.knots == [1.0, 2.0] and t.values == pytest.approx(expected, abs=1e-9)


def test_categories_missing_bin_rare_labels_and_unseen_labels():
    rng = np.random.default_rng(11)
    labels = rng.choice(["Month-to-month", "One year", "Two year", "Rare"], 10_000, p=[0.5, 0.25, 0.245, 0.005])
    raw = labels.astype(object)
    raw[rng.uniform(size=raw.size) < 0.1] = None  # 10 % missing: its own bin
    p = pd.Series(labels).map({"Month-to-month": 0.55, "One year": 0.85, "Two year": 0.97, "Rare": 0.97}).to_numpy()
    p = np.where(pd.isna(raw), 0.7, p)
    y = _draw(p, 12)
    t = fit_learned(raw, y, categorical=True)
    cats = t.categories
    assert cats["Month-to-month"] == 0.0 and cats["Two year"] == 100.0 and 0 < cats["One year"] < 100
    assert set(cats) == {"Month-to-month", "One year", "Two year", "Rare"}  # a rare label is pooled, still listed
    assert t.missing is not None and cats["Month-to-month"] < t.missing < cats["One year"]
    got = apply_transform(np.array([" Two year ", None, "", "Unheard of", "One year"], dtype=object), t)
    np.testing.assert_array_equal(got, [100.0, t.missing, t.missing, t.missing, cats["One year"]])


def test_a_small_missing_share_follows_the_declared_rule():
    x = np.random.default_rng(13).uniform(0, 1, 4_000)
    x[:20] = np.nan  # 0.5 %: below the minimum share of a bin
    t = fit_learned(x, _draw(0.5 + 0.4 * np.nan_to_num(x), 14))
    assert t.missing is None and np.isnan(apply_transform(np.array([np.nan]), t)[0])


def test_every_bin_holds_the_minimum_shares():
    x = np.random.default_rng(15).exponential(10, 8_000)
    y = _draw(1 / (1 + np.exp(-(0.2 * np.minimum(x, 30) - 1))), 16)
    t = fit_learned(x, y, min_bin_share=0.05, min_event_share=0.05)
    n, r = np.array(t.bins["n"]), np.array(t.bins["renewed"])
    assert (n >= 0.05 * x.size).all() and (n - r >= 0.05 * (y == 0).sum()).all()


def test_cross_fit_scores_each_training_row_with_a_transform_that_never_saw_it():
    rng = np.random.default_rng(17)
    x = rng.uniform(0, 100, 3_000)
    y = _draw(np.where(x < 50, 0.6, 0.9), 18)
    ids = np.array([f"A{i % 1000:04d}" for i in range(x.size)])  # three rows per account
    train = np.arange(x.size) < 2_500
    final, out = cross_fit(x, y, groups=ids, train=train)
    assert final == fit_learned(x[train], y[train])
    fold = fold_of(ids)
    assert all(len(set(fold[ids == a])) == 1 for a in ids[:50])  # an account's rows share a fold
    for f in range(N_FOLDS):
        held = train & (fold == f)
        own = fit_learned(x[train & (fold != f)], y[train & (fold != f)])
        np.testing.assert_array_equal(out[held], apply_transform(x[held], own))
    np.testing.assert_array_equal(out[~train], apply_transform(x[~train], final))


def _learned_config(missing: str = "redistribute") -> tuple[WeightConfig, pd.DataFrame]:
    rng = np.random.default_rng(19)
    n = 3_000
    frame = pd.DataFrame({"row_id": np.arange(n), "account_id": [f"A{i:05d}" for i in range(n)],
                          "Service Calls": rng.integers(0, 9, n).astype(float),
                          "tenure": rng.uniform(0, 72, n).round(1),
                          "contract": rng.choice(["Month-to-month", "One year", "Two year"], n).astype(object)})
    p = 0.5 + 0.25 * (frame["Service Calls"] < 4) + 0.2 * (frame["contract"] != "Month-to-month") \
        - 0.002 * np.abs(frame["tenure"] - 30)
    y = _draw(p.to_numpy(), 20)
    frame.loc[::9, "tenure"] = np.nan
    frame.loc[rng.uniform(size=n) < 0.08, "contract"] = None
    t_calls = fit_learned(frame["Service Calls"], y)
    t_tenure = fit_learned(frame["tenure"], y)
    t_contract = fit_learned(frame["contract"], y, categorical=True)
    dims = [Dimension(name="calls", column="Service Calls", weight=0.3, transform=t_calls),
            Dimension(name="tenure", column="tenure", weight=0.3, transform=t_tenure),
            Dimension(name="contract", column="contract", weight=0.4, transform=t_contract)]
    cfg = WeightConfig(dimensions=dims, bands=default_bands(), missing=missing, version=1,
                       calibration=Calibration(intercept=-2.0, slope=0.06))
    # values on the cut-points, a blank and an unseen label, a row with nothing the transforms score
    frame.loc[0, "Service Calls"] = t_calls.knots[0]
    frame.loc[1, "contract"] = "  "
    frame.loc[2, "contract"] = "Three year"
    frame.loc[3, ["Service Calls", "tenure", "contract"]] = [np.nan, np.nan, None]
    return cfg, frame


def test_a_learned_config_round_trips(tmp_path):
    cfg, _ = _learned_config()
    back = read_config(write_config(cfg, tmp_path))
    assert back.model_dump(exclude={"content_hash", "created_at"}) == cfg.model_dump(exclude={"content_hash",
                                                                                               "created_at"})
    assert back.dimensions[2].transform.categories == cfg.dimensions[2].transform.categories


def test_a_malformed_learned_transform_is_refused_with_exit_2(tmp_path):
    cfg, _ = _learned_config()
    doc = json.loads(cfg.to_json())
    doc["dimensions"][0]["transform"]["values"].append(50.0)  # one more point than bins
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="cut-points make .* bins, but .* points are given"):
        read_config(path)
    res = cli("config", "validate", str(path), cwd=tmp_path)
    assert res.returncode == 2 and "points are given" in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("missing", ["redistribute", "error"])
def test_python_sql_duckdb_postgres_and_mlflow_agree_on_learned_transforms(tmp_path, postgres_url, missing):  # noqa: F811
    import mlflow

    from calibrate.publish.registry import champion_uri, promote, register_scorer

    cfg, frame = _learned_config(missing)
    if missing == "error":  # the Python scorer refuses a missing sub-score (row 3's calls); SQL would give NULL
        frame = frame.drop(index=3).reset_index(drop=True)
    reference = score_frame(frame, cfg, by="column")
    assert cfg.dimensions[1].transform.missing is not None and cfg.dimensions[0].transform.missing is None
    if missing == "redistribute":  # row 3: calls missing (its weight spread), tenure and contract their missing bins
        assert reference.loc[3, "contribution_calls"] == 0 and reference["score"].notna().all()
    con = duckdb.connect()
    con.register("accounts", frame)
    in_duckdb = con.sql(export_sql(cfg, dialect="duckdb")).df().sort_values("row_id").reset_index(drop=True)
    copy_frame(postgres_url, "learned", frame, {"row_id": "integer", "account_id": "text", "contract": "text",
                                                "Service Calls": "double precision", "tenure": "double precision"})
    in_pg = read_sql(postgres_url, export_sql(cfg, dialect="postgres", table="public.learned"))[0]
    in_pg = in_pg.sort_values("row_id").reset_index(drop=True)
    store = tmp_path / "mlflow"
    promote(register_scorer(write_config(cfg, tmp_path / "configs"), mlflow_dir=store).version, mlflow_dir=store)
    from_mlflow = mlflow.pyfunc.load_model(champion_uri()).predict(frame[["Service Calls", "tenure", "contract"]])
    for name, got in {"duckdb": in_duckdb, "postgres": in_pg, "mlflow": from_mlflow}.items():
        for column in ("score", "p_renew", *(f"contribution_{d.name}" for d in cfg.dimensions)):
            np.testing.assert_allclose(got[column].astype(float), reference[column], rtol=0, atol=1e-9,
                                       err_msg=f"{name} {column}")
        assert got["band"].fillna("-").tolist() == reference["band"].fillna("-").tolist(), name
    scored = score_accounts(frame, cfg)  # `calibrate score`'s loader reads the raw labels through the same transforms
    np.testing.assert_allclose(scored["score"], reference["score"], rtol=0, atol=1e-9)


@pytest.mark.slow
def test_on_the_iranian_export_learned_sub_scores_reach_the_additive_ceiling():
    """Outcome-stratified 25 % hold-out: the joint learned score's AUC is within 0.01 of no-interaction gradient
    boosting on the raw columns and not below an unconstrained logistic regression on them (about 40 s)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from calibrate.data.load import DataSpec, load_accounts
    from calibrate.fit.weights import fit_weights

    raw = pd.read_csv(ROOT / "data" / "iranian-churn" / "Customer_Churn.csv").drop_duplicates(ignore_index=True)
    y = 1.0 - raw.pop("Churn").to_numpy(dtype=float)
    train, test = train_test_split(np.arange(len(raw)), test_size=0.25, stratify=y, random_state=0)
    is_train = np.isin(np.arange(len(raw)), train)
    ids = np.array([f"IR-{i}" for i in range(len(raw))])
    learned = cross_fit_joint({c: JointSignal(raw[c].to_numpy(dtype=float), column=c) for c in raw.columns}, y,
                              groups=ids, train=is_train)
    subs = {f"s{j}": learned[c][1] for j, c in enumerate(raw.columns) if learned[c][0].shape != "flat"}
    frame = pd.DataFrame(subs).assign(account_id=ids, renewed=y)
    fitted = fit_weights(load_accounts(frame.iloc[train], spec=DataSpec(dimensions=tuple(subs))))
    score = frame.iloc[test][list(subs)].to_numpy() @ np.array([fitted.weights[s] for s in subs])
    got = roc_auc_score(y[test], score)
    additive = HistGradientBoostingClassifier(interaction_cst="no_interactions", random_state=0)
    additive = roc_auc_score(y[test], additive.fit(raw.iloc[train], y[train]).predict_proba(raw.iloc[test])[:, 1])
    logistic = make_pipeline(StandardScaler(), LogisticRegression(C=1e6, max_iter=5000)).fit(raw.iloc[train], y[train])
    logistic = roc_auc_score(y[test], logistic.predict_proba(raw.iloc[test])[:, 1])
    assert got >= additive - 0.01, (got, additive)
    assert got >= logistic, (got, logistic)


def test_joint_points_follow_the_conditional_effect_of_correlated_signals():
    """A known truth with suppression: renewal rises with usage and falls with charges at a given usage, while
    charges track usage so closely that they renew *better* marginally. The marginal map orients charges the wrong
    way; the joint points follow the truth's conditional effects (their signs checked against a statsmodels Logit on
    the true design)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(31)
    n = 6_000
    usage = rng.uniform(0, 10, n)
    charges = usage + rng.normal(0, 1.0, n)
    eta = 1.0 + 0.9 * usage - 0.6 * charges
    y = _draw(1 / (1 + np.exp(-eta)), 32)
    logit = sm.Logit(y, sm.add_constant(np.column_stack([usage, charges]))).fit(disp=0)
    assert logit.params[1] > 0 > logit.params[2]  # the truth, recovered by an independent fit
    assert np.corrcoef(charges, y)[0, 1] > 0  # marginally, charges look healthy
    marginal = fit_learned(charges, y)
    assert marginal.values[-1] > marginal.values[0]  # ... so the marginal map gives high charges more points
    ids = np.array([f"A{i:05d}" for i in range(n)])
    joint = cross_fit_joint({"usage": JointSignal(usage), "charges": JointSignal(charges)}, y, groups=ids)
    t_use, t_charge = joint["usage"][0], joint["charges"][0]
    assert t_use.values[0] == 0.0 and t_use.values[-1] == 100.0 and t_use.shape in ("increasing", "step")
    assert t_charge.values[0] == 100.0 and t_charge.values[-1] == 0.0 and t_charge.shape in ("decreasing", "step")
    assert all(len(t.bins["n"]) == len(t.values) and min(t.bins["n"]) >= 0.01 * n for t in (t_use, t_charge))


def _export(tmp_path: Path) -> Path:
    rng = np.random.default_rng(21)
    n = 2_000
    calls = rng.integers(0, 9, n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    p = 0.55 + 0.3 * (calls < 4) + 0.1 * (plan == "pro")
    frame = pd.DataFrame({"customer": [f"C{i:05d}" for i in range(n)], "calls": calls, "plan": plan,
                          "noise": rng.uniform(0, 1, n).round(3),
                          "Churn": np.where(_draw(p, 22) == 1, "No", "Yes")})
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    return path


def test_init_learned_fit_and_score_from_the_raw_export(tmp_path):
    data = _export(tmp_path)
    init = cli("init", "--data", str(data), "--outcome", "Churn", "--churned-value", "Yes", "--id", "customer",
               "--transforms", "learned", "--json", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    rows = {r["name"]: r for r in json.loads(init.stdout)["signals"]}
    assert {r["transform"] for r in rows.values()} == {"learned"}
    assert rows["noise"]["use"] is False  # flat on the export: proposed unused
    fit = cli("fit", "--spec", "calibrate.yaml", "--n-boot", "1000", "--json", cwd=tmp_path)
    assert fit.returncode in (0, 1), fit.stderr
    cfg_path = tmp_path / json.loads(fit.stdout)["config_path"]
    cfg = read_config(cfg_path)
    by = {d.name: d for d in cfg.dimensions}
    assert by["calls"].transform.kind == "binned" and by["calls"].transform.knots == [4.0]
    assert set(by["plan"].transform.categories) == {"basic", "plus", "pro"}
    score = cli("score", "--data", str(data), "--config", str(cfg_path), "--out", "s.csv", cwd=tmp_path)
    assert score.returncode == 0, score.stderr
    got = pd.read_csv(tmp_path / "s.csv")
    raw = pd.read_csv(data)
    np.testing.assert_allclose(got["score"], score_frame(raw, cfg)["score"], rtol=0, atol=1e-9)


def test_a_learned_signal_that_is_flat_or_lower_is_healthier_is_refused_with_exit_2(tmp_path):
    data = _export(tmp_path)
    assert cli("init", "--data", str(data), "--outcome", "Churn", "--churned-value", "Yes", "--id", "customer",
               "--transforms", "learned", cwd=tmp_path).returncode == 0
    text = (tmp_path / "calibrate.yaml").read_text()
    flat = tmp_path / "flat.yaml"
    flat.write_text(text.replace("use: false", "use: true"))
    res = cli("fit", "--spec", str(flat), "--n-boot", "1000", cwd=tmp_path)
    assert res.returncode == 2 and "signal 'noise' (column 'noise'): its learned transform is flat" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    inverted = tmp_path / "inverted.yaml"
    inverted.write_text(text.replace("direction: \"higher_is_healthier\"", "direction: \"lower_is_healthier\"", 1))
    res = cli("fit", "--spec", str(inverted), "--n-boot", "1000", cwd=tmp_path)
    assert res.returncode == 2 and "a learned transform orients itself" in res.stderr
    assert not (tmp_path / "configs").exists()


def test_a_learned_spec_without_a_learner_says_how_to_fit_it(tmp_path):
    from calibrate.data.spec import read_spec
    from calibrate.data.spec_load import load_with_spec

    data = _export(tmp_path)
    assert cli("init", "--data", str(data), "--outcome", "Churn", "--churned-value", "Yes", "--id", "customer",
               "--transforms", "learned", cwd=tmp_path).returncode == 0
    with pytest.raises(ConfigError, match="has a learned transform, which is fitted from outcomes: fit it with "
                                          "`calibrate fit --spec`"):
        load_with_spec(pd.read_csv(data), read_spec(tmp_path / "calibrate.yaml"))


def test_leaderboard_rows_free_logit_learned_and_additive_ceiling_match_independent_refits():
    from dataclasses import replace

    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from conftest import logistic_book

    from calibrate.compare.methods import leaderboard
    from calibrate.data.load import load_accounts
    from calibrate.fit.folds import out_of_time_split
    from calibrate.fit.weights import fit_weights

    data = load_accounts(logistic_book(600, seed=9, snapshots=3))
    dims = list(data.dimensions)
    board = leaderboard(data, scheme="time", n_boot=200, seed=1)
    train, test = out_of_time_split(data).split(data)
    x_tr, x_te = train.frame[dims].to_numpy(dtype=float), test.frame[dims].to_numpy(dtype=float)
    y_tr, y_te = train.frame["renewed"].to_numpy(dtype=int), test.frame["renewed"].to_numpy(dtype=int)
    free = LogisticRegression(C=np.inf, max_iter=1000).fit(x_tr / 100, y_tr).predict_proba(x_te / 100)[:, 1]
    assert board["logit_free"].auc[0] == pytest.approx(roc_auc_score(y_te, free), abs=1e-9)
    additive = HistGradientBoostingClassifier(interaction_cst="no_interactions", random_state=1).fit(x_tr, y_tr)
    assert board["additive"].auc[0] == pytest.approx(roc_auc_score(y_te, additive.predict_proba(x_te)[:, 1]), abs=1e-12)
    # the learned row is cross-fitted inside the fold: transforms from the fold's training rows only, the weights
    # fitted on their out-of-fold sub-scores, the held-out rows scored by the transforms refitted on the whole side
    learned = cross_fit_joint({d: JointSignal(x_tr[:, j], column=d) for j, d in enumerate(dims)}, y_tr.astype(float),
                              groups=train.frame["account_id"].to_numpy(dtype=object))
    kept = [d for d in dims if learned[d][0].shape != "flat"]
    assert kept and all(not np.array_equal(learned[d][1], apply_transform(x_tr[:, dims.index(d)], learned[d][0]))
                        for d in kept)  # out of fold: not the final transform's in-sample sub-scores
    w = fit_weights(replace(train, dimensions=tuple(kept), frame=train.frame.assign(
        **{d: learned[d][1] for d in kept}))).weights
    score = sum(w[d] * apply_transform(x_te[:, dims.index(d)], learned[d][0]) for d in kept)
    assert board["learned"].auc[0] == pytest.approx(roc_auc_score(y_te, score), abs=1e-12)
    assert board.best not in {"logit_free", "additive", "ceiling"}
    share = (board["simplex"].auc[0] - 0.5) / (board["additive"].auc[0] - 0.5)
    assert board.share_of_additive("simplex") == pytest.approx(share)
    assert f"the fitted score goes {share:.0%} of the way from chance to it" in board.summary()


def test_explain_points_prints_each_learned_signal_and_refuses_without_a_config(tmp_path):
    cfg, _ = _learned_config()
    path = write_config(cfg, tmp_path)
    res = cli("explain", "--config", str(path), "--points", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)["points"]
    assert set(got) == {"calls", "tenure", "contract"}
    for d in cfg.dimensions:
        expected = points_table(d.transform)
        assert [r["points"] for r in got[d.name]["bins"]] == expected["points"].tolist()
        assert [r["n"] for r in got[d.name]["bins"]] == expected["n"].tolist()
    text = cli("explain", "--config", str(path), "--points", cwd=tmp_path).stdout
    assert "calls (Service Calls): step, weight 0.300" in text and ">= 4" in text
    for args, message in ((["--points"], "--points reads the learned sub-scores of a config: pass --config FILE"),
                          (["--config", str(path)], "give --account ID, or --points with --config")):
        bad = cli("explain", *args, cwd=tmp_path)
        assert bad.returncode == 2 and message in bad.stderr and bad.stdout == ""


def test_the_report_section_and_plot_show_points_and_renewal_rates():
    from types import SimpleNamespace

    from calibrate.plots import new_axes, plot_points
    from calibrate.report.html import SECTIONS

    cfg, _ = _learned_config()
    section = SECTIONS["points"](SimpleNamespace(config=cfg), None)
    assert section.title == "Learned sub-scores: points per signal"
    assert section.body.count("<h3>") == 3 and "calls (Service Calls): step, weight 0.300" in section.body
    assert section.body.count("<img") == 3 and "Month-to-month" in section.body
    plain = cfg.model_copy(update={"dimensions": [d.model_copy(update={"transform": None}) for d in cfg.dimensions]})
    assert SECTIONS["points"](SimpleNamespace(config=plain), None) is None
    table = points_table(cfg.dimensions[0].transform)
    ax = plot_points(table, ax=new_axes())
    assert [b.get_height() for b in ax.patches] == table["points"].tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == table["bin"].tolist()


def test_pava_matches_scikit_learn_isotonic_regression():
    from sklearn.isotonic import IsotonicRegression

    from calibrate.fit.learned import pava

    rng = np.random.default_rng(23)
    for _ in range(300):
        k = int(rng.integers(1, 45))
        v, w, up = rng.uniform(size=k), rng.integers(1, 500, k).astype(float), bool(rng.integers(2))
        ref = IsotonicRegression(increasing=up).fit_transform(np.arange(k), v, sample_weight=w)
        np.testing.assert_allclose(pava(v, w, increasing=up), ref, rtol=0, atol=1e-12)


def test_folds_are_the_fnv1a_hash_of_the_account_id():
    def fnv1a(text: str) -> int:
        h = 0xCBF29CE484222325
        for b in text.encode():
            h = ((h ^ b) * 0x100000001B3) % 2**64
        return h

    ids = ["A1", "IR-00012", "Ünïcode", 123, "A1", "a-much-longer-account-id-0001"]
    assert fold_of(ids).tolist() == [fnv1a(str(i)) % N_FOLDS for i in ids]
