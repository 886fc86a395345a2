"""The quarterly recalibration, end to end: fit → validate → export → track → report.

:func:`recalibrate` is what ``calibrate run`` calls; notebooks call it too. Everything is
computed before anything is written; the config is then published atomically (never over an
existing version), the report written beside it, and both logged to MLflow with the figures.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from calibrate.config.model import (
    WeightConfig,
    atomic_write_text,
    config_path,
    default_dirs,
    next_version,
    utc_now,
    write_config,
)
from calibrate.data.load import Accounts
from calibrate.data.spec_load import RawInput
from calibrate.drift.detect import build_reference
from calibrate.errors import VersionExistsError
from calibrate.fit.draft import build_config
from calibrate.fit.weights import FitResult, fit_weights
from calibrate.validation.baseline import validation_baseline
from calibrate.validation.separation import Validation, validate

if TYPE_CHECKING:
    from calibrate.compare.champion import ChampionChallenger
    from calibrate.drift.detect import DriftReport
    from calibrate.fit.bootstrap import WeightIntervals
    from calibrate.compare.methods import Leaderboard
    from calibrate.compare.segments import SegmentTests
    from calibrate.fit.segments import SegmentFit
    from calibrate.validation.redbook import RedBook

__all__ = ["RunResult", "recalibrate"]


@dataclass(frozen=True)
class RunResult:
    """What a recalibration produced and where it went."""

    config: WeightConfig
    config_path: Path
    report_path: Path
    mlflow_run_id: str
    fit: FitResult
    validation: Validation
    current: WeightConfig | None = None
    current_validation: Validation | None = None
    leaderboard: Leaderboard | None = None
    champion: ChampionChallenger | None = None
    drift: DriftReport | None = None
    weight_intervals: WeightIntervals | None = None
    segments: SegmentFit | None = None
    segment_tests: SegmentTests | None = None

    @property
    def red_metrics(self) -> RedBook | None:
        """The red book of the new config on the run's data (share in red, save rate, lead time...)."""
        return self.validation.red

    @property
    def predictive(self) -> bool:
        """The new score separates renewals: the gate's default checks hold (contract §4: spread's
        interval above 0, bands monotone, ordered trend significant; :func:`calibrate.check`)."""
        from calibrate.validation.gate import check

        return check(self.validation).passed

    def verdict(self) -> str:
        """One sentence a CS leader can repeat: does the score predict churn, top vs red band, what to do.

        E.g. "The score predicts churn: green renews 98 % [97–98], red 55 % [53–58]; recommendation:
        adopt v2 (log-loss improves ...)." Rates are the new config's on the run's data with 95 % Wilson
        intervals; with a current config the champion/challenger test on later data decides adopt or keep.
        """
        v = self.validation
        top, red = v.bands[-1], next(b for b in v.bands if b.name == v.red_band)

        def rate(b: Any, verb: str) -> str:
            if b.renewal_rate is None:
                return f"{b.name} has no accounts"
            return f"{b.name}{verb} {100 * b.renewal_rate:.0f} % [{100 * b.ci_low:.0f}–{100 * b.ci_high:.0f}]"

        new = f"v{self.config.version}"
        if not self.predictive:
            head, advice = "The score does NOT reliably predict churn", f"do not adopt {new}; review the dimensions"
        elif self.current is None or self.current_validation is None:
            head, advice = "The score predicts churn", f"adopt {new}"
        else:
            cur = f"v{self.current.version}"
            head = "The score still predicts churn"
            if self.champion is not None:  # the out-of-time champion/challenger test decides
                adopt = self.champion.decision == "adopt"
                advice = f"adopt {new}" if adopt else f"keep {cur}"
                advice += f" ({self.champion.reasons[0]})" if self.champion.reasons else ""
            else:
                old_auc = self.current_validation.auc
                advice = (f"adopt {new} (AUC {v.auc:.2f} vs {old_auc:.2f} for {cur})" if v.auc > old_auc
                          else f"keep {cur} ({new} is no better: AUC {v.auc:.2f} vs {old_auc:.2f})")
        return f"{head}: {rate(top, ' renews')}, {rate(red, '')}; recommendation: {advice}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe result with the keys of contract.md §3 (``calibrate run --json``)."""
        return {
            "config_path": str(self.config_path),
            "version": self.config.version,
            "parent_version": self.config.parent_version,
            "weights": self.config.weights,
            **({"segment_weights": self.config.segment_weights,
                "segments": None if self.segments is None else self.segments.to_dict(),
                "segment_tests": None if self.segment_tests is None else self.segment_tests.to_dict()}
               if self.config.segments is not None else {}),
            "report_path": str(self.report_path),
            "mlflow_run_id": self.mlflow_run_id,
            "predictive": self.predictive,
            "verdict": self.verdict(),
            "validation": self.validation.to_dict(),
            "current_validation": None if self.current_validation is None else self.current_validation.to_dict(),
            "recommendation": None if self.champion is None else self.champion.to_dict(),
            "leaderboard": None if self.leaderboard is None else self.leaderboard.to_dict(),
            "drift": None if self.drift is None else self.drift.to_dict(),
            "weight_intervals": None if self.weight_intervals is None else self.weight_intervals.to_dict(),
        }

    def summary(self) -> str:
        """The short text summary ``calibrate run`` prints."""
        weights = "  ".join(f"{k} {w:.3f}" for k, w in self.config.weights.items())
        return "\n".join(
            [
                f"new config {self.config.name} v{self.config.version}"
                + (f" (replaces v{self.config.parent_version})" if self.config.parent_version else ""),
                f"weights: {weights}",
                *([] if self.segments is None else [self.segments.summary()]),
                self.validation.summary(),
                *([] if self.segment_tests is None else [self.segment_tests.summary()]),
                *([] if self.leaderboard is None else [self.leaderboard.summary()]),
                *([] if self.champion is None else [self.champion.summary()]),
                *([] if self.drift is None else [self.drift.summary()]),
                self.verdict(),
                f"config:  {self.config_path}",
                f"report:  {self.report_path}",
                f"mlflow:  run {self.mlflow_run_id}",
            ]
        )

    def to_frame(self) -> pd.DataFrame:
        """The new config's band table on the run's data (lowest band first)."""
        return self.validation.to_frame()

    def plot(self, ax: Any = None) -> Any:
        """The new weights beside the current ones (with bootstrap intervals when computed); returns the Axes."""
        from calibrate.plots import plot_weights

        weights = {"new": self.config.weights}
        if self.current is not None:
            weights = {f"current v{self.current.version}": self.current.weights, **weights}
        intervals = None
        if self.weight_intervals is not None:
            wi = self.weight_intervals
            intervals = {"new": {d: (wi.low[d], wi.high[d]) for d in self.config.weights}}
        return plot_weights(weights, ax=ax, intervals=intervals)

    def _repr_html_(self) -> str:
        from calibrate._html import result_html

        return result_html(self, self.validation.to_frame(), headline=self.verdict())

    def __repr__(self) -> str:
        return f"<RunResult {self.config!r} -> {self.config_path}>"


