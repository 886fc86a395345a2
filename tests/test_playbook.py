"""Red-account playbook and post-mortem on a hand-built book, and on the bundled one."""

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
from calibrate.config.model import Dimension, WeightConfig, default_bands
from calibrate.data.load import DataSpec
from calibrate.systems.playbook import post_mortem, red_playbook, warning_flags
from calibrate.systems.rules import read_tree

ROOT = Path(__file__).resolve().parents[1]
CFG = WeightConfig(dimensions=[Dimension(name="usage", column="usage", weight=0.5),
                               Dimension(name="support", column="support", weight=0.5)], bands=default_bands())
D = pd.to_datetime(["2025-01-01", "2025-04-01", "2025-07-01"])


def _book() -> pd.DataFrame:
    rows = [  # account, period, usage, support, renewed, nps
        ("A", 0, 80, 80, 1, 9), ("A", 1, 60, 70, 1, 5), ("A", 2, 20, 60, 0, 4),   # slides into red, churns
        ("B", 0, 30, 40, 1, 9), ("B", 1, 30, 40, 1, 9), ("B", 2, 30, 45, 1, 9),   # red throughout
        ("C", 0, 90, 90, 1, 9), ("C", 1, 90, 90, 1, 9), ("C", 2, 90, 90, 1, 9),   # green
        ("E", 1, 30, 30, 1, 9), ("E", 2, 70, 70, 1, 9),                            # saved
        ("F", 1, 80, 20, 1, 9), ("F", 2, 10, 20, 1, 9),                            # enters critical
    ]
    df = pd.DataFrame(rows, columns=["account_id", "p", "usage", "support", "renewed", "nps"])
    df["snapshot_date"] = D[df["p"]]
    df["arr"] = df["account_id"].map({"A": 100.0, "B": 50.0, "C": 10.0, "E": 5.0, "F": 500.0})
    df["adoption_pct"], df["days_since_login"], df["open_tickets"] = 80.0, 3, 0
    df["oldest_ticket_age_days"], df["days_to_renewal"] = 0, 60
    return df.drop(columns="p")


def test_playbook_lists_accounts_that_entered_red():
    p = red_playbook(CFG, _book())
    assert (p.snapshot, p.previous) == ("2025-07-01", "2025-04-01")
    assert p.accounts["account_id"].tolist() == ["F", "A"]  # ARR first
    a = p.accounts.set_index("account_id")
    assert a.loc["A", "band_before"] == "amber" and a.loc["A", "band"] == "red"
    assert a.loc["A", "weakest_branch"] == "usage" and a.loc["A", "owner"] == "Customer Success"
    assert a.loc["F", "band"] == "critical" and a.loc["F", "weakest_branch"] == "usage"
    # red at 2025-04-01: B (still red) and E (back to amber): save rate 1/2; red now: A, B, F of 5
    assert p.save_rate[0] == 0.5 and p.n_red_previous == 2
    assert p.red_share[0] == pytest.approx(3 / 5)
    assert [c.passed for c in p.checks] == [False, False]
    json.dumps(p.to_dict(), default=str)


def test_post_mortem_lead_times_by_hand():
    pm = post_mortem(CFG, _book())
    assert pm.accounts["account_id"].tolist() == ["A"]
    row = pm.accounts.iloc[0]
    assert row["went_red"] == D[2] and row["snapshots_red"] == 1
    # NPS < 7 began at 2025-04-01, one snapshot (91 days) before A went red; adoption never warned
    assert row["lead_days:Q3 no"] == 91
    assert np.isnan(row["lead_days:Q1 no"])
    flags = pm.flags.set_index("flag")
    assert flags.loc["Q3 no: nps >= 7", "present"] == 1 and flags.loc["Q3 no: nps >= 7", "churned_with_prior"] == 1
    assert flags.loc["Q3 no: nps >= 7", "share_other_red"] == 0.0  # F's red episode had NPS 9 before
    json.dumps(pm.to_dict(), default=str)


def test_warning_flags_follow_the_tree():
    f = warning_flags(_book(), read_tree("seed_001"))
    assert list(f.columns) == ["Q1 no: adoption_pct > 60", "Q2 no: days_since_login <= 14", "Q3 no: nps >= 7",
                               "Q4 yes: open_tickets > 3 or oldest_ticket_age_days > 14"]
    assert f["Q3 no: nps >= 7"].sum() == 2


def test_bundled_playbook_and_post_mortem_with_the_metric_tree():
    from calibrate.systems.metric_tree import fit_metric_tree

    book = load_accounts(bundled_data_path())
    fit = fit_metric_tree(book)
    p = red_playbook(fit, book.frame)
    assert len(p.accounts) > 0 and p.accounts["band_before"].isin(["amber", "green"]).all()
    pm = post_mortem(fit, book.frame)
    churned_red = book.frame.assign(red=fit.score(book.frame)["band_index"] <= 1).query("renewed == 0 and red")
    assert len(pm.accounts) == len(churned_red)


def test_cli_playbook_json():
    res = subprocess.run([sys.executable, "-m", "calibrate", "playbook", "--json"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    assert res.returncode in (0, 1), res.stderr
    out = json.loads(res.stdout)
    assert out["playbook"]["entered_red"] == len(out["playbook"]["accounts"])


def test_every_result_draws_on_the_axes_it_is_given():
    from matplotlib.figure import Figure

    from calibrate.systems.metric_tree import MetricTreeFit, action_list, explain
    from calibrate.systems.tiers import direction_checks

    book = _book()
    results = [red_playbook(CFG, book), post_mortem(CFG, book), explain(CFG, book, "A"), action_list(CFG, book),
               MetricTreeFit.from_config(CFG)]
    accounts = load_accounts(book, spec=DataSpec(dimensions=("usage", "support")))
    results.append(direction_checks(accounts, columns=["usage", "nps"], n_boot=200))
    for r in results:
        ax = Figure().add_subplot()
        assert r.plot(ax=ax) is ax
        assert isinstance(r._repr_html_(), str) and "\n" not in repr(r) and r.summary()
