"""The quarterly recalibration, end to end: fit → validate → export → track → report.

:func:`recalibrate` is what ``calibrate run`` calls; notebooks call it too. Everything is
computed before anything is written. The publish is then one transaction
(:mod:`calibrate.publish.transaction`): under the publish lock it takes the next number of the
version line, stages the config, the report and the MLflow run (figures, the meeting's decision,
the training data's digest and schema), registers the scorer and makes the config visible last;
a failure rolls everything back. A rerun whose content equals the latest published version
publishes nothing, and ``dry_run`` computes and writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from calibrate.config.model import WeightConfig, config_path, read_config, utc_now
from calibrate.data.load import Accounts
from calibrate.data.spec_load import RawInput
from calibrate.drift.detect import build_reference
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
    config_path: Path | None
    report_path: Path | None
    mlflow_run_id: str | None
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
    status: Literal["published", "identical", "dry-run"] = "published"
    """``published`` (a new version), ``identical`` (same content as ``config``, the latest version:
    nothing published) or ``dry-run`` (``config`` is what would be published; nothing written)."""
    mlflow_dir: Path | None = None
    notes: tuple[str, ...] = ()
    """What the publish cleaned up on its way in (interrupted publishes rolled back or finished)."""

    @property
    def decision(self) -> str:
        """``adopt`` / ``keep`` when a current config was compared, ``none`` when there was none to compare."""
        if self.current is None or self.current_validation is None:
            return "none"
        if self.champion is not None:
            return "adopt" if self.champion.decision == "adopt" else "keep"
        return "adopt" if self.validation.auc > self.current_validation.auc else "keep"

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
        elif self.decision == "none":
            head, advice = "The score predicts churn", "no current config to compare"
        else:
            assert self.current is not None and self.current_validation is not None
            cur = f"v{self.current.version}"
            head = "The score still predicts churn"
            adopt = self.decision == "adopt"
            if self.champion is not None:  # the out-of-time champion/challenger test decides
                advice = f"adopt {new}" if adopt else f"keep {cur}"
                advice += f" ({self.champion.reasons[0]})" if self.champion.reasons else ""
            else:
                old_auc = self.current_validation.auc
                advice = (f"adopt {new} (AUC {v.auc:.2f} vs {old_auc:.2f} for {cur})" if adopt
                          else f"keep {cur} ({new} is no better: AUC {v.auc:.2f} vs {old_auc:.2f})")
        return f"{head}: {rate(top, ' renews')}, {rate(red, '')}; recommendation: {advice}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe result with the keys of contract.md §3 (``calibrate run --json``)."""
        return {
            "config_path": None if self.config_path is None else str(self.config_path),
            "version": self.config.version,
            "parent_version": self.config.parent_version,
            "weights": self.config.weights,
            **({"segment_weights": self.config.segments.weights,
                "segments": None if self.segments is None else self.segments.to_dict(),
                "segment_tests": None if self.segment_tests is None else self.segment_tests.to_dict()}
               if self.config.segments is not None else {}),
            "report_path": None if self.report_path is None else str(self.report_path),
            "mlflow_run_id": self.mlflow_run_id,
            "mlflow_dir": None if self.mlflow_dir is None else str(self.mlflow_dir),
            "status": self.status,
            "published": self.status == "published",
            "decision": self.decision,
            "notes": list(self.notes),
            "predictive": self.predictive,
            "verdict": self.verdict(),
            "headline": self.headline(),
            "validation": self.validation.to_dict(),
            "current_validation": None if self.current_validation is None else self.current_validation.to_dict(),
            "recommendation": None if self.champion is None else self.champion.to_dict(),
            "leaderboard": None if self.leaderboard is None else self.leaderboard.to_dict(),
            "drift": None if self.drift is None else self.drift.to_dict(),
            "weight_intervals": None if self.weight_intervals is None else self.weight_intervals.to_dict(),
        }

    def headline(self) -> str:
        """The verdict and, when drift was checked, what it found and why: the first line of the CLI and the
        report's first box (e.g. "... recommendation: adopt v2 (...). Drift: recalibrate — engagement moved
        down 11 points on average (...).")."""
        parts = [self.verdict(), *([] if self.drift is None else [self.drift.headline()])]
        if self.status == "identical":
            parts.append(f"Identical to v{self.config.version}; nothing published.")
        elif self.status == "dry-run":
            parts.append("Dry run: nothing written.")
        return " ".join(parts)

    def summary(self, *, verbose: bool = False) -> str:
        """The text ``calibrate run`` prints: the headline first, then what the meeting needs; ``verbose``
        adds the statistical detail (every test, the leaderboard, the drift tables)."""
        from calibrate.report.text import run_text

        return run_text(self, verbose=verbose)

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

        return result_html(self, self.validation.to_frame(), headline=self.headline())

    def __repr__(self) -> str:
        return f"<RunResult {self.config!r} -> {self.config_path}>"


