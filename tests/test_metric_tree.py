"""Metric tree: contributions add up to the score, hierarchical fit vs statsmodels, explain, action list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibrate import load_accounts
from calibrate.cli.options import bundled_data_path
from calibrate.config.model import Dimension, WeightConfig, default_bands
from calibrate.errors import DataError
from calibrate.data.load import DataSpec
from calibrate.systems.metric_tree import (
    Branch, MetricTree, MetricTreeFit, Signal, action_list, explain, fit_metric_tree, read_metric_tree,
)
from calibrate.score.scorer import score_frame

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def book():
    return load_accounts(bundled_data_path())


def _fit_from(weights: list[float], subs: list[list[float]]) -> MetricTreeFit:
    branches = [Branch(name=f"b{i}", owner=f"team{i}", weight=w,
                       signals=[Signal(name=f"s{i}_{j}", lo=0, hi=10, weight=sw,
                                       direction="lower_is_healthier" if j % 2 else "higher_is_healthier")
                                for j, sw in enumerate(sub)])
                for i, (w, sub) in enumerate(zip(weights, subs))]
    cfg = WeightConfig(dimensions=[Dimension(name=b.name, column=b.name, weight=b.weight) for b in branches],
                       bands=default_bands())
    return MetricTreeFit(tree=MetricTree(name="t", branches=branches), config=cfg)


def _simplex(draw, k: int) -> list[float]:
    v = np.array(draw(st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k)))
    return list(v / v.sum())


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_contributions_add_up_to_the_score(data):
    k = data.draw(st.integers(2, 4))
    sizes = [data.draw(st.integers(1, 3)) for _ in range(k)]
    fit = _fit_from(_simplex(data.draw, k), [_simplex(data.draw, m) for m in sizes])
    n = data.draw(st.integers(1, 20))
    rng = np.random.default_rng(data.draw(st.integers(0, 10_000)))
    frame = pd.DataFrame({s.name: rng.uniform(-2, 12, n) for _, s in fit.tree.signals})
    out = fit.score(frame)
    signals = out[[c for c in out if c.startswith("signal_")]].to_numpy()
    np.testing.assert_allclose(signals.sum(axis=1), out["score"], rtol=0, atol=1e-9)
    for b in fit.tree.branches:
        cols = [f"signal_{s.name}" for s in b.signals]
        np.testing.assert_allclose(out[cols].sum(axis=1), out[f"contribution_{b.name}"], atol=1e-9)
    assert ((out["score"] >= 0) & (out["score"] <= 100 + 1e-9)).all()


def test_signal_scaling_closed_form():
    fit = _fit_from([0.5, 0.5], [[1.0], [0.5, 0.5]])
    out = fit.score(pd.DataFrame({"s0_0": [5.0, 20.0], "s1_0": [10.0, -1.0], "s1_1": [2.5, 0.0]}))
    # s0_0: 5 on 0..10 -> 50; 20 clips to 100. s1_1 lower is healthier: 2.5 -> 75, 0 -> 100.
    np.testing.assert_allclose(out["branch_b0"], [50, 100])
    np.testing.assert_allclose(out["branch_b1"], [0.5 * 100 + 0.5 * 75, 0.5 * 0 + 0.5 * 100])
    np.testing.assert_allclose(out["score"], [0.5 * 50 + 0.5 * 87.5, 0.5 * 100 + 0.5 * 50])


def test_within_branch_weights_match_statsmodels_logit():
    import statsmodels.api as sm

    rng = np.random.default_rng(11)
    n = 6000
    a, b, c = (rng.uniform(0, 100, n) for _ in range(3))
    eta = -3.0 + 0.03 * a + 0.01 * b + 0.02 * c
    frame = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "renewed": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int),
                          "a": a, "b": b, "c": c, "u": a, "v": c})
    accounts = load_accounts(frame, spec=DataSpec(dimensions=("u", "v")))
    tree = MetricTree(name="t", branches=[
        Branch(name="x", signals=[Signal(name="a", lo=0, hi=100), Signal(name="b", lo=0, hi=100)]),
        Branch(name="y", signals=[Signal(name="c", lo=0, hi=100)])])
    fit = fit_metric_tree(accounts, tree)
    ref = sm.Logit(frame["renewed"], sm.add_constant(frame[["a", "b"]] / 100)).fit(disp=0).params
    sub = [s.weight for s in fit.tree.branches[0].signals]
    assert sub == pytest.approx([ref["a"] / (ref["a"] + ref["b"]), ref["b"] / (ref["a"] + ref["b"])], abs=1e-4)
    assert sub[0] == pytest.approx(0.75, abs=0.08)


def test_bundled_fit_gives_noise_signal_no_weight(book):
    fit = fit_metric_tree(book)
    w = fit.to_frame().set_index("signal")
    assert w.loc["days_to_renewal", "sub_weight"] < 0.02  # independent of renewal in the book
    assert w["weight"].sum() == pytest.approx(1.0)
    assert fit.owners == {"usage": "Customer Success", "engagement": "Customer Success", "support": "Support",
                          "commercial": "Finance"}
    json.dumps(fit.to_dict())


def test_explain_names_the_branch_and_signal_that_moved():
    fit = _fit_from([0.6, 0.4], [[0.5, 0.5], [1.0]])
    frame = pd.DataFrame({"account_id": ["A", "A"], "snapshot_date": pd.to_datetime(["2025-01-01", "2025-04-01"]),
                          "s0_0": [9.0, 2.0], "s0_1": [1.0, 1.0], "s1_0": [8.0, 9.0]})
    e = explain(fit, frame, "A")
    assert e.branches.iloc[0]["branch"] == "b0" and e.branches.iloc[0]["owner"] == "team0"
    assert e.signals.iloc[0]["signal"] == "s0_0"
    assert e.signals.iloc[0]["change"] == pytest.approx(0.6 * 0.5 * (20 - 90))
    assert e.signals["change"].sum() == pytest.approx(e.score_after - e.score_before)
    with pytest.raises(DataError, match=r"account 'A' has no snapshot on 2025-02-01; it has 2025-01-01, 2025-04-01"):
        explain(fit, frame, "A", before="2025-02-01")


def test_explain_a_weight_config_matches_score_frame(book):
    cfg = WeightConfig(dimensions=[Dimension(name=d, column=d, weight=w) for d, w in
                                   zip(("usage", "engagement", "support", "commercial"), (0.4, 0.25, 0.2, 0.15))],
                       bands=default_bands())
    e = explain(cfg, book.frame, "ACC-00001")
    rows = book.frame[book.frame.account_id == "ACC-00001"].tail(2)
    ref = score_frame(rows, cfg)
    assert (e.score_before, e.score_after) == pytest.approx(tuple(ref["score"]))
    got = e.branches.set_index("branch")["contribution_after"]
    for d in cfg.weights:
        assert got[d] == pytest.approx(ref[f"contribution_{d}"].iloc[-1])


def test_action_list_groups_red_accounts_by_owner(book):
    fit = fit_metric_tree(book)
    al = action_list(fit, book.frame)
    latest = book.frame[book.frame.snapshot_date == book.frame.snapshot_date.max()]
    scored = fit.score(latest)
    assert len(al.accounts) == int(scored["band"].isin(["red", "critical"]).sum())
    assert al.by_owner()["accounts"].sum() == len(al.accounts)
    assert set(al.accounts["owner"]) <= set(fit.owners.values())
    json.dumps(al.to_dict(), default=str)


def test_missing_signal_column_is_named(book):
    with pytest.raises(DataError, match=r"branch 'usage' needs column 'adoption_pct', which is not in the data"):
        fit_metric_tree(replace(book, frame=book.frame.drop(columns="adoption_pct")))
    assert read_metric_tree().name == "metric_book"


def test_cli_explain():
    res = subprocess.run([sys.executable, "-m", "calibrate", "explain", "--account", "ACC-00001", "--json"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["account_id"] == "ACC-00001" and out["band_after"] == "red"
