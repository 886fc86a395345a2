"""Raw-column transforms, isotonic calibration in the config, and the Iranian worked example.

References kept in the tests: scipy.stats.percentileofscore (mid-rank percentile), numpy
percentiles (min-max clip points), scikit-learn IsotonicRegression and LogisticRegression.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from calibrate.config.model import Calibration, Dimension, WeightConfig, default_bands, read_config, write_config
from calibrate.data.datasets._real import iranian_paths, load_iranian
from calibrate.errors import ConfigError, FitError
from calibrate.fit.weights import fit_weights
from calibrate.fit.folds import grouped_folds
from calibrate.fit.draft import build_config
from calibrate.score.scorer import renewal_probability, score_frame
from calibrate.data.transforms import apply_spec, attach_transforms, fit_transform, read_raw_spec
from calibrate.fit.heldout import isotonic_calibration

ROOT = Path(__file__).resolve().parents[1]


# -- transforms -------------------------------------------------------------------------------
def test_percentile_transform_is_the_mid_rank_percentile_at_its_knots():
    from scipy.stats import percentileofscore

    rng = np.random.default_rng(1)
    raw = np.round(rng.lognormal(3, 1, 2000), 1)  # ties included
    t = fit_transform(raw, kind="percentile", n_knots=51)
    assert t.kind == "percentile" and len(t.knots) <= 3 * 51  # tied knots carry two flanking knots
    expected = [percentileofscore(raw, k, kind="mean") for k in t.knots]
    assert t.values == pytest.approx(expected, abs=1e-9)
    # between knots: linear interpolation; outside: clamped
    from calibrate.data.transforms import apply_transform

    assert apply_transform(np.array([-1.0, 1e9, np.nan]), t)[:2].tolist() == [t.values[0], t.values[-1]]
    assert np.isnan(apply_transform(np.array([np.nan]), t)[0])


def test_percentile_transform_ranks_values_above_a_pile_of_ties_above_the_whole_pile():
    """24 % of accounts at 0 (a revolving balance): a value just above the pile has about 24 % of the
    sample below it, not the 12 % of the pile's own mid-rank interpolated upward (issue 18, item 6)."""
    from scipy.stats import percentileofscore

    from calibrate.data.transforms import apply_transform

    rng = np.random.default_rng(3)
    raw = np.where(rng.random(5000) < 0.24, 0.0, np.round(rng.lognormal(7, 1.5, 5000)))
    t = fit_transform(raw)  # 101 quantile knots: a true percentile moves about 1 point between knots
    grid = np.unique(np.concatenate([raw, np.linspace(0.0, raw.max(), 2000)]))
    reference = np.array([percentileofscore(raw, g, kind="mean") for g in grid])
    assert np.abs(apply_transform(grid, t) - reference).max() <= 1.0
    assert apply_transform(np.array([0.0]), t)[0] == pytest.approx(percentileofscore(raw, 0.0, kind="mean"))
    assert apply_transform(np.array([raw[raw > 0].min()]), t)[0] >= 100 * np.mean(raw == 0)  # above the pile


def test_minmax_transform_clips_at_the_chosen_percentiles():
    from calibrate.data.transforms import apply_transform

    rng = np.random.default_rng(2)
    raw = rng.normal(50, 20, 1000)
    t = fit_transform(raw, kind="minmax", clip=(5, 95))
    lo, hi = np.percentile(raw, [5, 95])
    assert t.knots == pytest.approx([lo, hi]) and t.values == [0.0, 100.0]
    out = apply_transform(np.array([lo - 10, lo, (lo + hi) / 2, hi, hi + 10]), t)
    assert out == pytest.approx([0, 0, 50, 100, 100])
    with pytest.raises(FitError, match=r"column 'flat' is constant in the training sample"):
        fit_transform(np.ones(10), column="flat")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=200), st.sampled_from(["percentile", "minmax"]))
