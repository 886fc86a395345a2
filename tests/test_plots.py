"""Every plot in calibrate.plots draws what it should: assertions on the artists, never on pixels.

To cover a new plot function, add one ``@case("plot_name")`` function below: it calls the plot on
the ``ax`` it is given and checks the artists. ``test_every_plot_has_a_case`` fails until it exists.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex

import calibrate.plots as plots
from calibrate.config import WeightConfig, default_bands
from calibrate.validate import BandStat, Validation

matplotlib.use("Agg")

CASES: dict[str, Callable[[Axes | None], Axes]] = {}


def case(name: str) -> Callable[[Callable[[Axes | None], Axes]], Callable[[Axes | None], Axes]]:
    def add(fn: Callable[[Axes | None], Axes]) -> Callable[[Axes | None], Axes]:
        CASES[name] = fn
        return fn

    return add


def _validation(rates=(0.2, 0.5, 0.8, 0.95), n=(50, 100, 200, 400), spread=0.45, auc=0.8) -> Validation:
    bands = tuple(
        BandStat(name=b.name, code=b.code, color=b.color, n=k, renewed=round(r * k), renewal_rate=r,
                 ci_low=r - 0.05, ci_high=min(r + 0.04, 1.0), share=k / sum(n))
        for b, r, k in zip(default_bands(), rates, n)
    )
    return Validation(n=sum(n), n_accounts=sum(n), bands=bands, top_band="green", red_band="red", spread=spread,
                      spread_ci=(spread - 0.05, spread + 0.05), auc=auc, auc_ci=(auc - 0.02, auc + 0.02),
                      brier=0.1, n_boot=1000, seed=0)


def _config() -> WeightConfig:
    from calibrate.config import Dimension

    dims = [Dimension(name=d, column=d, weight=0.25) for d in ("usage", "engagement", "support", "commercial")]
    return WeightConfig(dimensions=dims, bands=default_bands())


def _spans(segments: list) -> np.ndarray:
    """(low, high) of each vertical error-bar segment, flattened."""
    return np.array([(s[0][1], s[1][1]) for s in segments]).ravel()


def _bars(ax: Axes) -> list:
    return [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]


@case("plot_band_rates")
def _band_rates(ax: Axes | None) -> Axes:
    v = _validation()
    ax = plots.plot_band_rates(v, ax=ax)
    bars = _bars(ax)
    assert [b.get_height() for b in bars] == pytest.approx([0.2, 0.5, 0.8, 0.95])
    # band colours come from the config (the seeds' palette), lowest band left
    assert [to_hex(b.get_facecolor()) for b in bars] == [b.color for b in default_bands()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["critical", "red", "amber", "green"]
    # the error bars span each Wilson interval
    segs = ax.collections[0].get_segments()
    assert _spans(segs) == pytest.approx([x for b in v.bands for x in (b.ci_low, b.ci_high)])
    return ax


@case("plot_score_distribution")
def _score_distribution(ax: Axes | None) -> Axes:
    rng = np.random.default_rng(1)
    score = np.r_[rng.uniform(60, 100, 300), rng.uniform(0, 40, 100)]
    renewed = np.r_[np.ones(300, int), np.zeros(100, int)]
    ax = plots.plot_score_distribution(score, renewed, _config(), ax=ax)
    spans = [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert [to_hex(p.get_facecolor()) for p in spans[:4]] == [b.color for b in default_bands()]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["renewed (n=300)", "churned (n=100)"]
    # the churned histogram sits entirely below 40, the renewed one above 60
    renewed_v, churned_v = (p.get_path().vertices for p in ax.patches if isinstance(p, matplotlib.patches.Polygon))
    assert churned_v[churned_v[:, 1] > 0, 0].max() <= 40 + 2.5  # bins are 2.5 points wide
    assert renewed_v[renewed_v[:, 1] > 0, 0].min() >= 60 - 2.5
    for v in (renewed_v, churned_v):  # densities: each outline encloses area 1 (shoelace formula)
        x, y = v[:, 0], v[:, 1]
        assert abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2 == pytest.approx(1.0)
    return ax


@case("plot_weights")
def _weights(ax: Axes | None) -> Axes:
    w = {"current": {"a": 0.5, "b": 0.5}, "new": {"a": 0.7, "b": 0.3}}
    ax = plots.plot_weights(w, ax=ax, intervals={"new": {"a": (0.6, 0.8), "b": (0.2, 0.35)}})
    bars = _bars(ax)
    assert [b.get_height() for b in bars] == pytest.approx([0.5, 0.5, 0.7, 0.3])
    assert ax.get_legend_handles_labels()[1] == ["current", "new"]
    segs = ax.collections[0].get_segments()
    assert _spans(segs) == pytest.approx([0.6, 0.8, 0.2, 0.35])
    return ax


@case("plot_band_migration")
def _band_migration(ax: Axes | None) -> Axes:
    m = pd.DataFrame([[5, 1], [2, 7]], index=pd.Index(["red", "green"], name="v1"),
                     columns=pd.Index(["red", "green"], name="v2"))
    ax = plots.plot_band_migration(m, ax=ax)
    assert np.array_equal(ax.images[0].get_array(), m.to_numpy(dtype=float))
    assert [t.get_text() for t in ax.texts] == ["5", "1", "2", "7"]
    assert ax.get_xlabel() == "new band (v2)" and ax.get_ylabel() == "old band (v1)"
    return ax


@case("plot_reliability_curves")
def _reliability(ax: Axes | None) -> Axes:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 4000)
    y = (rng.random(4000) < p).astype(int)
    ax = plots.plot_reliability_curves({"new": (y, p)}, ax=ax, n_bins=5)
    diagonal, line = ax.lines
    assert list(diagonal.get_xdata()) == [0, 1] and list(diagonal.get_ydata()) == [0, 1]
    # independent reference: mean prediction and observed rate per quintile of p, by pandas
    q = pd.qcut(p, 5, labels=False)
    ref = pd.DataFrame({"p": p, "y": y, "q": q}).groupby("q").mean()
    assert line.get_xdata() == pytest.approx(ref["p"].to_numpy())
    assert line.get_ydata() == pytest.approx(ref["y"].to_numpy())
    assert line.get_label().startswith("new (ECE ")
    return ax


@case("plot_roc")
def _roc(ax: Axes | None) -> Axes:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 500)
    s = y * 1.0 + rng.normal(0, 1, 500)
    ax = plots.plot_roc({"new": (y, s)}, ax=ax)
    line = ax.lines[1]
    # the area under the drawn curve is the AUC (trapezoids), and the label states it
    assert np.trapezoid(line.get_ydata(), line.get_xdata()) == pytest.approx(roc_auc_score(y, s), abs=1e-9)
    assert f"AUC {roc_auc_score(y, s):.3f}" in line.get_label()
    assert line.get_xdata()[0] == 0 and line.get_xdata()[-1] == 1
    return ax


@case("plot_validation_trend")
def _validation_trend(ax: Axes | None) -> Axes:
    vals = {"2024Q1": _validation(spread=0.5, auc=0.85), "2024Q2": _validation(spread=0.4, auc=0.8),
            "2024Q3": _validation(spread=0.2, auc=0.7)}
    ax = plots.plot_validation_trend(vals, ax=ax)
    assert list(ax.lines[0].get_ydata()) == pytest.approx([0.5, 0.4, 0.2])
    assert list(ax.right_ax.lines[0].get_ydata()) == pytest.approx([0.85, 0.8, 0.7])
    # the shaded band is the spread interval
    verts = ax.collections[0].get_paths()[0].vertices
    assert verts[:, 1].min() == pytest.approx(0.15) and verts[:, 1].max() == pytest.approx(0.55)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(vals)
    return ax


@case("plot_renewal_by_bins")
def _renewal_by_bins(ax: Axes | None) -> Axes:
    from statsmodels.stats.proportion import proportion_confint

    values = np.array([5, 15, 15, 55, 55, 55, 95, 95])
    renewed = np.array([0, 0, 1, 1, 1, 0, 1, 1])
    ax = plots.plot_renewal_by_bins(values, renewed, ax=ax, bins=np.array([0, 50, 100]), label="usage")
    line = ax.lines[0]
    assert list(line.get_xdata()) == [25, 75]
    assert list(line.get_ydata()) == pytest.approx([1 / 3, 4 / 5])
    lo, hi = proportion_confint([1, 4], [3, 5], method="wilson")
    segs = ax.collections[0].get_segments()
    assert _spans(segs) == pytest.approx(np.c_[lo, hi].ravel())
    assert ax.get_xlabel() == "usage"
    return ax


def _plot_functions() -> list[str]:
    return sorted(n for n, f in inspect.getmembers(plots, inspect.isfunction)
                  if n.startswith("plot_") and f.__module__ == plots.__name__)


def test_every_plot_has_a_case():
    missing = set(_plot_functions()) - set(CASES)
    assert not missing, f"add a @case for {sorted(missing)} in tests/test_plots.py"


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_draws_on_the_given_axes(name):
    ax = plots.new_axes()
    assert CASES[name](ax) is ax
    assert plots.figure_png(ax)[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_makes_its_own_axes(name):
    import matplotlib.pyplot as plt

    ax = CASES[name](None)
    assert isinstance(ax, Axes)
    plt.close(ax.figure)


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_signature(name):
    sig = inspect.signature(getattr(plots, name))
    assert "ax" in sig.parameters and sig.parameters["ax"].default is None
    assert getattr(plots, name).__doc__


def test_figure_png_is_deterministic():
    a, b = plots.new_axes(), plots.new_axes()
    _band_rates(a)
    _band_rates(b)
    assert plots.figure_png(a) == plots.figure_png(b)