def _meeting_record(result: RunResult) -> tuple[dict[str, str], dict[str, float], str]:
    """What the meeting decides, for the MLflow run (tags, metrics) and the registry version's description."""
    tags = {"calibrate.decision": result.decision, "calibrate.verdict": result.verdict()}
    metrics: dict[str, float] = {}
    lines = [f"{result.config.name} v{result.config.version}" + (
        f" (replaces v{result.config.parent_version})" if result.config.parent_version else ""), result.verdict()]
    if result.champion is not None:
        c = result.champion
        gain, diff = c.log_loss_gain, c.auc_diff
        metrics |= {"challenger_log_loss_gain": gain[0], "challenger_log_loss_gain_ci_low": gain[1],
                    "challenger_log_loss_gain_ci_high": gain[2], "challenger_auc_diff": diff[0],
                    "challenger_auc_diff_ci_low": diff[1], "challenger_auc_diff_ci_high": diff[2]}
        tags["calibrate.decision_reasons"] = "; ".join(c.reasons)
        lines.append(f"decision: {result.decision} (log-loss gain per row {gain[0]:+.4f} [{gain[1]:+.4f}, "
                     f"{gain[2]:+.4f}]; AUC difference {diff[0]:+.3f} [{diff[1]:+.3f}, {diff[2]:+.3f}])")
    else:
        lines.append(f"decision: {result.decision}" + (" (no current config to compare)"
                                                        if result.decision == "none" else ""))
    if result.drift is not None:
        psi = result.drift.psi()
        metrics |= {"psi_score": psi["score"], **{f"psi_{k}": v for k, v in psi["dimensions"].items()}}
        tags |= {"calibrate.drift_verdict": result.drift.verdict,
                 "calibrate.drift_reasons": "; ".join(result.drift.reasons)}
        lines.append(f"drift: {result.drift.verdict}" + "".join(f"\n  - {r}" for r in result.drift.reasons))
        lines.append("PSI: " + ", ".join(f"{k} {v:.3f}" for k, v in {"score": psi["score"], **psi["dimensions"]}.items()
                                         if v is not None))
    return tags, {k: v for k, v in metrics.items() if v is not None}, "\n".join(lines)


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
    dry_run: bool = False,
    include_accounts: bool = False,
    by_segment: str | None = None,
    pooling: str | None = None,
    learned_rows: bool = False,
) -> RunResult:
    """Run the quarterly recalibration and publish its config, report and MLflow run as one transaction.

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
        Override :func:`calibrate.config.model.default_dirs` (the project root's stores).
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
    dry_run : bool, default False
        Compute everything and return what would be published; write nothing.
    include_accounts : bool, default False
        The report also lists the red accounts to act on (account rows, under a banner).
    by_segment : str, optional
        Also fit per-segment weights on this column, pooled toward the global ones
        (:func:`calibrate.fit.segments.fit_segments`); the config holds both, and the run adds each segment's
        figures and its out-of-time segment-vs-global test (:func:`calibrate.compare.segments.segment_tests`).
    pooling : {"auto", "none", "full"}, optional
        How strongly segment weights are pulled toward the global ones (``by_segment`` only; default ``"auto"``).
    learned_rows : bool, default False
        Also put the rows that judge the sub-scores on the leaderboard (free logit, the simplex on learned
        sub-scores, the additive ceiling; :func:`calibrate.compare.methods.leaderboard`). ``calibrate fit`` does;
        the quarterly run's question is the weights, and the rows cost a joint binned and a gradient-boosting fit
        per fold (issue 19).

    The run also puts the new weights on a methods leaderboard on held-out data, and with a
    current config runs the champion/challenger test (its decision is the recommendation) and,
    when the current config carries a reference, drift detection. The version is one more than
    the highest recorded anywhere (:func:`calibrate.publish.versions.version_line`); when the
    content equals the latest published version apart from the envelope, nothing is published
    (``status == "identical"``).

    Returns
    -------
    RunResult

    Raises
    ------
    CalibrateError
        Bad data, a fit the data cannot support, another publish holding the lock
        (:class:`~calibrate.publish.lock.PublishLockedError`), or a publish that failed and was
        rolled back (:class:`~calibrate.publish.transaction.PublishError`).
    """
    from calibrate.compare.champion import compare_with_current
    from calibrate.drift.detect import detect_drift
    from calibrate.fit.bootstrap import bootstrap_weights
    from calibrate.publish.track import training_dataset
    from calibrate.publish.transaction import Stores, publish_session
    from calibrate.report.html import run_report

    if pooling is not None and by_segment is None:
        from calibrate.errors import FitError

        raise FitError("pooling applies to segment weights only; add --by-segment COLUMN or drop --pooling")
    pooling = pooling or "auto"
    name = name or (current.name if current is not None else "account-health")
    stores = Stores.resolve(configs_dir, reports_dir, mlflow_dir)

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
            # the fit above is reused (not refitted); from NEWTON_ACCOUNTS accounts on each resample is one
            # Newton step from it (calibrate.fit.bootstrap), not a refit
            intervals = bootstrap_weights(data, n_boot=n_boot_weights, seed=seed, train_until=train_until,
                                          full_fit=fit, **boot_options)
    with progress.step("methods leaderboard and champion/challenger on held-out data"):
        # the global weights; segment weights are judged per segment, refitted on the earlier side (segment_tests)
        board, champion = compare_with_current(data, draft.model_copy(update={"segments": None}), current, seed=seed,
                                               n_boot=min(n_boot, 1000), learned_rows=learned_rows)
    if segment_fit is not None:
        from calibrate.compare.segments import segment_tests

        with progress.step("per-segment figures and segment vs global weights out of time"):
            segment_figures = segment_tests(data, draft, fit_options=options, pooling=pooling,
                                            n_boot=min(n_boot, 1000), seed=seed)
    drift = None
    if current is not None and current.reference is not None:
        with progress.step("drift since the current config's reference"):
            drift = detect_drift(data, current, seed=seed, n_boot=min(n_boot, 1000), n_boot_weights=n_boot_weights)
    body = draft.model_copy(update={
        "validation": validation_baseline(validation if train_until is None else validate(
            data.subset(data.frame["snapshot_date"] <= pd.Timestamp(train_until)), draft,
            n_boot=n_boot, seed=seed, red_metrics=False)),
        "reference": build_reference(data, draft, until=train_until),
    })
    if raw_input is not None:  # re-pointed at the raw columns with their fitted transforms
        body = raw_input.attach(body)

    def result_for(config: WeightConfig, status: str, **where: Any) -> RunResult:
        return RunResult(config=config, fit=fit, validation=validation, current=current,
                         current_validation=current_validation, leaderboard=board, champion=champion, drift=drift,
                         weight_intervals=intervals, segments=segment_fit, segment_tests=segment_figures,
                         status=status,  # type: ignore[arg-type]
                         **{"config_path": None, "report_path": None, "mlflow_run_id": None,
                            "mlflow_dir": stores.mlflow, **where})

    def envelope(line: Any, version: int, run_id: str | None) -> WeightConfig:
        parent = current.version if current is not None else (line.published[-1] if line.published else None)
        assert body.provenance is not None
        return body.model_copy(update={
            "version": version, "parent_version": parent, "created_at": utc_now(),
            "provenance": body.provenance.model_copy(update={"mlflow_run_id": run_id}),
        }).sealed()

    def identical(line: Any, notes: tuple[str, ...] = ()) -> RunResult | None:
        same = line.identical_to(body)
        if same is None:
            return None
        path = config_path(stores.configs, name, same)
        published = read_config(path)
        assert published.provenance is not None
        return result_for(published, "identical", config_path=path, notes=notes,
                          report_path=stores.reports / f"{name}-v{same}" / "report.html",
                          mlflow_run_id=published.provenance.mlflow_run_id)

    def next_version(line: Any) -> int:
        floor = current.version + 1 if current is not None and current.name == name else 1
        return max(line.next, floor)  # a new version always supersedes its parent

    if dry_run:
        line = stores.line(name)
        return identical(line) or result_for(envelope(line, next_version(line), None), "dry-run", mlflow_dir=None)

    with progress.step("publishing the config, the report and the MLflow run"), publish_session(stores) as session:
        line = stores.line(name)
        notes = tuple(session.notes)
        if (same := identical(line, notes)) is not None:
            return same
        with session.publication(name, next_version(line), command=command) as pub:
            config = envelope(line, pub.version, pub.run_id)
            result = result_for(config, "published", config_path=pub.config_path, report_path=pub.report_path,
                                mlflow_run_id=pub.run_id, notes=notes)
            html = run_report(result, data, include_accounts=include_accounts)
            params = {**{f"fit_{k}": v for k, v in fit.options.items() if k != "stability_grid"},
                      "method": fit.method, "seed": seed, "n_boot": n_boot, "train_until": train_until,
                      "rows": fit.n, "accounts": fit.n_accounts, "data_sha256": data.sha256, "version": pub.version}
            metrics = {f"weight_{k}": w for k, w in config.weights.items()}
            metrics |= {"auc": validation.auc, "spread": validation.spread, "spread_ci_low": validation.spread_ci[0],
                        "spread_ci_high": validation.spread_ci[1], "brier": validation.brier}
            tags, decided, description = _meeting_record(result)
            pub.commit(config, report_html=html, params=params, metrics=metrics | decided, tags=tags,
                       description=description,
                       dataset=training_dataset(data.frame, source=data.source, sha256=data.sha256))
    return result