@example(values=[0.0, 0.0, 0.0, 0.0, 0.0, 5.251588625422724e-308, 2.2250738585072014e-308], kind="percentile")
@example(values=[0.0, 5e-308], kind="minmax")
def test_transforms_are_monotone_and_within_0_100(values, kind):
    """Found by Hypothesis: knots a subnormal apart made numpy.interp's slope overflow (a score of inf)."""
    from calibrate.data.transforms import apply_transform

    raw = np.array(values)
    if raw.max() - raw.min() <= 1e-300:  # constant for a transform: refused
        with pytest.raises(FitError, match="constant"):
            fit_transform(raw, kind=kind, clip=(0, 100))
        return
    t = fit_transform(raw, kind=kind, clip=(0, 100))
    grid = np.sort(np.concatenate([raw, np.linspace(raw.min() - 1, raw.max() + 1, 50)]))
    out = apply_transform(grid, t)
    assert np.all(np.diff(out) >= -1e-12) and out.min() >= 0 and out.max() <= 100


def test_config_with_transforms_scores_raw_columns_exactly(tmp_path):
    real = load_iranian()
    fit = fit_weights(real.accounts)
    fitted = build_config(fit, real.accounts).model_copy(update={"version": 1})
    raw_config = attach_transforms(fitted, real.spec, real.transforms)
    assert raw_config.dimensions[0].column == "Seconds of Use"
    assert {d.name: d.direction for d in raw_config.dimensions}["complaints"] == "lower_is_healthier"
    path = write_config(raw_config, tmp_path)  # schema-valid, sealed, reads back identically
    again = read_config(path)
    raw_before = real.raw.copy()
    from_raw = score_frame(real.raw, again, by="column")
    pd.testing.assert_frame_equal(real.raw, raw_before)  # the transforms write into the scorer's copy, not the data
    numeric = real.raw.select_dtypes("number").astype(float)  # one float block: to_numpy could hand back a view
    numeric_before = numeric.copy()
    score_frame(numeric, again, by="column")
    pd.testing.assert_frame_equal(numeric, numeric_before)
    from_derived = score_frame(real.accounts.frame, fitted, by="name")
    np.testing.assert_allclose(from_raw["score"], from_derived["score"], rtol=0, atol=1e-9)
    assert (from_raw["band"] == from_derived["band"]).all()


def test_configs_without_the_new_fields_keep_their_hash():
    cfg = WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.5), Dimension(name="b", column="b", weight=0.5)],
                       bands=default_bands(), calibration=Calibration(intercept=-1, slope=0.05))
    doc = json.loads(cfg.to_json())
    assert "transform" not in doc["dimensions"][0] and "knots" not in doc["calibration"]


# -- isotonic calibration ---------------------------------------------------------------------
def test_isotonic_calibration_predicts_like_sklearn(tmp_path):
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(4)
    score = rng.uniform(0, 100, 3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-(score - 50) / 12))).astype(int)
    cal = isotonic_calibration(score, y)
    cfg = WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.5), Dimension(name="b", column="b", weight=0.5)],
                       bands=default_bands(), calibration=cal, version=1)
    cfg = read_config(write_config(cfg, tmp_path))
    ref = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(score, y)
    new = np.concatenate([rng.uniform(-5, 105, 500), [np.nan]])
    got = renewal_probability(new, cfg)
    np.testing.assert_allclose(got[:-1], ref.predict(new[:-1]), rtol=0, atol=1e-12)
    assert np.isnan(got[-1]) and cfg.calibration.method == "isotonic"


def test_isotonic_calibration_needs_its_knots():
    with pytest.raises(ValidationError, match="an isotonic calibration needs its knots and probabilities"):
        Calibration(method="isotonic", intercept=0, slope=0.1)
    with pytest.raises(ValidationError, match="knots must be strictly increasing"):
        Calibration(method="isotonic", intercept=0, slope=0.1, knots=[2, 1], probabilities=[0.1, 0.2])
    with pytest.raises(ValidationError, match="knots and probabilities belong to method 'isotonic' only"):
        Calibration(intercept=0, slope=0.1, knots=[1, 2], probabilities=[0.1, 0.2])


