"""Every plot in calibrate.plots draws what it should: assertions on the artists, never on pixels.

To cover a new plot function, add one ``@case("plot_name")`` function below: it calls the plot on
the ``ax`` it is given and checks the artists. ``test_every_plot_has_a_case`` fails until it exists.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex

import calibrate.plots as plots
from calibrate.config.model import WeightConfig, default_bands
from calibrate.validation.separation import BandStat, Validation

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
    from calibrate.config.model import Dimension

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


@case("plot_points")
def _points(ax: Axes | None) -> Axes:
    table = pd.DataFrame({"bin": ["< 2", "[2, 4)", ">= 4", "missing"], "points": [0.0, 62.5, 100.0, 40.0],
                          "renewal_rate": [0.55, 0.8, 0.9, 0.7], "ci_low": [0.5, 0.76, 0.87, 0.6],
                          "ci_high": [0.6, 0.84, 0.93, 0.79]})
    ax = plots.plot_points(table, ax=ax, title="calls: points and renewal rate")
    assert [b.get_height() for b in _bars(ax)] == table["points"].tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == table["bin"].tolist()
    assert ax.get_title() == "calls: points and renewal rate" and ax.get_xlabel() and ax.get_ylabel() == "points"
    (rate,) = [a for a in ax.figure.axes if a is not ax and a.get_ylabel() == "renewal rate"]  # the twin axis
    assert _spans(rate.collections[0].get_segments()) == pytest.approx(
        [x for lo, hi in zip(table["ci_low"], table["ci_high"]) for x in (lo, hi)])  # each bin's Wilson interval
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


# -- cases built through the real API on a small seeded book ---------------------------------------
# Each result object is computed once per process (the cases run three times each).

TRAIN_UNTIL = "2025-06-30"  # quarters 0-5 of the book; the drift starts in quarter 6


@functools.cache
def _real() -> SimpleNamespace:
    """A 400-account book, a config fitted on quarters 0-5 (with its drift reference) and its validation."""
    from calibrate.data import datasets
    from calibrate.drift.detect import fit_reference_config
    from calibrate.data.load import load_accounts
    from calibrate.validation.separation import validate

    book = datasets.make_book(n_accounts=400, seed=1)
    data = load_accounts(book)
    config = fit_reference_config(data, train_until=TRAIN_UNTIL, n_boot=200)
    return SimpleNamespace(book=book, data=data, config=config, validation=validate(data, config, n_boot=200))


def _hand_score(frame: pd.DataFrame, config: WeightConfig) -> np.ndarray:
    """Σ wᵢ·sᵢ written out (inverted dimensions as 100 − s), independent of calibrate.score.scorer."""
    total = np.zeros(len(frame))
    for d in config.dimensions:
        x = frame[d.name].to_numpy(dtype=float)
        total += d.weight * (100 - x if d.direction == "lower_is_healthier" else x)
    return total


def _hand_p(score: np.ndarray, config: WeightConfig) -> np.ndarray:
    return 1 / (1 + np.exp(-(config.calibration.intercept + config.calibration.slope * score)))


@case("plot_odds_ratios")
def _odds_ratios(ax: Axes | None) -> Axes:
    import statsmodels.api as sm

    from calibrate.fit.logit import fit_logit

    r = _real()
    res = fit_logit(r.data)
    ax = plots.plot_odds_ratios(res.table, ax=ax)
    # independent reference: the same logistic regression by statsmodels, odds ratio per 10 points
    dims = list(r.data.dimensions)
    sm_fit = sm.Logit(r.data.frame["renewed"].to_numpy(), sm.add_constant(r.data.frame[dims].to_numpy())).fit(disp=0)
    odds10 = np.exp(10 * sm_fit.params[1:])
    points = ax.collections[-1].get_offsets()
    assert np.asarray(points[:, 0]) == pytest.approx(odds10, rel=1e-4)
    assert [t.get_text() for t in ax.get_yticklabels()] == dims
    assert ax.get_xscale() == "log"
    # every dimension helps renewal in this book: odds ratios above 1, drawn blue
    assert all(to_hex(c) == "#2563eb" for c in ax.collections[-1].get_facecolors())
    return ax


@case("plot_threshold_effects")
def _threshold_effects(ax: Axes | None) -> Axes:
    from calibrate.systems.rules_tune import tune_tree

    tuning = tune_tree(_real().data, "seed_001", n_boot=200, grid=5, passes=1)
    table = tuning.thresholds
    ax = plots.plot_threshold_effects(table, ax=ax)
    bars = _bars(ax)
    # bar length: test spread with this threshold tuned alone minus the seed tree's, in points
    assert [b.get_width() for b in bars] == pytest.approx(list(table["effect"] * 100))
    assert table["effect"].abs().max() > 0  # at least one threshold moved something
    assert [to_hex(b.get_facecolor()) for b in bars] == ["#22c55e" if e > 0 else "#ef4444" for e in table["effect"]]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    first = table.iloc[0]
    assert labels[0] == f"{first.threshold} {first.signal} {first.op} {first.seed_value:g}→{first.tuned_value:g}"
    return ax


@case("plot_contribution_changes")
def _contribution_changes(ax: Axes | None) -> Axes:
    from calibrate.systems.metric_tree import explain, fit_metric_tree

    r = _real()
    account = r.book["account_id"].value_counts().index[0]
    ex = explain(fit_metric_tree(r.data), r.book, account)
    ax = plots.plot_contribution_changes(ex.signals, ax=ax)
    widths = np.array([b.get_width() for b in _bars(ax)])
    # the changes are the contributions after minus before, and they add up to the score change
    s = ex.signals
    assert widths == pytest.approx((s["contribution_after"] - s["contribution_before"]).to_numpy())
    assert widths.sum() == pytest.approx(ex.score_after - ex.score_before)
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{b}/{g}" for b, g in zip(s["branch"], s["signal"])]
    assert ax.yaxis_inverted()  # first signal on top
    return ax


@case("plot_directions")
def _directions(ax: Axes | None) -> Axes:
    from sklearn.metrics import roc_auc_score

    from calibrate.systems.tiers import direction_checks

    r = _real()
    report = direction_checks(r.data, columns=["usage", "days_since_login", "csm_contacts_per_month"], n_boot=200)
    ax = plots.plot_directions(report.table, ax=ax)
    y = r.data.frame["renewed"]
    ref = [roc_auc_score(y, r.data.frame[c]) for c in report.table["signal"]]
    points = [line for line in ax.lines if line.get_marker() == "o"]  # not the caps
    assert [line.get_xdata()[0] for line in points] == pytest.approx(ref)
    status_colour = {"wrong way": "#ef4444", "no evidence": "#94a3b8", "agrees": "#22c55e"}
    assert [to_hex(line.get_color()) for line in points] == [
        status_colour[s] for s in report.table["status"]]
    # contacts per month is expected higher-is-healthier but runs the other way (AUC < 0.5)
    assert "wrong way" in list(report.table["status"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(report.table["signal"])
    return ax


@case("plot_reliability")
def _reliability_of_validation(ax: Axes | None) -> Axes:
    from sklearn.calibration import calibration_curve

    r = _real()
    ax = plots.plot_reliability(r.validation, ax=ax)
    diagonal, line = ax.lines
    assert list(diagonal.get_xdata()) == [0, 1]
    p = _hand_p(_hand_score(r.data.frame, r.config), r.config)
    frac, mean = calibration_curve(r.data.frame["renewed"], p, n_bins=10, strategy="quantile")
    assert np.asarray(line.get_xdata()) == pytest.approx(mean)
    assert np.asarray(line.get_ydata()) == pytest.approx(frac)
    assert line.get_label().startswith(f"ECE {r.validation.ece:.3f}")
    return ax


@case("plot_gains")
def _gains(ax: Axes | None) -> Axes:
    r = _real()
    ax = plots.plot_gains(r.validation, ax=ax)
    line = ax.lines[1]
    share, gain = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    # independent reference: sort by the hand score, riskiest first; at each drawn share k/n, the
    # curve is the share of all churn among the k lowest scores
    score = _hand_score(r.data.frame, r.config)
    churn = 1 - r.data.frame["renewed"].to_numpy()[np.argsort(score, kind="stable")]
    n = len(churn)
    k = np.rint(share * n).astype(int)
    assert share[0] == 0 and share[-1] == 1 and len(share) == 11
    assert np.abs(k[1:] - np.arange(1, 11) * n / 10).max() <= 1  # deciles
    assert gain == pytest.approx(np.r_[0, np.cumsum(churn)][k] / churn.sum())
    return ax


@case("plot_checks")
def _checks(ax: Axes | None) -> Axes:
    from calibrate.validation.gate import Policy, check

    r = _real()
    v = r.validation
    frame = r.data.frame
    band = np.digitize(_hand_score(frame, r.config), [25, 50, 75])
    spread = frame["renewed"][band == 3].mean() - frame["renewed"][band == 1].mean()
    assert v.spread == pytest.approx(spread)
    # a spread threshold it misses, an AUC threshold inside its interval (inconclusive), a trend it passes,
    # a red-share guideline it exceeds (a warning)
    gate = check(v, Policy(red_share_guideline=0.01), min_spread=round(spread + 0.3, 2),
                 min_auc=round((v.auc + v.auc_ci[0]) / 2, 4), require_monotone=False)
    ax = plots.plot_checks(gate, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["spread", "auc", "trend", "red_share"]
    assert [to_hex(b.get_facecolor()) for b in _bars(ax)] == ["#ef4444", "#eab308", "#22c55e", "#f97316"]
    assert ax.texts[0].get_text() == f"fail: value {spread:.3g}, threshold {round(spread + 0.3, 2)}"
    assert ax.texts[1].get_text().startswith(f"inconclusive: value {v.auc:.3g}")
    return ax


@case("plot_leaderboard")
def _leaderboard(ax: Axes | None) -> Axes:
    from sklearn.metrics import roc_auc_score

    from calibrate.fit.folds import validation_folds
    from calibrate.compare.methods import leaderboard

    r = _real()
    board = leaderboard(r.data, n_boot=200)
    ax = plots.plot_leaderboard(board, ax=ax)
    bars = _bars(ax)
    from calibrate._labels import METHOD_LABELS

    assert [t.get_text() for t in ax.get_yticklabels()] == [METHOD_LABELS[m.method] for m in board.methods]  # words
    names = [m.method for m in board.methods]
    # independent reference: the equal-weight score's AUC on the held-out rows, by scikit-learn
    (fold,) = validation_folds(r.data)
    test = r.data.frame.iloc[fold.test]
    equal = roc_auc_score(test["renewed"], test[list(r.data.dimensions)].mean(axis=1))
    assert bars[names.index("equal")].get_width() == pytest.approx(equal)
    assert [b.get_width() for b in bars] == pytest.approx([m.auc[0] for m in board.methods])
    colour = {"ceiling": "#9333ea", board.best: "#2563eb"}
    assert [to_hex(b.get_facecolor()) for b in bars] == [colour.get(n, "#94a3b8") for n in names]
    assert _spans_h(ax.collections[0].get_segments()) == pytest.approx([x for m in board.methods for x in m.auc[1:]])
    return ax


def _spans_h(segments: list) -> np.ndarray:
    """(low, high) of each horizontal error-bar segment, flattened."""
    return np.array([(s[0][0], s[1][0]) for s in segments]).ravel()


@case("plot_champion_challenger")
def _champion_challenger(ax: Axes | None) -> Axes:
    from calibrate.compare.champion import champion_challenger

    r = _real()
    equal = r.config.model_copy(update={"dimensions": [d.model_copy(update={"weight": 0.25})
                                                        for d in r.config.dimensions]})
    res = champion_challenger(r.data, r.config, equal, n_boot=200, min_gain=-0.05)
    ax = plots.plot_champion_challenger(res, ax=ax)
    points = [line for line in ax.lines if line.get_marker() == "o"]  # not the caps
    assert [p.get_xdata()[0] for p in points] == pytest.approx([res.log_loss_gain[0], res.auc_diff[0]])
    segs = [c for c in ax.collections if hasattr(c, "get_segments")]
    assert _spans_h(segs[0].get_segments()) == pytest.approx(res.log_loss_gain[1:])
    # green where the lower bound clears the threshold (min_gain -0.05 is cleared), red otherwise
    assert res.log_loss_gain[1] > -0.05
    assert to_hex(points[0].get_color()) == "#16a34a"
    expected = "#16a34a" if res.auc_diff[1] > -res.max_auc_loss else "#dc2626"
    assert to_hex(points[1].get_color()) == expected
    thresholds = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"]
    assert thresholds == pytest.approx([-0.05, -res.max_auc_loss])
    assert ax.get_title() == f"Champion/challenger: {res.decision}"
    return ax


@functools.cache
def _drift_report():
    from calibrate.drift.detect import detect_drift

    r = _real()
    return detect_drift(r.data, r.config, n_boot=200, n_boot_weights=20, n_sim=200)


def _psi(expected: np.ndarray, actual: np.ndarray, edges: np.ndarray, floor: float = 1e-4) -> float:
    """Σ (a − e)·ln(a / e) on right-closed bins, an empty bin raised to ``floor`` then renormalised."""
    bins = np.r_[-np.inf, edges, np.inf]
    e, a = (pd.cut(x, bins, right=True).value_counts(normalize=True, sort=False).to_numpy() for x in (expected, actual))
    e, a = (np.maximum(x, floor) / np.maximum(x, floor).sum() for x in (e, a))
    return float(np.sum((a - e) * np.log(a / e)))


@case("plot_drift_psi")
def _drift_psi(ax: Axes | None) -> Axes:
    r = _real()
    report = _drift_report()
    ax = plots.plot_drift_psi(report, ax=ax)
    bars = _bars(ax)
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == ["score", *r.data.dimensions]
    # independent reference: PSI of each dimension on deciles of the training quarters (type-7 quantiles),
    # new window = the quarters after the reference
    f = r.data.frame
    train, new = f[f["snapshot_date"] <= TRAIN_UNTIL], f[f["snapshot_date"] > TRAIN_UNTIL]
    for d in r.data.dimensions:
        edges = np.unique(np.quantile(train[d], np.arange(1, 10) / 10))
        assert bars[names.index(d)].get_height() == pytest.approx(_psi(train[d], new[d], edges), rel=1e-9)
    # engagement falls by 12 points in the last two quarters: far above the recalibrate threshold, red
    eng = names.index("engagement")
    assert bars[eng].get_height() > report.population["threshold_recalibrate"].iloc[eng]
    assert to_hex(bars[eng].get_facecolor()) == "#dc2626"
    assert ax.get_title() == f"Population drift (verdict: {report.verdict})"
    return ax


@case("plot_drift_trend")
def _drift_trend(ax: Axes | None) -> Axes:
    from sklearn.metrics import roc_auc_score

    r = _real()
    per = _drift_report().periods
    ax = plots.plot_drift_trend(_drift_report(), ax=ax)
    auc_line = next(c.lines[0] for c in ax.containers if c.get_label() == "AUC")
    f = r.data.frame
    quarter = f["snapshot_date"].dt.to_period("Q").astype(str)
    known = per.loc[per["known"], "period"]
    ref = [roc_auc_score(f["renewed"][quarter == q], _hand_score(f[quarter == q], r.config)) for q in known]
    assert np.asarray(auc_line.get_ydata()) == pytest.approx(ref)
    expected = next(line for line in ax.lines if line.get_label().startswith("expected AUC"))
    assert np.asarray(expected.get_ydata()) == pytest.approx(per["expected_auc"].to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == list(per["period"])
    assert ax.get_ylim() == (0, 1)
    return ax


def _plot_functions() -> list[str]:
    return sorted(n for n, f in inspect.getmembers(plots, inspect.isfunction)
                  if n.startswith("plot_") and f.__module__.startswith(plots.__name__))


def test_intervals_at_100_and_0_percent_draw_without_negative_error_bars():
    """A band renewing every account (41/41) and one renewing none (0/48): Wilson bounds computed in floating
    point sat a hair inside the rate and matplotlib refused the negative length (issue 18 item 2)."""
    from calibrate._stats import wilson_interval

    k, n = np.array([0, 20, 150, 41]), np.array([48, 60, 200, 41])
    lo, hi = wilson_interval(k, n)
    bands = tuple(BandStat(name=b.name, code=b.code, color=b.color, n=int(m), renewed=int(r), renewal_rate=r / m,
                           ci_low=float(a), ci_high=float(c), share=m / n.sum())
                  for b, r, m, a, c in zip(default_bands(), k, n, lo, hi))
    v = Validation(n=int(n.sum()), n_accounts=int(n.sum()), bands=bands, top_band="green", red_band="red", spread=0.6,
                   spread_ci=(0.5, 0.7), auc=0.8, auc_ci=(0.78, 0.82), brier=0.1, n_boot=1000, seed=0)
    ax = plots.plot_band_rates(v, ax=plots.new_axes())
    assert _spans(ax.collections[0].get_segments())[[0, -1]] == pytest.approx([0.0, 1.0])
    values = np.r_[np.full(48, 5.0), np.full(41, 95.0)]
    renewed = np.r_[np.zeros(48), np.ones(41)]
    ax = plots.plot_renewal_by_bins(values, renewed, ax=plots.new_axes(), bins=np.array([0, 50, 100]))
    assert list(ax.lines[0].get_ydata()) == [0.0, 1.0]
    # a percentile bootstrap interval may even exclude its estimate: drawn as no bar on that side
    from calibrate.plots._base import error_lengths

    assert error_lengths([0.5], [0.55], [0.6]).ravel() == pytest.approx([0.0, 0.1])


def test_weights_with_many_long_names_slant_their_labels():
    """19 dimensions named like IBM Telco's columns would overlap side by side: the names slant; two short ones do not."""
    names = [f"streamingmovies_{i}" for i in range(19)]
    ax = plots.plot_weights({"new": dict.fromkeys(names, 1 / 19)})
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {45.0}
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    ax = plots.plot_weights({"new": {"a": 0.5, "b": 0.5}})
    assert {t.get_rotation() for t in ax.get_xticklabels()} == {0.0}


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
