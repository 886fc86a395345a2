"""The parts of :func:`calibrate.drift.detect.detect_drift`: population, per-period performance, trend,
label-free estimate and weight drift, each returning plain tables/dicts for the report."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from calibrate import _stats
from calibrate.drift import signals as _drift
from calibrate.fit import heldout as _heldout
from calibrate.config.model import WeightConfig
from calibrate.errors import ConfigError
from calibrate.data.load import Accounts

__all__ = ["MIN_PERIOD_ROWS", "population_from_counts", "reference_bins", "weight_intervals"]

MIN_PERIOD_ROWS = 30
"""Periods with fewer rows (or one outcome class) are left out of the performance table."""


# ----------------------------------------------------------------------------------------------
def reference_bins(ref: Any, name: str) -> Any:
    """The reference's decile bins of dimension ``name``, refusing a config whose reference lacks them."""
    if name not in ref.dimensions:
        raise ConfigError(f"config reference has no bins for dimension {name!r}; refit the config with `calibrate run`")
    return ref.dimensions[name]


def _population(frame, new, score, bands, config, ref, *, n_new_acc, opts,
                seed) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    counts = {"score": _drift.variable_counts(score, ref.score)}  # of the new window's rows (mask ``new``)
    for d in config.dimensions:
        counts[d.name] = _drift.variable_counts(frame[d.name].to_numpy(dtype=float)[new], reference_bins(ref, d.name))
    band_counts = np.bincount(bands[bands >= 0], minlength=len(config.bands))
    return population_from_counts(counts, band_counts, config, ref, n_new_acc=n_new_acc, opts=opts, seed=seed)


