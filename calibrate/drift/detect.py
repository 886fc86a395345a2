"""Drift: has the book moved away from what the weights were fitted on, and is it time to recalibrate?

:func:`build_reference` summarises the training rows at fit time (decile bins and a 1-point grid of
the score and of every dimension, band mix, accounts, period) into the config; :func:`detect_drift`
then needs only that config and the new data — never the old rows — and returns a
:class:`DriftReport` with

* population drift: PSI of the score and CSI of every dimension on the reference bins, judged
  against ``max(conventional cut-off, sampling-noise quantile)`` at the sizes at hand (effective
  size = accounts, since an account's snapshots are not independent); KS and Wasserstein beside
  them; band-mix PSI and the shift of the share of the book in the red band;
* performance drift per snapshot period with known outcomes (AUC, spread, band renewal rates with
  intervals) and the trend of AUC and spread across periods;
* a label-free estimate (expected AUC and band renewal rates from the config's calibrated
  probabilities) for every period, compared with the truth where outcomes are known;
* weight drift: a refit on the most recent periods with account-bootstrap intervals, and the
  out-of-time gain expected from recalibrating;
* one verdict, ``ok`` / ``watch`` / ``recalibrate``, with every reason named.

Every threshold is a module constant below and an option of :func:`detect_drift`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate._params import Interval, validate_params
from calibrate._stats import one_blas_thread
from calibrate.drift import signals as _drift
from calibrate.drift.parts import (_label_free, _outcomes, _periods, _population, _trend, _weight_drift,
                                   judged_periods, row_codes)
from calibrate.config.model import Reference, WeightConfig
from calibrate.errors import ConfigError, DataError
from calibrate.data.load import Accounts, DataSpec
from calibrate.drift.policy import VERDICTS, WEIGHT_BOOT_ACCOUNTS, DriftPolicy

__all__ = ["DriftReport", "Finding", "detect_drift", "build_reference", "load_drift_data", "fit_reference_config"]

Level = Literal["ok", "watch", "recalibrate"]


@dataclass(frozen=True)
class Finding:
    """One named reason (or a passed check): which statistic, where, its value and threshold."""

    level: Level
    statistic: str
    dimension: str | None
    value: float
    threshold: float
    message: str

    @property
    def passed(self) -> bool:
        """True when this finding does not move the verdict."""
        return self.level == "ok"


def _f(x: Any) -> Any:
    """JSON-safe float (NaN → None), recursively for containers."""
    if isinstance(x, dict):
        return {str(k): _f(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_f(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    return x


@dataclass(frozen=True)
class DriftReport:
    """Drift of a book against the reference stored in its config, with one verdict.

    Attributes
    ----------
    verdict : {"ok", "watch", "recalibrate"}
    findings : tuple of Finding
        Every check made; those with ``level != "ok"`` are the reasons.
    population : DataFrame
        One row per variable (``score`` first, then the dimensions): ``psi``, the thresholds used
        (``threshold_watch``/``threshold_recalibrate`` = max of the conventional cut-off and the
        sampling-noise quantile), ``noise_watch``/``noise_recalibrate``, ``ks``, ``ks_pvalue``,
        ``wasserstein``, ``mean_ref``, ``mean_new``.
    bands : DataFrame
        Band mix of the reference and of the new window.
    periods : DataFrame
        One row per snapshot period: rows, accounts, whether outcomes are known, AUC with its
        DeLong interval, spread with its account-bootstrap interval, renewal rate per band, and the
        label-free expected AUC and band renewal rates.
    trend : dict
        ``auc`` and ``spread``: slope per period with interval and one-sided p of a decline.
    weights : dict or None
        Refit on the recent window: current and refit weights, simultaneous intervals, whether
        each current weight is outside, and the out-of-time log-loss and AUC gains.
    window : dict
        The reference and new windows and their sizes.
    thresholds : dict
        Every threshold in force.
    """

    verdict: Level
    findings: tuple[Finding, ...]
    population: pd.DataFrame
    bands: pd.DataFrame
    red_share: dict[str, float]
    periods: pd.DataFrame
    trend: dict[str, dict[str, float]]
    label_free: dict[str, float]
    weights: dict[str, Any] | None
    window: dict[str, Any]
    thresholds: dict[str, float]
    seed: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def reasons(self) -> list[str]:
        """One line per finding that moves the verdict, most severe first."""
        order = {"recalibrate": 0, "watch": 1}
        bad = sorted((f for f in self.findings if not f.passed), key=lambda f: order[f.level])
        return [f"{f.level}: {f.message}" for f in bad]

    @property
    def checks(self) -> list[dict[str, Any]]:
        """Every finding as ``{name, passed, value, threshold, message, level, dimension}``."""
        return [
            {"name": f.statistic, "dimension": f.dimension, "level": f.level, "passed": f.passed,
             "value": _f(f.value), "threshold": _f(f.threshold), "message": f.message}
            for f in self.findings
        ]

    @property
    def passed(self) -> bool:
        """True when the verdict is ``ok``."""
        return self.verdict == "ok"

    def psi(self) -> dict[str, Any]:
        """``{score: PSI, dimensions: {name: CSI}}`` (the contract's ``psi`` key)."""
        pop = self.population.set_index("name")["psi"]
        return {"score": _f(pop["score"]), "dimensions": {k: _f(v) for k, v in pop.drop("score").items()}}

    def to_frame(self) -> pd.DataFrame:
        """The population table (score and dimensions)."""
        return self.population.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe result: ``verdict``, ``reasons``, ``psi`` (contract.md §3) and everything else."""
        pop = self.population.set_index("name")
        return {
            "verdict": self.verdict,
            "reasons": self.reasons,
            "psi": self.psi(),
            "psi_threshold": {k: {"watch": _f(r["threshold_watch"]), "recalibrate": _f(r["threshold_recalibrate"])}
                              for k, r in pop.iterrows()},
            "ks": {k: {"statistic": _f(r["ks"]), "pvalue": _f(r["ks_pvalue"])} for k, r in pop.iterrows()},
            "wasserstein": {k: _f(r["wasserstein"]) for k, r in pop.iterrows()},
            "band_mix": _f(self.bands.to_dict(orient="records")),
            "red_share": _f(self.red_share),
            "periods": _f(self.periods.to_dict(orient="records")),
            "trend": _f(self.trend),
            "label_free": _f(self.label_free),
            "weights": _f(self.weights),
            "checks": self.checks,
            "window": _f(self.window),
            "thresholds": _f(self.thresholds),
            "notes": list(self.notes),
            "seed": self.seed,
        }

    def headline(self) -> str:
        """The drift verdict and its reasons in words, e.g. "Drift: recalibrate — engagement moved down
        11 points on average (69.5 → 58.4; CSI 1.75 above 0.25)." (for the verdict line of a run)."""
        from calibrate.drift.words import drift_headline

        return drift_headline(self)

    def summary(self) -> str:
        """Verdict, reasons, and the population and period tables as text."""
        lines = [f"drift verdict: {self.verdict.upper()}  (new window {self.window['new_start']} .. "
                 f"{self.window['new_end']}: {self.window['n_new']:,} rows, {self.window['n_new_accounts']:,} accounts; "
                 f"reference {self.window['reference_start']} .. {self.window['reference_end']})"]
        lines += [f"  - {r}" for r in self.reasons] or ["  no reason to act"]
        lines.append(f"{'variable':<14}{'PSI':>8}{'watch>':>8}{'recal>':>8}{'KS':>7}{'W1':>7}{'mean ref→new':>16}")
        for _, r in self.population.iterrows():
            lines.append(f"{r['name']:<14}{r['psi']:8.3f}{r['threshold_watch']:8.3f}{r['threshold_recalibrate']:8.3f}"
                         f"{r['ks']:7.3f}{r['wasserstein']:7.2f}{r['mean_ref']:8.1f} → {r['mean_new']:5.1f}")
        lines.append(f"red share {self.red_share['reference']:.1%} → {self.red_share['new']:.1%}")
        if len(self.periods):
            lines.append(f"{'period':<10}{'rows':>7}{'AUC':>7}{'spread':>8}{'exp.AUC':>9}")
            for _, r in self.periods.iterrows():
                auc = "    n/a" if not r["known"] else f"{r['auc']:7.3f}"
                spread = "     n/a" if not r["known"] else f"{r['spread']:+8.1%}"
                lines.append(f"{r['period']:<10}{r['n']:>7,}{auc}{spread}{r['expected_auc']:9.3f}")
        t = self.trend.get("auc")
        if t:
            lines.append(f"AUC trend {t['slope']:+.4f}/period [{t['ci_low']:+.4f}, {t['ci_high']:+.4f}], "
                         f"p(decline) {t['pvalue']:.3f}")
        if self.weights and self.weights.get("refit"):
            w = self.weights
            lines.append("weights    current  refit   interval")
            for d in w["current"]:
                lo, hi = w["ci_low"][d], w["ci_high"][d]
                flag = "  OUTSIDE" if w["outside"][d] else ""
                lines.append(f"  {d:<10}{w['current'][d]:7.3f}{w['refit'][d]:7.3f}   [{lo:.3f}, {hi:.3f}]{flag}")
            g = w.get("gain")
            if g:
                lines.append(f"out-of-time gain from recalibrating: log-loss {g['log_loss']:+.4f} "
                             f"[{g['log_loss_ci_low']:+.4f}, {g['log_loss_ci_high']:+.4f}], AUC {g['auc']:+.4f} "
                             f"[{g['auc_ci_low']:+.4f}, {g['auc_ci_high']:+.4f}]")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """PSI per variable (bars) and per-period AUC/spread (trend); returns the Axes drawn on.

        ``ax`` may be one Axes (PSI bars only) or a pair; by default a new figure with two panels.
        """
        from calibrate.plots import ensure_axes, plot_drift_psi, plot_drift_trend

        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")[1]
        elif not isinstance(ax, (list, tuple, np.ndarray)):
            return plot_drift_psi(self, ax=ensure_axes(ax))
        plot_drift_psi(self, ax=ax[0])
        plot_drift_trend(self, ax=ax[1])
        return ax

    def _repr_html_(self) -> str:
        head = f"<p><b>drift verdict: {self.verdict}</b></p><ul>" + "".join(f"<li>{r}</li>" for r in self.reasons) + "</ul>"
        return head + self.population.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        pop = self.population.set_index("name")["psi"]
        return (f"<DriftReport {self.verdict}: {len(self.reasons)} reason(s), PSI score {pop['score']:.3f}, "
                f"max CSI {pop.drop('score').max():.3f} ({pop.drop('score').idxmax()})>")


# ----------------------------------------------------------------------------------------------
# reference and data
# ----------------------------------------------------------------------------------------------
def build_reference(
    data: Accounts | pd.DataFrame, config: WeightConfig, *, until: str | None = None, n_bins: int = _drift.REFERENCE_BINS
) -> Reference:
    """Summarise the training rows into the config's drift reference (no raw rows are kept).

    Parameters
    ----------
    data : Accounts or DataFrame
        The rows the weights were fitted on, dimensions under their config names.
    config : WeightConfig
        The (draft) config: its weights score the rows.
    until : str, optional
        Only snapshots dated on or before this ISO date (the fit's ``train_until``).
    n_bins : int, default 10
        Decile bins for PSI/CSI.

    Returns
    -------
    Reference
    """
    frame = data.frame if isinstance(data, Accounts) else data
    if until is not None and "snapshot_date" in frame:
        frame = frame.loc[frame["snapshot_date"] <= pd.Timestamp(until)]
    return _drift.reference_from_frame(frame, config, n_bins=n_bins)


def load_drift_data(source: Any, config: WeightConfig, *, query: str | None = None) -> Accounts:
    """Load new snapshots with the config's own column mapping; outcomes may be missing (unknown yet)."""
    from calibrate.data.load import load_accounts

    spec = DataSpec(dimensions=tuple(d.name for d in config.dimensions),
                    columns={d.name: d.column for d in config.dimensions if d.column != d.name})
    return load_accounts(source, spec=spec, query=query, require_outcome=False)


# ----------------------------------------------------------------------------------------------
# the verdict
# ----------------------------------------------------------------------------------------------
def _findings(pop, red_share, trend, label_free, weights, validation_auc, opts) -> list[Finding]:
    out: list[Finding] = []
    for _, r in pop.iterrows():
        stat = "PSI" if r["name"] == "score" else "CSI"
        dim = None if r["name"] == "score" else r["name"]
        where = "score" if dim is None else dim
        v, tw, tr = r["psi"], r["threshold_watch"], r["threshold_recalibrate"]
        level: Level = "recalibrate" if v > tr else "watch" if v > tw else "ok"
        thr = tr if level == "recalibrate" else tw
        out.append(Finding(level, stat, dim, v, thr,
                           f"{stat} {where} {v:.3f} {'>' if level != 'ok' else '<='} {thr:.3f} (max of the "
                           f"{'conventional' if level != 'recalibrate' else 'shifted'} cut-off and the sampling-noise "
                           f"quantile; ref mean {r['mean_ref']:.1f} → {r['mean_new']:.1f})"))
    bp, bt = red_share["band_psi"], max(opts["psi_watch"], red_share["band_psi_noise_watch"])
    btr = max(opts["psi_recalibrate"], red_share["band_psi_noise_recalibrate"])
    level = "recalibrate" if bp > btr else "watch" if bp > bt else "ok"
    out.append(Finding(level, "band-mix PSI", None, bp, btr if level == "recalibrate" else bt,
                       f"band-mix PSI {bp:.3f} vs {btr if level == 'recalibrate' else bt:.3f}"))
    ch = red_share["change"]
    sig = abs(ch) >= opts["red_share_watch"] and red_share["pvalue"] < opts["red_share_alpha"]
    out.append(Finding("watch" if sig else "ok", "red share", red_share["band"], ch, opts["red_share_watch"],
                       f"share in {red_share['band']} {red_share['reference']:.1%} → {red_share['new']:.1%} "
                       f"(change {ch:+.1%}, threshold ±{opts['red_share_watch']:.0%}, p={red_share['pvalue']:.2g})"))
    for stat, t in trend.items():
        a = opts["trend_alpha"] / 2
        bad = t["pvalue"] < a and t["slope"] < 0
        out.append(Finding("watch" if bad else "ok", f"{stat} trend", None, t["slope"], a,
                           f"{stat.upper() if stat == 'auc' else stat} trend {t['slope']:+.4f}/period "
                           f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}], one-sided p(decline) {t['pvalue']:.3g} "
                           f"{'<' if bad else '>='} {a:.3g}"))
    if "expected_auc_latest" in label_free and validation_auc is not None:
        drop = validation_auc - label_free["expected_auc_latest"]
        bad = drop > opts["auc_drop_watch"]
        out.append(Finding("watch" if bad else "ok", "expected AUC (label-free)", None, label_free["expected_auc_latest"],
                           validation_auc - opts["auc_drop_watch"],
                           f"label-free expected AUC {label_free['expected_auc_latest']:.3f} of the latest period vs "
                           f"{validation_auc:.3f} at fit time (drop {drop:+.3f}, threshold {opts['auc_drop_watch']:.2f}; "
                           f"an estimate: it was off by at most {label_free.get('auc_error_max_abs', math.nan):.3f} "
                           "on periods with known outcomes)"))
    if weights and weights.get("refit"):
        for d, outside in weights["outside"].items():
            lo, hi = weights["ci_low"][d], weights["ci_high"][d]
            out.append(Finding("watch" if outside else "ok", "weight", d, weights["current"][d], lo if
                               weights["current"][d] < lo else hi,
                               f"weight {d} {weights['current'][d]:.3f} {'outside' if outside else 'inside'} the refit's "
                               f"{weights['confidence']:.0%} simultaneous interval [{lo:.3f}, {hi:.3f}] "
                               f"(refit {weights['refit'][d]:.3f} on {', '.join(weights['window'])})"))
        g = weights.get("gain")
        if g:
            big = g["auc"] >= opts["auc_gain_recalibrate"] and g["auc_pvalue"] < opts["gain_alpha"]
            out.append(Finding("recalibrate" if big else "ok", "out-of-time AUC gain", None, g["auc"],
                               opts["auc_gain_recalibrate"],
                               f"a refit on {', '.join(g['train'])} beats the current weights on {g['test']} by AUC "
                               f"{g['auc']:+.4f} (p={g['auc_pvalue']:.2g}; threshold +{opts['auc_gain_recalibrate']:.2f} "
                               f"at p<{opts['gain_alpha']}), log-loss {g['log_loss']:+.4f}"))
    return out