def recalibrate(
    data: Accounts,
    *,
    current: WeightConfig | None = None,
    seed: int = 0,
    n_boot: int = 2000,
    train_until: str | None = None,
    name: str | None = None,
    configs_dir: str | os.PathLike[str] | None = None,
    reports_dir: str | os.PathLike[str] | None = None,
    mlflow_dir: str | os.PathLike[str] | None = None,
    fit_options: Mapping[str, Any] | None = None,
    command: str = "run",
    n_boot_weights: int = 200,
    raw_input: RawInput | None = None,
    by_segment: str | None = None,
    pooling: str = "auto",
) -> RunResult:
    """Run the quarterly recalibration and publish its config, report and MLflow run.

    Parameters
    ----------
    data : Accounts
        Snapshots with known outcomes.
    current : WeightConfig, optional
        The config in production; the new one inherits its columns and bands and is compared with it.
    seed : int, default 0
        Seed of every resampling step; same data + same seed ⇒ the same weights and figures.
    n_boot : int, default 2000
        Bootstrap resamples for intervals.
    train_until : str, optional
        Fit on snapshots up to this ISO date only.
    name : str, optional
        Config name (file ``<name>-v<version>.json``); default the current config's name, else
        ``"account-health"``.
    configs_dir, reports_dir, mlflow_dir : path, optional
        Override :func:`default_dirs`.
    fit_options : dict, optional
        Options of :func:`calibrate.fit_weights` (method, floor, cap, fixed, stability, on_negative...);
        recorded in the config's provenance. The current config's directions apply unless given.
    command : str, default "run"
        The command recorded in the MLflow run's tags (``run`` or ``fit``).
    n_boot_weights : int, default 200
        Account-level refits for the weights' intervals (and the drift's weight refit).
    raw_input : RawInput, optional
        The data came through a project spec (:func:`calibrate.data.spec_load.load_with_spec`): the config is
        re-pointed at the raw columns with the fitted transforms, and the input's record kept in its provenance.
    by_segment : str, optional
        Also fit per-segment weights on this column, pooled toward the global ones
        (:func:`calibrate.fit.segments.fit_segments`); the config holds both, and the run adds each segment's
        figures and its out-of-time segment-vs-global test (:func:`calibrate.compare.segments.segment_tests`).
    pooling : {"auto", "none", "full"}, default "auto"
        How strongly segment weights are pulled toward the global ones (``by_segment`` only).

    The run also puts the new weights on a methods leaderboard on held-out data, and with a
    current config runs the champion/challenger test (its decision is the recommendation) and,
    when the current config carries a reference, drift detection.

    Returns
    -------
    RunResult

    Raises
    ------
    CalibrateError
        Bad data, a fit the data cannot support, or a version that already exists.
    """
    from calibrate.compare.champion import compare_with_current
    from calibrate.drift.detect import detect_drift
    from calibrate.fit.bootstrap import bootstrap_weights
    from calibrate.publish.registry import register_scorer
    from calibrate.report.html import run_report
    from calibrate.publish.track import log_results, mlflow_run

    name = name or (current.name if current is not None else "account-health")
    dirs = default_dirs()
    configs = Path(configs_dir) if configs_dir is not None else dirs["configs"]
    reports = Path(reports_dir) if reports_dir is not None else dirs["reports"]
    store = Path(mlflow_dir) if mlflow_dir is not None else dirs["mlflow"]

    from calibrate import _progress as progress

    options = dict(fit_options or {})
    if current is not None and "directions" not in options:
        options["directions"] = {d.name: d.direction for d in current.dimensions}
    with progress.step(f"fitting weights on {len(data):,} rows"):
        fit = fit_weights(data, train_until=train_until, **options)
    draft = build_config(fit, data, name=name, template=current, seed=seed)
    segment_fit = segment_figures = None
    if by_segment is not None:
        from calibrate.fit.segments import fit_segments, with_segments

        with progress.step(f"segment weights by {by_segment!r} (pooling {pooling})"):
            segment_fit = fit_segments(data, fit, column=by_segment, pooling=pooling, train_until=train_until,
                                       seed=seed)
            draft = with_segments(draft, segment_fit, data)
    with progress.step(f"validating ({n_boot:,} bootstrap resamples of {data.n_accounts:,} accounts)"):
        validation = validate(data, draft, n_boot=n_boot, seed=seed)
        current_validation = validate(data, current, n_boot=n_boot, seed=seed) if current else None
    intervals = None
    if fit.method == "simplex":  # the bootstrap refits the simplex model (the logit path has its own CIs)
        boot_options = {k: v for k, v in options.items() if k not in {"seed", "train_until", "method"}}
        with progress.step(f"weight intervals ({n_boot_weights:,} account-level refits)"):
            intervals = bootstrap_weights(data, n_boot=n_boot_weights, seed=seed, train_until=train_until,
                                          **boot_options)
    with progress.step("methods leaderboard and champion/challenger on held-out data"):
        board, champion = compare_with_current(data, draft, current, seed=seed, n_boot=min(n_boot, 1000))
    if segment_fit is not None:
        from calibrate.compare.segments import segment_tests

        with progress.step("per-segment figures and segment vs global weights out of time"):
            segment_figures = segment_tests(data, draft, fit_options=options, pooling=pooling,
                                            n_boot=min(n_boot, 1000), seed=seed)
    drift = None
    if current is not None and current.reference is not None:
        with progress.step("drift since the current config's reference"):
            drift = detect_drift(data, current, seed=seed, n_boot=min(n_boot, 1000), n_boot_weights=n_boot_weights)

    version = next_version(configs, name)
    if current is not None and current.name == name:
        version = max(version, current.version + 1)  # a new version always supersedes its parent
    parent = current.version if current else (version - 1 or None)
    target = config_path(configs, name, version)
    if target.exists():  # pragma: no cover - next_version never returns an existing one
        raise VersionExistsError(f"{target}: already published")
    report_path = reports / f"{name}-v{version}" / "report.html"

    with progress.step("publishing the config and logging to MLflow"), \
            mlflow_run(store, run_name=f"{name}-v{version}", tags={"calibrate.command": command}) as run:
        run_id = run.info.run_id
        assert draft.provenance is not None
        config = draft.model_copy(
            update={
                "version": version,
                "parent_version": parent,
                "provenance": draft.provenance.model_copy(update={"mlflow_run_id": run_id}),
                "validation": validation_baseline(validation if train_until is None else validate(
                    data.subset(data.frame["snapshot_date"] <= pd.Timestamp(train_until)), draft,
                    n_boot=n_boot, seed=seed, red_metrics=False)),
                "reference": build_reference(data, draft, until=train_until),
                "created_at": utc_now(),
            }
        )
        config = (config if raw_input is None else raw_input.attach(config)).sealed()
        result = RunResult(
            config=config, config_path=target, report_path=report_path, mlflow_run_id=run_id, fit=fit,
            validation=validation, current=current, current_validation=current_validation,
            leaderboard=board, champion=champion, drift=drift, weight_intervals=intervals,
            segments=segment_fit, segment_tests=segment_figures,
        )
        html = run_report(result, data)
        written = write_config(config, configs)
        register_scorer(written, mlflow_dir=store)  # the new config becomes alias "challenger"
        atomic_write_text(report_path, html)
        params = {**{f"fit_{k}": v for k, v in fit.options.items() if k != "stability_grid"},
                  "method": fit.method, "seed": seed, "n_boot": n_boot, "train_until": train_until,
                  "rows": fit.n, "accounts": fit.n_accounts, "data_sha256": data.sha256, "version": version}
        metrics = {f"weight_{k}": w for k, w in config.weights.items()}
        if champion is not None:
            metrics |= {"challenger_log_loss_gain": champion.log_loss_gain[0], "challenger_auc_diff": champion.auc_diff[0]}
        metrics |= {"auc": validation.auc, "spread": validation.spread, "spread_ci_low": validation.spread_ci[0],
                    "spread_ci_high": validation.spread_ci[1], "brier": validation.brier}
        log_results(params, metrics, [written, report_path])
    return result
