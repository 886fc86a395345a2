"""Activity tiers (30-day touch rule) and direction checks, on a simulation with a known wrong-way signal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibrate import load_accounts
from calibrate.cli.options import bundled_data_path
from calibrate.errors import DataError
from calibrate.data.load import DataSpec
from calibrate.systems.tiers import DAYS_PER_MONTH, activity_tiers, assign_tiers, direction_checks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def book():
    return load_accounts(bundled_data_path())


@pytest.fixture(scope="module")
def simulated():
    """Renewal driven by 'health'; 'calls' rises as health falls (a wrong-way signal if read as engagement)."""
    rng = np.random.default_rng(5)
    n = 4000
    health = rng.uniform(0, 100, n)
    p = 1 / (1 + np.exp(-(-2.0 + 0.06 * health)))
    frame = pd.DataFrame({"account_id": [f"A{i // 2}" for i in range(n)], "renewed": (rng.random(n) < p).astype(int),
                          "health": health, "other": rng.uniform(0, 100, n), "noise": rng.normal(size=n),
                          "calls": np.exp(0.1 + 0.022 * (100 - health) + rng.normal(0, 0.35, n))})
    return load_accounts(frame, spec=DataSpec(dimensions=("health", "other")))


def test_touch_rule_boundaries():
    # one contact per 30 days is exactly 30.4375/30 contacts a month: that is Active, anything less is Lazarus
    c = np.array([0.0, 1.0, DAYS_PER_MONTH / 30, 4.0, 4.01])
    assert assign_tiers(c).tolist() == [0, 0, 1, 1, 2]
    assert assign_tiers(np.array([1.0]), touch_days=31).tolist() == [1]
    with pytest.raises(DataError, match="contact column has missing values"):
        assign_tiers(np.array([np.nan]))


def test_tiers_on_the_bundled_book_reverse_the_csm_belief(book):
    from statsmodels.stats.proportion import proportion_confint

    t = activity_tiers(book, n_boot=300)
    idx = assign_tiers(book.frame["csm_contacts_per_month"].to_numpy())
    y = book.frame["renewed"].to_numpy()
    for j, b in enumerate(t.validation.bands):
        assert b.n == (idx == j).sum() and b.renewed == y[idx == j].sum()
        assert (b.ci_low, b.ci_high) == pytest.approx(proportion_confint(b.renewed, b.n, method="wilson"))
    # seed 004: loud accounts churn despite the attention
    assert t.observed_order == ("Loud", "Active", "Lazarus")
    assert t.validation.spread_ci[1] < 0 and not t.passed
    json.dumps(t.to_dict())


def test_direction_checks_flag_the_simulated_wrong_way_signal(simulated):
    from sklearn.metrics import roc_auc_score

    d = direction_checks(simulated, columns=["health", "calls", "noise"], n_boot=400,
                         expected={"calls": "higher_is_healthier"})
    t = d.table.set_index("signal")
    assert d.wrong_way == ["calls"] and not d.passed
    assert t.loc["health", "status"] == "agrees"
    assert t.loc["noise", "status"] == "no evidence"
    y = simulated.frame["renewed"]
    for s in ("health", "calls", "noise"):
        assert t.loc[s, "auc"] == pytest.approx(roc_auc_score(y, simulated.frame[s]))
    assert t.loc["calls", "pvalue"] < 1e-6 and t.loc["noise", "pvalue"] > 0.01
    # declared the right way round, the same signal passes
    ok = direction_checks(simulated, columns=["calls"], n_boot=200, expected={"calls": "lower_is_healthier"})
    assert ok.passed


def test_direction_checks_on_the_bundled_book(book):
    d = direction_checks(book, n_boot=300)
    assert d.wrong_way == ["csm_contacts_per_month"]
    t = d.table.set_index("signal")
    assert t.loc["days_to_renewal", "status"] == "no evidence"  # drawn independently of everything
    json.dumps(d.to_dict())


def test_cli_tiers_exits_1_on_a_wrong_way_signal():
    res = subprocess.run([sys.executable, "-m", "calibrate", "tiers", "--n-boot", "1000", "--json"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert res.returncode == 1, res.stderr
    assert json.loads(res.stdout)["directions"]["wrong_way"] == ["csm_contacts_per_month"]