# -- the Iranian worked example ---------------------------------------------------------------
def test_iranian_copies_and_quirks():
    csv, spec_path = iranian_paths()
    assert csv.read_bytes() == (ROOT / "data/iranian-churn/Customer_Churn.csv").read_bytes()
    assert spec_path.read_text() == (ROOT / "data/iranian-churn/spec.json").read_text()
    raw = pd.read_csv(csv)
    assert len(raw) == 3150 and int(raw.duplicated().sum()) == 300 and "Call  Failure" in raw.columns
    real = load_iranian()
    assert len(real.accounts) == 2850 and real.dropped_duplicates == 300
    assert real.accounts.n_churned == int(raw.drop_duplicates()["Churn"].sum())
    # inverted signals: a customer who complains scores 0 on 'complaints'
    complained = real.raw["Complains"] == 1
    assert (real.accounts.frame.loc[complained, "complaints"] == 0).all()
    spec = read_raw_spec(spec_path)
    assert {d.name for d in spec.dimensions if d.direction == "lower_is_healthier"} >= {"complaints", "call_failures"}


def test_bad_raw_spec_is_refused(tmp_path):
    bad = tmp_path / "spec.json"
    bad.write_text(json.dumps({"outcome": "Churn", "dimensions": [{"name": "a", "column": "x", "transform": "log"}]}))
    with pytest.raises(ConfigError, match=r"dimension 'a': transform must be 'percentile' or 'minmax'"):
        read_raw_spec(bad)


def test_iranian_fitted_score_is_within_002_auc_of_unconstrained_logistic():
    """Held-out (5 grouped folds, transforms learnt on each training side) AUC of the simplex score
    versus an unconstrained scikit-learn logistic regression on the same dimensions."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    base = load_iranian()
    y_all = base.accounts.frame["renewed"].to_numpy()
    s_fit = np.empty(len(y_all))
    s_lr = np.empty(len(y_all))
    for fold in grouped_folds(base.accounts, k=5, seed=0):
        real = load_iranian(train=fold.train)
        train, test = fold.split(real.accounts)
        fit = fit_weights(train)
        cfg = build_config(fit, train)
        s_fit[fold.test] = score_frame(test.frame, cfg, by="name")["score"]
        names = list(real.spec.names)
        lr = LogisticRegression(C=np.inf, max_iter=5000).fit(train.frame[names] / 100, train.frame["renewed"])
        s_lr[fold.test] = lr.decision_function(test.frame[names] / 100)
    auc_fit, auc_lr = roc_auc_score(y_all, s_fit), roc_auc_score(y_all, s_lr)
    assert auc_fit > 0.88
    assert abs(auc_lr - auc_fit) <= 0.02, (auc_fit, auc_lr)
    print(f"held-out AUC: simplex score {auc_fit:.4f}, unconstrained logistic {auc_lr:.4f}")


def test_sql_export_reproduces_transforms_and_isotonic_calibration_in_duckdb():
    import duckdb

    from calibrate.publish.export import export_sql

    real = load_iranian()
    fitted = build_config(fit_weights(real.accounts), real.accounts)
    scored = score_frame(real.accounts.frame, fitted, by="name")["score"].to_numpy()
    cal = isotonic_calibration(scored, real.accounts.frame["renewed"])
    cfg = attach_transforms(fitted, real.spec, real.transforms).model_copy(update={"calibration": cal})
    raw = real.raw.assign(**{"Seconds of Use": real.raw["Seconds of Use"].astype(float).where(real.raw.index != 3)})
    cfg = cfg.model_copy(update={"missing": "redistribute"})
    con = duckdb.connect()
    con.register("raw_view", raw)
    con.execute("CREATE TABLE accounts AS SELECT * FROM raw_view")
    got = con.sql(export_sql(cfg)).df().sort_values("account_id").reset_index(drop=True)
    want = score_frame(raw, cfg, by="column").assign(account_id=raw["account_id"]).sort_values("account_id")
    want = want.reset_index(drop=True)
    np.testing.assert_allclose(got["score"], want["score"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["p_renew"], want["p_renew"], rtol=0, atol=1e-9)
    assert (got["band"] == want["band"]).all()


def test_score_accounts_reads_raw_files_through_the_transforms(tmp_path):
    from calibrate.publish.export import score_accounts

    real = load_iranian()
    cfg = attach_transforms(build_config(fit_weights(real.accounts), real.accounts), real.spec, real.transforms)
    path = tmp_path / "raw.csv"
    real.raw.to_csv(path, index=False)
    want = score_frame(real.raw, cfg, by="column")["score"].to_numpy()
    np.testing.assert_allclose(score_accounts(path, cfg)["score"], want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(score_accounts(real.raw, cfg)["score"], want, rtol=0, atol=1e-9)
