"""The one scoring function: closed-form checks and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from calibrate import DataError, WeightConfig, score_frame
from calibrate.config import Dimension, default_bands
from calibrate.config.model import Calibration

W = {"usage": 0.4, "engagement": 0.25, "support": 0.2, "commercial": 0.15}


def config(**kw) -> WeightConfig:
    dims = [Dimension(name=k, column=f"src_{k}", weight=v) for k, v in W.items()]
    return WeightConfig(dimensions=dims, bands=default_bands(), **kw)


def test_score_is_the_weighted_sum_and_contributions_add_up():
    frame = pd.DataFrame({"src_usage": [100, 0, 50], "src_engagement": [100, 0, 20],
                          "src_support": [100, 0, 80], "src_commercial": [100, 0, 10]}, dtype=float)
    out = score_frame(frame, config())
    expected = 0.4 * frame.src_usage + 0.25 * frame.src_engagement + 0.2 * frame.src_support + 0.15 * frame.src_commercial
    np.testing.assert_allclose(out["score"], expected, rtol=0, atol=1e-12)
    contrib = out.filter(like="contribution_").sum(axis=1)
    np.testing.assert_array_equal(contrib.to_numpy(), out["score"].to_numpy())
    assert list(out["band"]) == ["green", "critical", "red"]  # 100 is in the top band; 0 in the lowest
    assert list(out["band_code"]) == ["CS_HEALTH_GREEN", "CS_HEALTH_CRITICAL", "CS_HEALTH_RED"]


def test_band_edges_are_half_open():
    cfg = config()
    frame = pd.DataFrame({f"src_{k}": [v] * 6 for k, v in W.items()})
    for d in W:
        frame[f"src_{d}"] = [24.999, 25.0, 49.999, 50.0, 75.0, 100.0]
    assert list(score_frame(frame, cfg)["band"]) == ["critical", "red", "red", "amber", "green", "green"]


def test_inverted_dimension_uses_100_minus():
    dims = [Dimension(name="usage", column="u", weight=0.5),
            Dimension(name="tickets", column="t", weight=0.5, direction="lower_is_healthier")]
    cfg = WeightConfig(dimensions=dims, bands=default_bands())
    out = score_frame(pd.DataFrame({"u": [80.0], "t": [30.0]}), cfg)
    assert out["score"].iloc[0] == pytest.approx(0.5 * 80 + 0.5 * 70)


def test_missing_rule_error_and_redistribute():
    frame = pd.DataFrame({"src_usage": [80.0], "src_engagement": [np.nan], "src_support": [60.0], "src_commercial": [40.0]})
    with pytest.raises(DataError, match=r"column 'src_engagement': missing sub-score \(first at row 0\)"):
        score_frame(frame, config())
    out = score_frame(frame, config(missing="redistribute"))
    expected = (0.4 * 80 + 0.2 * 60 + 0.15 * 40) / 0.75
    assert out["score"].iloc[0] == pytest.approx(expected)
    assert out.filter(like="contribution_").sum(axis=1).iloc[0] == pytest.approx(expected)


def test_renewal_probability_is_the_logistic_of_the_calibration():
    cfg = config(calibration=Calibration(intercept=-3.0, slope=0.07))
    frame = pd.DataFrame({f"src_{k}": [60.0] for k in W})
    assert score_frame(frame, cfg)["p_renew"].iloc[0] == pytest.approx(1 / (1 + np.exp(-(-3 + 0.07 * 60))))


@settings(max_examples=60, deadline=None)
@given(arrays(float, (25, 4), elements=st.floats(0, 100)), st.integers(0, 3), st.floats(0.01, 20))
def test_properties_bounds_bands_and_monotonicity(values, j, bump):
    cfg = config()
    frame = pd.DataFrame(values, columns=[f"src_{k}" for k in W])
    out = score_frame(frame, cfg)
    assert ((out["score"] >= -1e-9) & (out["score"] <= 100 + 1e-9)).all()
    assert out["band"].notna().all()  # every row in exactly one band
    bumped = frame.copy()
    col = bumped.columns[j]
    bumped[col] = np.minimum(bumped[col] + bump, 100)
    assert (score_frame(bumped, cfg)["score"].to_numpy() >= out["score"].to_numpy() - 1e-9).all()
    shuffled = frame.sample(frac=1, random_state=1)
    pd.testing.assert_frame_equal(score_frame(shuffled, cfg).sort_index(), out)