@validate_params({"recent_periods": [Interval(int, 1, None)], "n_boot": [Interval(int, 1, None)],
                  "n_sim": [Interval(int, 1, None)], "n_boot_weights": [Interval(int, 2, None)],
                  "weight_boot_accounts": [Interval(int, 2, None), None]})
def detect_drift(
    data: Accounts | pd.DataFrame,
    config: WeightConfig,
    *,
    since: str | None = None,
    period: str = "Q",
    recent_periods: int = 2,
    weight_drift: bool = True,
    n_boot: int = 1000,
    n_boot_weights: int = 200,
    n_sim: int = 2000,
    seed: int = 0,
    policy: DriftPolicy | None = None,
    weight_boot_accounts: int | None = WEIGHT_BOOT_ACCOUNTS,
    floor: float = 1e-4,
) -> DriftReport:
    """Compare new snapshots with the reference stored in ``config`` and say whether to recalibrate.

    Parameters
    ----------
    data : Accounts or DataFrame
        Snapshots, dimensions under their config names (see :func:`load_drift_data`); ``renewed``
        may be missing or empty for periods whose renewals are not known yet.
    config : WeightConfig
        A config with a ``reference`` (written by ``calibrate run`` since this release).
    since : str, optional
        First snapshot date of the new window (default: after the reference period; all rows when
        the data hold nothing later or have no dates).
    period : str, default "Q"
        pandas period frequency that groups snapshots into periods.
    recent_periods : int, default 2
        Periods with known outcomes the weights are refitted on (the latest is also the
        out-of-time test period of the gain).
    weight_drift : bool, default True
        Refit the weights (the slow part: ``n_boot_weights`` fits).
    n_boot, n_boot_weights, n_sim : int
        Resamples of the spread intervals, of the weight refit, and of the noise-PSI simulation.
    seed : int, default 0
    policy : DriftPolicy, optional
        The verdict's thresholds (default: ``DriftPolicy()``, the module constants; a policy file's
        ``drift:`` part with :func:`read_drift_policy`).
    weight_boot_accounts : int or None, default WEIGHT_BOOT_ACCOUNTS
        Accounts drawn per resample of the weight bootstrap when the refit window holds more
        (the m-out-of-n bootstrap, rescaled by ``sqrt(m/n)``: about ``m/n`` of the cost, intervals
        as wide up to Monte-Carlo error); None resamples all accounts every time.
    floor : float, default 1e-4
        Floor of empty bins in PSI.

    Returns
    -------
    DriftReport

    Raises
    ------
    ConfigError
        The config has no reference.
    DataError
        No rows in the new window.
    """
    if config.reference is None:
        raise ConfigError(f"config {config.name} v{config.version} has no drift reference; refit it with "
                          "`calibrate run` (configs written since drift support carry one)")
    policy = DriftPolicy() if policy is None else policy
    opts = {**policy.model_dump(), "n_sim": n_sim, "floor": floor}
    ref = config.reference
    frame = (data.frame if isinstance(data, Accounts) else data).reset_index(drop=True)
    missing = [d.name for d in config.dimensions if d.name not in frame]
    if missing:
        raise DataError(f"drift data: missing dimension column(s) {missing}; load it with load_drift_data(path, config)")
    if "snapshot_date" not in frame:
        raise DataError("drift data: no snapshot_date column; drift compares periods, so map the date the "
                        "sub-scores were measured (contract §1: required for drift)")
    from concurrent.futures import ThreadPoolExecutor

    # Two threads (the machines are 2 cores; numpy, BLAS and Arrow release the GIL): the row codes beside the
    # scores, then the weight refit (the window's fits and their bootstrap, the slowest part) beside the population
    # and per-period tables, which it does not read. BLAS is held at one thread around both, so the parts' own
    # one-thread limits (process-wide) nest without undoing each other and every product is the one-thread
    # product, whichever thread runs first: the figures are those of a run in series.
    with one_blas_thread(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="calibrate-drift") as pool:
        coding = pool.submit(row_codes, frame, period)
        score, bands, p = _drift.score_rows(frame, config)
        y = _outcomes(frame)
        notes = []
        start = since or ref.period_end
        new = np.ones(len(frame), dtype=bool)
        if start is not None:
            cut = (frame["snapshot_date"] >= pd.Timestamp(since) if since
                   else frame["snapshot_date"] > pd.Timestamp(start))
            new = cut.to_numpy()
            if not new.any():
                if since:
                    raise DataError(f"drift data: no snapshot on or after --since {since}; choose an earlier date")
                new = np.ones(len(frame), dtype=bool)
                notes.append("no snapshot after the reference period: the whole data is the new window")
        codes = coding.result()
        judged = judged_periods(codes, score, y)
        refit = None
        if weight_drift:
            refit = pool.submit(_weight_drift, frame, y, score, p, config, judged, codes=codes,
                                recent_periods=recent_periods, n_boot=n_boot_weights, seed=seed,
                                ref_accounts=ref.n_accounts or ref.n, confidence=policy.weight_confidence,
                                boot_accounts=weight_boot_accounts)
        n_new_acc = codes.n_accounts(new)
        pop, band_tab, red_share = _population(frame, new, score[new], bands[new], config, ref, n_new_acc=n_new_acc,
                                               opts=opts, seed=seed)
        periods = _periods(frame, score, bands, p, y, config, codes=codes, judged=judged, n_boot=n_boot, seed=seed,
                           reference_end=ref.period_end)
        weights = None if refit is None else refit.result()
    trend = _trend(periods)
    label_free = _label_free(periods, config)
    val_auc = config.validation.auc.value if config.validation is not None else None
    findings = _findings(pop, red_share, trend, label_free, weights, val_auc, opts)
    levels = [VERDICTS.index(f.level) for f in findings]
    dates = frame.loc[new, "snapshot_date"]
    window = {"reference_start": ref.period_start, "reference_end": ref.period_end, "n_reference": ref.n,
              "n_reference_accounts": ref.n_accounts,
              "new_start": str(dates.min().date()), "new_end": str(dates.max().date()),
              "n_new": int(new.sum()), "n_new_accounts": n_new_acc, "effective_size": "accounts"}
    thresholds = {k: v for k, v in opts.items() if k not in {"n_sim"}}
    return DriftReport(
        verdict=VERDICTS[max(levels, default=0)], findings=tuple(findings), population=pop, bands=band_tab,
        red_share=red_share, periods=periods, trend=trend, label_free=label_free, weights=weights, window=window,
        thresholds=thresholds, seed=seed, notes=tuple(notes),
    )


def fit_reference_config(
    data: Accounts, *, train_until: str | None = None, n_boot: int = 1000, seed: int = 0
) -> WeightConfig:
    """Fit weights and build an unpublished config with its validation baseline and drift reference.

    What ``calibrate run`` writes, without publishing, reporting or MLflow — for notebooks,
    benchmarks and tests that need a reference config in memory.
    """
    from calibrate.fit.weights import fit_weights
    from calibrate.fit.draft import build_config
    from calibrate.validation.baseline import validation_baseline
    from calibrate.validation.separation import validate

    fit = fit_weights(data, train_until=train_until)
    draft = build_config(fit, data, seed=seed)
    train = data if train_until is None else data.subset(data.frame["snapshot_date"] <= pd.Timestamp(train_until))
    return draft.model_copy(update={"validation": validation_baseline(validate(train, draft, n_boot=n_boot, seed=seed)),
                                    "reference": build_reference(train, draft)})