def population_from_counts(counts: dict[str, tuple[np.ndarray, np.ndarray, float]], band_counts: np.ndarray,
                           config: WeightConfig, ref: Any, *, n_new_acc: int, opts: dict[str, Any],
                           seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The population table, band mix and red-share test from counts: ``counts`` maps ``"score"`` and each
    dimension to :func:`calibrate.drift.signals.variable_counts`' triple, ``band_counts`` the rows per band of the
    new window (the pandas path and the engine path, :mod:`calibrate.drift.engine`, share everything after)."""
    n_ref = ref.n_accounts or ref.n
    q = (opts["noise_quantile_watch"], opts["noise_quantile_recalibrate"])
    kw = dict(n_ref=n_ref, n_new=n_new_acc, quantiles=q, n_sim=opts["n_sim"], seed=seed, floor=opts["floor"])
    rows = [_drift.population_from_counts("score", *counts["score"], ref.score, ref.score_grid, **kw)]
    for d in config.dimensions:
        rows.append(_drift.population_from_counts(d.name, *counts[d.name], reference_bins(ref, d.name),
                                                  ref.dimension_grid.get(d.name), **kw))
    pop = pd.DataFrame(rows)
    pop.insert(2, "threshold_watch", np.maximum(opts["psi_watch"], pop["noise_watch"]))
    pop.insert(3, "threshold_recalibrate", np.maximum(opts["psi_recalibrate"], pop["noise_recalibrate"]))
    names = [b.name for b in config.bands]
    new_mix = np.asarray(band_counts, dtype=float) / max(int(np.sum(band_counts)), 1)
    ref_mix = np.array([ref.band_mix.get(b, 0.0) for b in names])
    band_tab = pd.DataFrame({"band": names, "reference": ref_mix, "new": new_mix, "change": new_mix - ref_mix})
    red = names.index(config.red_band)
    z = _stats.two_proportion_test(new_mix[red] * n_new_acc, n_new_acc, ref_mix[red] * n_ref, n_ref,
                                   alternative="two-sided")
    floor = opts["floor"]
    band_psi = _stats.psi(np.maximum(ref_mix, floor), np.maximum(new_mix, floor), floor=floor)
    band_noise = _stats.psi_noise_quantile(np.maximum(ref_mix, floor), n_ref, n_new_acc, q=q, n_sim=opts["n_sim"],
                                           seed=seed, floor=floor).tolist()
    red_share = {"band": config.red_band, "reference": float(ref_mix[red]), "new": float(new_mix[red]),
                 "change": float(new_mix[red] - ref_mix[red]), "pvalue": float(z.pvalue),
                 "band_psi": band_psi, "band_psi_noise_watch": band_noise[0], "band_psi_noise_recalibrate": band_noise[1]}
    return pop, band_tab, red_share


def _outcomes(frame: pd.DataFrame) -> np.ndarray:
    """0/1 outcome per row, NaN where not known yet."""
    from calibrate.data.load import parse_outcome

    out = np.full(len(frame), np.nan)
    if "renewed" not in frame:
        return out
    col = frame["renewed"]
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        v = col.to_numpy(dtype=float, na_value=np.nan)
        if np.isin(v[~np.isnan(v)], (0.0, 1.0)).all():
            return v
    known = col.notna().to_numpy()
    if known.any():
        out[known] = parse_outcome(col[known], "renewed", "<drift data>", is_churn=False).to_numpy(dtype=float)
    return out


class RowCodes(NamedTuple):
    """Each row's account (integers in sorted id order, as the fits and the engines number accounts) and period
    (integers in time order; -1 without a date), the period labels and each period's first and last snapshot date:
    computed once per drift run, shared by its parts."""

    accounts: np.ndarray
    periods: np.ndarray
    labels: list[str]
    first: np.ndarray
    last: np.ndarray

    def n_accounts(self, rows: np.ndarray) -> int:
        """Distinct accounts among ``rows`` (a boolean mask or row positions)."""
        return int(np.count_nonzero(np.bincount(self.accounts[rows])))


def row_codes(frame: pd.DataFrame, period: str) -> RowCodes:
    """The :class:`RowCodes` of ``frame`` with periods of pandas frequency ``period``."""
    dates, distinct = pd.factorize(frame["snapshot_date"], sort=True)  # few distinct dates: their periods, mapped
    of_date, labels = pd.factorize(pd.DatetimeIndex(distinct).to_period(period), sort=True)
    periods = np.where(dates >= 0, of_date[np.maximum(dates, 0)], -1) if len(of_date) else dates
    span = np.arange(len(labels))  # the distinct dates are sorted, so each period's are a run of them
    first = distinct.to_numpy()[np.searchsorted(of_date, span, side="left")]
    last = distinct.to_numpy()[np.searchsorted(of_date, span, side="right") - 1]
    return RowCodes(pd.factorize(frame["account_id"], sort=True)[0], periods, [str(u) for u in labels], first, last)


def judged_periods(codes: RowCodes, score: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether each period's outcomes can judge the score: at least :data:`MIN_PERIOD_ROWS` decided rows with a
    score, and both outcomes among them (the performance table's ``known``, and the periods the weights refit on)."""
    rows = ~np.isnan(score) & ~np.isnan(y) & (codes.periods >= 0)
    n = np.bincount(codes.periods[rows], minlength=len(codes.labels))
    k = np.bincount(codes.periods[rows], weights=y[rows], minlength=len(codes.labels))
    return (n >= MIN_PERIOD_ROWS) & (k > 0) & (k < n)


def _periods(frame, score, bands, p, y, config, *, codes, judged, n_boot, seed, reference_end) -> pd.DataFrame:
    from calibrate.validation.separation import validate_classes

    z = 1.959963984540054
    rows = []
    names = [b.name for b in config.bands]
    end = None if reference_end is None else np.datetime64(pd.Timestamp(reference_end))
    # rows of a period become one contiguous slice (a stable radix sort on small integer codes)
    small = np.int16 if len(codes.labels) < np.iinfo(np.int16).max else np.intp
    order = np.argsort(np.asarray(codes.periods).astype(small), kind="stable")
    bounds = np.searchsorted(codes.periods[order], np.arange(len(codes.labels) + 1))
    all_score, all_bands, all_p, all_y, all_accounts = score, bands, p, y, codes.accounts  # the loop names a period's
    for j, lab in enumerate(codes.labels):
        take = order[bounds[j] : bounds[j + 1]]  # ascending: these gathers walk the arrays forward
        score, bands, p, y, accounts = (a[take] for a in (all_score, all_bands, all_p, all_y, all_accounts))
        # then by score within the period's own (cache-sized) arrays: the AUCs' stable sorts find them sorted; ties in
        # any fixed order (every figure sums over them)
        by_score = np.argsort(score)
        score, bands, p, y, accounts = (a[by_score] for a in (score, bands, p, y, accounts))
        has = ~np.isnan(score)
        decided = has & ~np.isnan(y)
        n_has, n_known = int(has.sum()), int(decided.sum())
        m, known = (slice(None) if n == len(score) else mask for n, mask in ((n_has, has), (n_known, decided)))
        yk = y[known]  # (every row, the usual case: views, not copies)
        row: dict[str, Any] = {
            "period": lab, "start": str(pd.Timestamp(codes.first[j]).date()),
            "n": n_has, "n_accounts": codes.n_accounts(take[by_score][m]),
            "n_known": n_known,
            "in_reference": bool(end is not None and codes.last[j] <= end),
            "expected_auc": _drift.expected_auc(score[m], p[m]),
        }
        ok = bool(judged[j])
        row["known"] = ok
        vals = {"auc": math.nan, "auc_se": math.nan, "auc_ci_low": math.nan, "auc_ci_high": math.nan,
                "spread": math.nan, "spread_ci_low": math.nan, "spread_ci_high": math.nan}
        if ok:
            kf = pd.DataFrame({"account_id": accounts[known], "renewed": yk.astype(int)})
            v = validate_classes(kf, bands[known], config.bands, red_band=config.red_band, score=score[known],
                                 p=p[known], n_boot=n_boot, seed=seed, red_metrics=False, diagnostics=False)
            # DeLong's interval is value ± z·se (clipped to [0, 1] only on one side, if at all)
            se = max(v.auc_ci[1] - v.auc, v.auc - v.auc_ci[0]) / z
            vals = {"auc": v.auc, "auc_se": se, "auc_ci_low": v.auc_ci[0], "auc_ci_high": v.auc_ci[1],
                    "spread": v.spread, "spread_ci_low": v.spread_ci[0], "spread_ci_high": v.spread_ci[1]}
            for b in v.bands:
                vals[f"rate_{b.name}"] = math.nan if b.renewal_rate is None else b.renewal_rate
                vals[f"rate_{b.name}_ci_low"] = math.nan if b.ci_low is None else b.ci_low
                vals[f"rate_{b.name}_ci_high"] = math.nan if b.ci_high is None else b.ci_high
        row.update(vals)
        banded = bands >= 0  # rows with a score have a band
        sums = np.bincount(bands[banded], weights=p[banded], minlength=len(names))
        cnt = np.bincount(bands[banded], minlength=len(names))
        for k, name in enumerate(names):
            row[f"expected_rate_{name}"] = float(sums[k] / cnt[k]) if cnt[k] else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _trend(periods: pd.DataFrame, confidence: float = 0.95) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    known = periods[periods["known"]] if len(periods) else periods
    z = 1.959963984540054
    for stat in ("auc", "spread"):
        if len(known) < 3:
            continue
        v = known[stat].to_numpy(dtype=float)
        se = (known["auc_se"].to_numpy(dtype=float) if stat == "auc"
              else (known["spread_ci_high"] - known["spread_ci_low"]).to_numpy(dtype=float) / (2 * z))
        ok = np.isfinite(v) & np.isfinite(se) & (se > 0)
        if ok.sum() < 3:
            continue
        t = _stats.logistic_trend(v[ok], se[ok], confidence=confidence, alternative="decreasing")
        out[stat] = {"slope": t.slope, "se": t.se, "ci_low": t.ci_low, "ci_high": t.ci_high, "pvalue": t.pvalue,
                     "n_periods": int(ok.sum())}
    return out


def _label_free(periods: pd.DataFrame, config: WeightConfig) -> dict[str, float]:
    if not len(periods):
        return {}
    known = periods[periods["known"]]
    unknown = periods[~periods["known"]]
    out = {"n_periods_known": int(len(known)), "n_periods_estimated": int(len(unknown))}
    if len(known):
        err = (known["expected_auc"] - known["auc"]).to_numpy(dtype=float)
        out["auc_error_mean"] = float(np.nanmean(err))
        out["auc_error_max_abs"] = float(np.nanmax(np.abs(err)))
        rate_err = [np.abs(known[f"expected_rate_{b.name}"] - known.get(f"rate_{b.name}", np.nan)).to_numpy(dtype=float)
                    for b in config.bands if f"rate_{b.name}" in known]
        flat = np.concatenate(rate_err) if rate_err else np.array([np.nan])
        out["band_rate_error_max_abs"] = float(np.nanmax(flat)) if np.isfinite(flat).any() else math.nan
    if len(unknown):
        out["expected_auc_latest"] = float(unknown["expected_auc"].iloc[-1])
    return out


def weight_intervals(iv: Any, config: WeightConfig, *, n_accounts: int, ref_accounts: int,
                     confidence: float) -> dict[str, Any]:
    """The refit's simultaneous intervals from its bootstrap draws (``iv``, a
    :class:`~calibrate.fit.bootstrap.WeightIntervals`) and which current weights fall outside: Bonferroni over the
    dimensions, widened by ``sqrt(1 + accounts_new / accounts_reference)`` (the pandas and the engine paths)."""
    names = [d.name for d in config.dimensions]
    boot = iv.draws[np.isfinite(iv.draws).all(axis=1)]
    k = len(names)
    alpha = (1.0 - confidence) / k
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    widen = math.sqrt(1.0 + n_accounts / max(ref_accounts, 1))  # the current weights carry fitting noise too
    refit = np.array([iv.weights[n] for n in names])
    lo = np.clip(refit - widen * (refit - lo), 0.0, 1.0)
    hi = np.clip(refit + widen * (hi - refit), 0.0, 1.0)
    cur = np.array([config.weights[n] for n in names])
    return dict(
        refit={n: float(v) for n, v in zip(names, refit)},
        ci_low={n: float(v) for n, v in zip(names, lo)},
        ci_high={n: float(v) for n, v in zip(names, hi)},
        outside={n: bool(c < l or c > h) for n, c, l, h in zip(names, cur, lo, hi)},
        n_boot=int(boot.shape[0]), confidence=confidence, widen=widen, n_accounts=n_accounts,
        accounts_per_resample=iv.accounts_per_resample,
        method=f"{iv.method} of the simplex fit (calibrate.bootstrap_weights), Bonferroni over dimensions, "
               "widened by sqrt(1 + accounts_new / accounts_reference) for the current weights' own noise",
    )


def _weight_drift(frame, y, score, p, config, judged, *, codes, recent_periods, n_boot, seed, ref_accounts,
                  confidence, boot_accounts=None) -> dict | None:
    from calibrate.errors import FitError
    from calibrate.fit.simplex import link_theta
    from calibrate.fit.weights import fit_arrays
    from calibrate.fit.bootstrap import bootstrap_weights

    known_periods = [lab for lab, ok in zip(codes.labels, judged) if ok]
    if len(known_periods) < 1:
        return None
    recent = known_periods[-recent_periods:]
    def in_periods(labels: list[str]) -> np.ndarray:  # rows whose period label is in labels (undated rows: none)
        wanted = np.zeros(len(codes.labels) + 1, dtype=bool)  # a lookup per period code; the last entry is code -1
        wanted[[j for j, u in enumerate(codes.labels) if u in labels]] = True
        return wanted[codes.periods]

    names = [d.name for d in config.dimensions]
    known = ~np.isnan(y)
    rec = known & in_periods(recent)  # every row the refits and the gain use: only these are copied
    # the window's sub-scores the healthy way round; accounts as their integer codes (the fits need only their
    # equality and order, sorted ids); no dates: the fits and the bootstrap read none
    healthy = _drift.healthy_matrix(frame.loc[rec, names], config)  # the fits' rows; the bootstrap's as a frame
    base = pd.DataFrame(healthy, columns=names).assign(account_id=codes.accounts[rec], renewed=y[rec].astype(int))
    window = Accounts(frame=base, dimensions=tuple(names), source="<drift window>", sha256="")
    out: dict[str, Any] = {"window": recent, "n": int(rec.sum()), "current": dict(config.weights)}
    cal = config.calibration  # the config's link is the natural start: the window's optimum is near it unless drifted
    start = (link_theta(cal.intercept, cal.slope, [config.weights[n] for n in names])
             if cal is not None and cal.slope > 0 else None)
    try:  # the full fit and its account bootstrap (m-out-of-n above boot_accounts accounts)
        full = fit_arrays(healthy, y[rec], tuple(names), groups=codes.accounts[rec], start=start)
        iv = bootstrap_weights(window, n_boot=n_boot, seed=seed, accounts_per_resample=boot_accounts, full_fit=full)
    except FitError as exc:
        out["skipped"] = str(exc)
        return out
    out.update(weight_intervals(iv, config, n_accounts=codes.n_accounts(rec),
                                ref_accounts=ref_accounts, confidence=confidence))
    if len(recent) >= 2:  # out of time: fit on the earlier recent periods, judge on the latest
        train = known & in_periods(recent[:-1])
        test = known & in_periods(recent[-1:])
        try:  # from the window's optimum: the earlier periods' is near it
            early = fit_arrays(healthy[train[rec]], y[train], tuple(names), groups=codes.accounts[train],
                               start=link_theta(full.intercept, full.slope, [full.weights[n] for n in names]))
        except FitError as exc:
            out["gain_skipped"] = str(exc)
            return out
        xt = healthy[test[rec]]
        yt = y[test]
        w_new = np.array([early.weights[n] for n in names])
        s_new = xt @ w_new
        p_new = 1.0 / (1.0 + np.exp(-(early.intercept + early.slope * s_new)))
        s_cur, p_cur = score[test], p[test]  # the current config's scores of detect_drift
        d = _heldout.row_log_loss(yt, p_cur) - _heldout.row_log_loss(yt, p_new)
        ll, ll_lo, ll_hi = _drift.clustered_mean(d, codes.accounts[test])
        pa = _stats.delong_paired(yt.astype(int), s_new, s_cur)
        p_one = pa.pvalue / 2 if pa.diff > 0 else 1 - pa.pvalue / 2
        out["gain"] = {"train": recent[:-1], "test": recent[-1], "n_test": int(test.sum()),
                       "log_loss": ll, "log_loss_ci_low": ll_lo, "log_loss_ci_high": ll_hi,
                       "auc": pa.diff, "auc_ci_low": pa.ci_low, "auc_ci_high": pa.ci_high, "auc_pvalue": p_one}
    return out


