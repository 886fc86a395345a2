"""Config diff: weight/band changes, the band migration matrix and the red book, against a hand count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from calibrate import WeightConfig, write_config
from calibrate.config import Dimension, default_bands
from calibrate.publish.diff import diff_configs

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("usage", "engagement", "support", "commercial")


def cfg(weights, version, bands=None) -> WeightConfig:
    dims = [Dimension(name=n, column=n, weight=w) for n, w in zip(NAMES, weights)]
    return WeightConfig(dimensions=dims, bands=bands or default_bands(), version=version)


def hand_band(row, weights, edges, names):
    """Reference: the weighted sum by hand, then the first band whose upper edge is above it."""
    s = sum(w * row[n] for n, w in zip(NAMES, weights))
    for edge, name in zip(edges, names):
        if round(s, 9) < edge:
            return name
    return names[-1]


def test_migration_matrix_and_red_book_match_a_hand_count(book):
    w_old, w_new = (0.25, 0.25, 0.25, 0.25), (0.55, 0.15, 0.2, 0.1)
    shifted = default_bands()
    shifted[1] = shifted[1].model_copy(update={"max": 55.0})
    shifted[2] = shifted[2].model_copy(update={"min": 55.0})
    old, new = cfg(w_old, 1), cfg(w_new, 2, shifted)
    result = diff_configs(old, new, data=book)

    names = ["critical", "red", "amber", "green"]
    a = [hand_band(r, w_old, [25, 50, 75], names) for r in book.to_dict("records")]
    b = [hand_band(r, w_new, [25, 55, 75], names) for r in book.to_dict("records")]
    expected = pd.crosstab(pd.Series(a, name="o"), pd.Series(b, name="n")).reindex(index=names, columns=names, fill_value=0)
    np.testing.assert_array_equal(result.accounts.to_numpy(), expected.to_numpy())
    arr = {(i, j): 0.0 for i in names for j in names}
    for i, j, x in zip(a, b, book["arr"]):
        arr[i, j] += x
    np.testing.assert_allclose(result.arr.to_numpy(), [[arr[i, j] for j in names] for i in names], rtol=1e-12)

    red_old = np.isin(a, ["critical", "red"])
    red_new = np.isin(b, ["critical", "red"])
    rb = result.red_book
    assert rb["old_accounts"] == red_old.sum() and rb["new_accounts"] == red_new.sum()
    assert rb["change_share"] == red_new.mean() - red_old.mean()
    np.testing.assert_allclose(rb["change_arr"], book["arr"][red_new].sum() - book["arr"][red_old].sum(), rtol=1e-12)
    assert result.moved == sum(x != y for x, y in zip(a, b))

    np.testing.assert_allclose(result.weights["change"].to_numpy(), np.subtract(w_new, w_old), atol=1e-15)
    changed = result.bands.set_index("band")["changed"]
    assert changed.to_dict() == {"critical": False, "red": True, "amber": True, "green": False}
    long = result.to_frame()
    assert long["accounts"].sum() == len(book) and set(long.columns) == {"from_band", "to_band", "accounts", "share", "arr"}
    assert "change band" in result.summary() and "red book (accounts red or below at their latest snapshot):" in result.summary()
    assert result.plot().get_title() == "Band migration (accounts)"
    json.dumps(result.to_dict())


def test_latest_snapshot_counts_each_account_once():
    from conftest import logistic_book

    frame = logistic_book(200, seed=3, snapshots=3)
    latest = frame[frame["snapshot_date"] == frame["snapshot_date"].max()]
    result = diff_configs(cfg((0.25,) * 4, 1), cfg((0.7, 0.1, 0.1, 0.1), 2), data=frame)
    assert result.accounts.to_numpy().sum() == 200
    every = diff_configs(cfg((0.25,) * 4, 1), cfg((0.7, 0.1, 0.1, 0.1), 2), data=latest)
    pd.testing.assert_frame_equal(result.accounts, every.accounts)


def test_diff_without_data_lists_changes_and_renamed_dimensions():
    old = cfg((0.25,) * 4, 1)
    dims = [Dimension(name="usage", column="usage", weight=0.5), Dimension(name="nps", column="nps", weight=0.5)]
    new = WeightConfig(dimensions=dims, bands=default_bands(), version=2, missing="redistribute")
    d = diff_configs(old, new)
    assert d.accounts is None and d.moved is None
    assert d.weights.loc["nps"].tolist() == [0.0, 0.5, 0.5] and d.weights.loc["support"].tolist() == [0.25, 0.0, -0.25]
    assert d.other_changes == ["missing: error -> redistribute"]
    assert list(d.to_frame().columns) == ["dimension", "old", "new", "change"]


def test_diff_command_json(tmp_path, book_csv):
    a = write_config(cfg((0.25,) * 4, 1), tmp_path)
    b = write_config(cfg((0.4, 0.3, 0.2, 0.1), 2), tmp_path)
    res = subprocess.run([sys.executable, "-m", "calibrate", "diff", str(a), str(b), "--data", str(book_csv), "--json"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["old"]["version"] == 1 and out["new"]["version"] == 2
    assert sum(map(sum, out["migration"]["accounts"])) == 3000
    assert set(out["red_book"]) >= {"old_share", "new_share", "change_share", "old_arr", "new_arr", "change_arr"}
