"""Drift: reference at fit time, PSI and its noise, KS/Wasserstein from bins, verdict, CLI gate."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import calibrate as cb
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate import _stats
from calibrate.drift import signals as _drift
from calibrate.cli.options import bundled_data_path
from calibrate.config.model import read_config, write_config
from calibrate.data.datasets import DRIFT_DIMENSION, make_book
from calibrate.drift.policy import PSI_RECALIBRATE, PSI_WATCH, DriftPolicy, read_drift_policy
from calibrate.drift.detect import (
    DriftReport,
    build_reference,
    detect_drift,
    fit_reference_config,
    load_drift_data,
)
from calibrate.errors import ConfigError
from calibrate.data.load import load_accounts

ROOT = Path(__file__).resolve().parents[1]
TRAIN_UNTIL = "2025-04-01"  # periods 0-5 of the bundled history


@pytest.fixture(scope="module")
def bundled():
    return load_accounts(bundled_data_path())


@pytest.fixture(scope="module")
def config(bundled):
    return fit_reference_config(bundled, train_until=TRAIN_UNTIL, n_boot=200)


@pytest.fixture(scope="module")
def report(bundled, config) -> DriftReport:
    return detect_drift(bundled, config, n_boot=200, n_boot_weights=100)


# ---------------------------------------------------------------------------------------------
# PSI: hand-computed case and properties (tests/test_stats.py has none)
# ---------------------------------------------------------------------------------------------
def test_psi_hand_computed():
    # (0.5-0.25) ln(0.5/0.25) + 0 + (0.25-0.5) ln(0.25/0.5) = 0.5 ln 2
    assert _stats.psi([0.25, 0.25, 0.5], [0.5, 0.25, 0.25]) == pytest.approx(0.5 * math.log(2), abs=1e-12)
    # counts work as well as proportions; an empty bin takes the floor 1e-4 (then renormalised)
    e, a = np.array([0.5, 0.5]), np.array([1.0, 0.0])
    ef, af = e, np.array([1.0, 1e-4]) / 1.0001
    assert _stats.psi([50, 50], [10, 0]) == pytest.approx(float(np.sum((af - ef) * np.log(af / ef))), rel=1e-12)


proportions = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12).filter(lambda v: sum(v) > 0.01)


@settings(max_examples=200, deadline=None)
@given(proportions)
def test_psi_of_a_distribution_with_itself_is_zero(p):
    assert _stats.psi(p, p) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_psi_is_never_negative(data):
    e = data.draw(proportions)
    a = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(e), max_size=len(e)).filter(lambda v: sum(v) > 0.01))
    assert _stats.psi(e, a) >= 0.0


# ---------------------------------------------------------------------------------------------
# the reference and the binned KS / Wasserstein
# ---------------------------------------------------------------------------------------------
def test_reference_keeps_no_rows_and_describes_training(bundled, config):
    ref = config.reference
    train = bundled.frame[bundled.frame["snapshot_date"] <= TRAIN_UNTIL]
    assert ref.n == len(train) and ref.n_accounts == train["account_id"].nunique() and ref.n_periods == 6
    assert (ref.period_start, ref.period_end) == ("2024-01-01", "2025-04-01")
    assert len(ref.dimensions["usage"].proportions) == 10 == len(ref.score.proportions)
    assert sum(ref.band_mix.values()) == pytest.approx(1.0)
    assert len(ref.dimension_grid["engagement"].proportions) == 100
    # the config round-trips through the schema with its reference
    assert build_reference(bundled, config, until=TRAIN_UNTIL) == ref


def test_ks_and_wasserstein_from_binned_reference_match_raw_rows(bundled, config, report):
    f = bundled.frame
    old, new = f[f["snapshot_date"] <= TRAIN_UNTIL], f[f["snapshot_date"] > TRAIN_UNTIL]
    from scipy.stats import ks_2samp, wasserstein_distance

    pop = report.population.set_index("name")
    for dim in ("usage", "engagement", "support", "commercial"):
        exact_w = wasserstein_distance(old[dim], new[dim])
        assert pop.loc[dim, "wasserstein"] == pytest.approx(exact_w, abs=0.05)
        exact_ks = ks_2samp(old[dim], new[dim]).statistic
        max_bin = max(config.reference.dimension_grid[dim].proportions)
        assert pop.loc[dim, "ks"] <= exact_ks + 1e-12 <= pop.loc[dim, "ks"] + max_bin + 1e-12


def test_psi_in_report_equals_psi_on_reference_bins(bundled, config, report):
    new = bundled.frame[bundled.frame["snapshot_date"] > TRAIN_UNTIL]
    ref = config.reference.dimensions["engagement"]
    expected = _stats.psi(ref.proportions, _stats.bin_proportions(new["engagement"], ref.edges))
    assert report.psi()["dimensions"]["engagement"] == pytest.approx(expected, rel=1e-12)


def test_noise_quantile_uses_accounts_and_sets_threshold_on_small_books():
    data = load_accounts(make_book(n_accounts=300, seed=3, drift=False))
    cfg = fit_reference_config(data, train_until=TRAIN_UNTIL, n_boot=200)
    rep = detect_drift(data, cfg, weight_drift=False, n_boot=200)
    pop = rep.population.set_index("name")
    n_new = rep.window["n_new_accounts"]
    direct = _stats.psi_noise_quantile(cfg.reference.score.proportions, cfg.reference.n_accounts, n_new, q=0.95,
                                       seed=0)
    assert pop.loc["score", "noise_watch"] == pytest.approx(direct)
    assert n_new < rep.window["n_new"]  # accounts, not rows
    # the thresholds in force are max(conventional cut-off, noise quantile)
    assert (pop["threshold_watch"] == np.maximum(PSI_WATCH, pop["noise_watch"])).all()
    assert (pop["threshold_recalibrate"] == np.maximum(PSI_RECALIBRATE, pop["noise_recalibrate"])).all()


# ---------------------------------------------------------------------------------------------
# the verdict
# ---------------------------------------------------------------------------------------------
def test_bundled_drift_is_recalibrate_naming_engagement(report):
    assert report.verdict == "recalibrate"
    top = [r for r in report.reasons if r.startswith("recalibrate")]
    assert any(DRIFT_DIMENSION in r and "CSI" in r for r in top)
    csi = report.psi()["dimensions"]
    assert max(csi, key=csi.get) == DRIFT_DIMENSION and csi[DRIFT_DIMENSION] > PSI_RECALIBRATE
    assert all(v < PSI_WATCH for k, v in csi.items() if k != DRIFT_DIMENSION)
    # the weight refit sees the true change of support's weight (0.20 -> 0.30)
    assert report.weights["refit"]["support"] > report.weights["current"]["support"]


def test_thresholds_are_options(bundled, config):
    rep = detect_drift(bundled, config, policy=DriftPolicy(psi_recalibrate=5.0), weight_drift=False, n_boot=200)
    assert rep.verdict == "watch"
    assert rep.thresholds["psi_recalibrate"] == 5.0


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_no_drift_books_do_not_alarm(seed):
    data = load_accounts(make_book(drift=False, seed=seed))
    cfg = fit_reference_config(data, train_until=TRAIN_UNTIL, n_boot=200, seed=seed)
    rep = detect_drift(data, cfg, seed=seed, n_boot=200, n_boot_weights=60)
    assert rep.verdict != "recalibrate", rep.reasons
    assert max(rep.psi()["dimensions"].values()) < PSI_WATCH


def test_rows_in_any_order_give_the_same_population_figures(bundled, config, report):
    shuffled = bundled.frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    rep = detect_drift(shuffled, config, weight_drift=False, n_boot=200)
    pd.testing.assert_frame_equal(rep.population, report.population)


def test_config_without_reference_is_refused(config, bundled):
    with pytest.raises(ConfigError, match=r"has no drift reference; refit it with `calibrate run`"):
        detect_drift(bundled, config.model_copy(update={"reference": None}))


# ---------------------------------------------------------------------------------------------
# performance, label-free estimate, trend
# ---------------------------------------------------------------------------------------------
def test_periods_match_direct_computation(bundled, config, report):
    from calibrate.score.scorer import score_frame

    f = bundled.frame
    last = f[f["snapshot_date"] == f["snapshot_date"].max()]
    s = score_frame(last, config, by="name")
    per = report.periods.set_index("period")
    assert per.loc["2025Q4", "auc"] == pytest.approx(_stats.auc(last["renewed"], s["score"]), abs=1e-12)
    green = s["band"] == "green"
    assert per.loc["2025Q4", "rate_green"] == pytest.approx(last["renewed"][green].mean())
    assert per.loc["2025Q4", "expected_rate_green"] == pytest.approx(s["p_renew"][green].mean())
    assert list(per["in_reference"]) == [True] * 6 + [False] * 2
    t = report.trend["auc"]
    direct = _stats.logistic_trend(per["auc"], per["auc_se"], alternative="decreasing")
    assert t["slope"] == pytest.approx(direct.slope) and t["pvalue"] == pytest.approx(direct.pvalue)


def test_expected_auc_matches_simulated_outcomes():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    score = rng.normal(60, 15, 2000).round(1)
    p = 1 / (1 + np.exp(-(-3 + 0.07 * score)))
    sims = [roc_auc_score(rng.random(p.size) < p, score) for _ in range(300)]
    assert _drift.expected_auc(score, p) == pytest.approx(np.mean(sims), abs=0.003)


def test_unknown_outcomes_get_a_label_free_estimate(tmp_path, bundled, config):
    frame = pd.read_csv(bundled_data_path())
    frame["renewed"] = frame["renewed"].astype("object")
    frame.loc[frame["snapshot_date"] == "2025-10-01", "renewed"] = None
    path = tmp_path / "book.csv"
    frame.to_csv(path, index=False)
    rep = detect_drift(load_drift_data(path, config), config, n_boot=200, n_boot_weights=40)
    per = rep.periods.set_index("period")
    assert not per.loc["2025Q4", "known"] and per.loc["2025Q3", "known"]
    assert math.isnan(per.loc["2025Q4", "auc"]) and 0.5 < per.loc["2025Q4", "expected_auc"] < 1
    assert rep.label_free["n_periods_estimated"] == 1
    assert rep.label_free["expected_auc_latest"] == pytest.approx(per.loc["2025Q4", "expected_auc"])
    assert rep.label_free["auc_error_max_abs"] < 0.05  # how the estimate did where the truth is known
    assert any(f.statistic == "expected AUC (label-free)" for f in rep.findings)
    assert rep.weights["window"] == ["2025Q2", "2025Q3"]  # refit on the latest periods with outcomes


def test_clustered_mean_matches_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(200), 3)
    d = rng.normal(size=600) + np.repeat(rng.normal(size=200), 3)
    mean, lo, hi = _drift.clustered_mean(d, groups)
    fit = sm.OLS(d, np.ones(600)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    se = float(fit.bse[0])  # same small-sample factor G/(G-1)·(N-1)/(N-K), K = 1
    assert mean == pytest.approx(float(fit.params[0]))
    assert (hi - lo) / (2 * 1.959963984540054) == pytest.approx(se, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# result object, CLI
# ---------------------------------------------------------------------------------------------
def test_report_renders(report):
    d = report.to_dict()
    json.dumps(d, allow_nan=False)
    assert {"verdict", "reasons", "psi", "ks", "wasserstein", "periods", "trend", "weights"} <= set(d)
    assert set(d["psi"]) == {"score", "dimensions"}
    assert "\n" not in repr(report) and "recalibrate" in repr(report)
    assert report.summary().startswith("drift verdict: RECALIBRATE")
    assert list(report.to_frame()["name"]) == ["score", "usage", "engagement", "support", "commercial"]
    axes = report.plot()
    assert len(axes) == 2 and axes[0].get_title().startswith("Population drift")
    assert "<li>" in report._repr_html_()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calibrate", "drift", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_cli_gate(tmp_path, config):
    path = write_config(config.model_copy(update={"version": 1}), tmp_path)
    assert read_config(path).reference == config.reference
    res = _run("--config", str(path), "--json", "--no-refit")  # default --fail-on recalibrate (contract §3)
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    assert out["verdict"] == "recalibrate" and any("engagement" in r for r in out["reasons"])
    assert out["psi"]["dimensions"]["engagement"] > PSI_RECALIBRATE
    old = tmp_path / "old.csv"
    frame = pd.read_csv(bundled_data_path())
    frame[frame["snapshot_date"] <= TRAIN_UNTIL].to_csv(old, index=False)
    res = _run("--config", str(path), "--data", str(old), "--since", "2025-01-01", "--fail-on", "recalibrate",
               "--no-refit")
    assert res.returncode == 0, res.stderr
    assert _run("--data", str(old), "--no-refit").returncode == 2  # --config is required
    res = _run("--config", str(path), "--data", str(old), "--since", "2025-13-01", "--fail-on", "none", "--no-refit")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "'--since'" in res.stderr  # bad date: one line


def test_cli_fail_on_none_opts_out(tmp_path, config):
    path = write_config(config.model_copy(update={"version": 1}), tmp_path)
    res = _run("--config", str(path), "--json", "--fail-on", "none", "--no-refit")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["verdict"] == "recalibrate"


def test_noise_quantiles_of_one_simulation_equal_separate_calls():
    p = [0.1] * 10
    both = _stats.psi_noise_quantile(p, 800, 300, q=(0.95, 0.999), n_sim=500, seed=4)
    assert both.tolist() == [_stats.psi_noise_quantile(p, 800, 300, q=q, n_sim=500, seed=4) for q in (0.95, 0.999)]
    with pytest.raises(ValueError, match="0 < q < 1"):
        _stats.psi_noise_quantile(p, 800, 300, q=(0.5, 1.0))


def test_drift_needs_snapshot_dates():
    import calibrate as cb
    from calibrate.fit.draft import build_config

    data = cb.load_accounts(bundled_data_path())
    config = build_config(cb.fit_weights(data), data)
    config = config.model_copy(update={"reference": cb.drift.build_reference(data, config)})
    undated = data.frame.drop(columns=["snapshot_date", "renewal_date"])
    with pytest.raises(cb.DataError, match=r"drift data: no snapshot_date column; drift compares periods"):
        cb.detect_drift(undated, config)


def test_drift_policy_is_read_from_the_gate_policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("min_spread: 0.1\ndrift:\n  psi_recalibrate: 0.3\n  trend_alpha: 0.01\n", encoding="utf-8")
    policy = read_drift_policy(path)
    assert policy == DriftPolicy(psi_recalibrate=0.3, trend_alpha=0.01)
    assert cb.read_policy(path).min_spread == 0.1  # the gate reads its part of the same file
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="frozen"):
        policy.psi_watch = 0.2
    assert read_drift_policy(tmp_path / "policy.yaml").psi_watch == PSI_WATCH


@pytest.mark.parametrize("text, message", [
    ("drift:\n  psi_wacth: 0.3\n", r"policy.yaml: key 'drift.psi_wacth': Extra inputs are not permitted; allowed keys: "),
    ("drift:\n  trend_alpha: 2\n", r"policy.yaml: key 'drift.trend_alpha': Input should be less than 1"),
    ("drift: 0.3\n", r"policy.yaml: key 'drift' must be a mapping of thresholds; got float"),
    ("min_spred: 0.3\n", r"policy.yaml: key 'min_spred': Extra inputs are not permitted; allowed keys: \['allow_inconclusive', 'drift'"),
])
def test_bad_drift_policy_is_one_config_error(tmp_path, text, message):
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    reader = cb.read_policy if text.startswith("min_") else read_drift_policy
    with pytest.raises(cb.ConfigError, match=message):
        reader(path)


def _run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from calibrate.cli import main

    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_cli_drift_policy_file_and_its_errors(bundled, config, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(config.sealed().to_json(), encoding="utf-8")
    data = tmp_path / "book.csv"
    bundled.frame.to_csv(data, index=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("drift:\n  psi_watch: -1\n", encoding="utf-8")
    code, _, err = _run_cli(["drift", "--data", str(data), "--config", str(cfg), "--policy", str(bad), "--no-refit"], capsys)
    assert code == 2 and err.count("\n") == 1 and "key 'drift.psi_watch'" in err
    lax = tmp_path / "lax.yaml"
    lax.write_text("drift:\n  psi_watch: 50\n  psi_recalibrate: 60\n  red_share_watch: 1\n", encoding="utf-8")
    code, out, _ = _run_cli(["drift", "--data", str(data), "--config", str(cfg), "--policy", str(lax), "--no-refit",
                             "--json"], capsys)
    import json

    assert json.loads(out)["thresholds"]["psi_recalibrate"] == 60


def test_drift_scores_rows_in_chunks_with_the_figures_of_one_pass(monkeypatch):
    """score_rows works SCORE_ROWS rows at a time (bounded memory): the same scores, bands and probabilities."""
    from calibrate.config.model import Calibration, Dimension, WeightConfig, default_bands
    from calibrate.drift import signals
    from calibrate.score.scorer import score_frame

    frame = pd.DataFrame(np.random.default_rng(2).uniform(0, 100, (1000, 2)), columns=["a", "b"])
    cfg = WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.7),
                                   Dimension(name="b", column="b", weight=0.3, direction="lower_is_healthier")],
                       bands=default_bands(), calibration=Calibration(intercept=-1.0, slope=0.05))
    monkeypatch.setattr(signals, "SCORE_ROWS", 7)
    score, bands, p = signals.score_rows(frame, cfg)
    whole = score_frame(frame, cfg, contributions=False)
    assert np.array_equal(score, whole["score"].to_numpy()) and np.array_equal(bands, whole["band_index"].to_numpy())
    assert np.array_equal(p, whole["p_renew"].to_numpy())


def test_drift_two_threads_give_the_serial_figures_and_leave_blas_as_found(bundled, config, report, monkeypatch):
    """detect_drift runs the weight refit in a second thread: the same report as the parts called one after
    another, and the process's BLAS thread count as it found it (the parts' own one-thread limits nest in the
    run's, so neither thread undoes the other's)."""
    from concurrent import futures

    from threadpoolctl import threadpool_info

    class Serial(futures.Executor):  # runs each task at once, in the calling thread
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, fn, *args, **kwargs):
            done = futures.Future()
            done.set_result(fn(*args, **kwargs))
            return done

    before = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
    threaded = detect_drift(bundled, config, n_boot=200, n_boot_weights=100)
    assert [(i["internal_api"], i["num_threads"]) for i in threadpool_info()] == before
    monkeypatch.setattr(futures, "ThreadPoolExecutor", Serial)
    serial = detect_drift(bundled, config, n_boot=200, n_boot_weights=100)
    assert threaded.to_dict() == serial.to_dict() == report.to_dict()
