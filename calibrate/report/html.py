"""The HTML report of a run: one self-contained file (plots embedded as PNG) that prints well.

A report is a list of :class:`Section` (a heading and an HTML body, :mod:`calibrate.report.base`) put
into ``templates/report.html``: the verdict first, the sections of :data:`SECTIONS` in order, then a
glossary of every statistic. Sections hold aggregates only, except those registered ``row_level``
(the red accounts to act on), which appear only with ``include_accounts`` and under a banner.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calibrate import _labels as L
from calibrate.report.base import (ROW_LEVEL, SECTIONS, Section, configs, frame_html, img_tag, object_html,
                                   register_section, render_report, result_section, scored, scores_shared, table_html)
from calibrate.report.sections import (champion_section, drift_section, expected_churn_section, leaderboard_section,
                                       quarters_section, red_accounts_section, red_metrics_section)
from calibrate.report.text import BAND_HEADER, band_rows

if TYPE_CHECKING:
    from calibrate.data.load import Accounts
    from calibrate.pipeline import RunResult
    from calibrate.validation.separation import Validation

__all__ = [
    "Section",
    "SECTIONS",
    "register_section",
    "result_section",
    "object_html",
    "frame_html",
    "render_report",
    "run_report",
    "img_tag",
    "table_html",
    "band_table_html",
    "write_pdf",
    "ACCOUNTS_BANNER",
]

ACCOUNTS_BANNER = ("This report lists individual accounts (--include-accounts): share it only with people allowed "
                   "to see account-level data.")


def band_table_html(validation: Validation) -> str:
    """The band table (top band first) with colour swatches, rates and Wilson intervals; counts are snapshots."""
    colors = {b.name: b.color for b in validation.bands}
    rows = []
    for row in band_rows(validation):
        swatch = f'<span class="swatch" style="background:{html.escape(colors[row[0]])}"></span>{html.escape(row[0])}'
        rows.append([swatch, *(html.escape(c) for c in row[1:])])
    return table_html(BAND_HEADER, rows, raw=True)


@register_section("bands")
def bands_section(result: RunResult, data: Accounts) -> Section:
    """Band table, spread and AUC, renewal rate per band with intervals."""
    from calibrate.plots import new_axes, plot_band_rates

    v = result.validation
    return Section(
        "Bands: do they separate renewals?",
        f'<p class="meta">Counts are snapshots: {L.count(v.n)} snapshots of {L.count(v.n_accounts)} '
        '<a href="#g-accounts">accounts</a>.</p>'
        + band_table_html(v)
        + f'<p><a href="#g-spread">Spread</a> {html.escape(v.top_band)} − {html.escape(v.red_band)}: '
        f"<b>{L.points(v.spread)}</b> (95 % interval {L.interval(*v.spread_ci, L.points)}, whole accounts resampled "
        f'{L.count(v.n_boot)} times); <a href="#g-auc">AUC</a> <b>{L.number(v.auc, digits=3)}</b> '
        f"(95 % interval {L.interval(*v.auc_ci)}); bands in order of renewal: {'yes' if v.monotone else 'no'}.</p>"
        + img_tag(plot_band_rates(v, ax=new_axes((7.0, 3.6))), "Renewal rate by band with 95% intervals"),
    )


@register_section("distribution")
def distribution_section(result: RunResult, data: Accounts) -> Section:
    """Score histograms of renewed and churned accounts over the band colours."""
    from calibrate.plots import new_axes, plot_score_distribution

    y = data.frame["renewed"].to_numpy()
    imgs = []
    for label, cfg in configs(result).items():
        ax = plot_score_distribution(scored(data, cfg)["score"].to_numpy(), y, cfg, ax=new_axes((4.8, 3.4)))
        ax.set_title(f"Score by outcome, {label}")
        imgs.append(img_tag(ax, f"Score distribution by outcome, {label}"))
    return Section("Score distributions by outcome", f'<div class="grid">{"".join(imgs)}</div>')


@register_section("calibration")
def calibration_section(result: RunResult, data: Accounts) -> Section:
    """Reliability diagram of the calibrated probability and ROC of the score (current vs new)."""
    from calibrate.plots import new_axes, plot_reliability_curves, plot_roc

    y = data.frame["renewed"].to_numpy()
    frames = {label: scored(data, cfg) for label, cfg in configs(result).items()}
    probs = {label: (y, s["p_renew"].to_numpy()) for label, s in frames.items() if not s["p_renew"].isna().all()}
    imgs = [img_tag(plot_roc({k: (y, s["score"].to_numpy()) for k, s in frames.items()}, ax=new_axes((4.8, 4.2))),
                    "ROC curve of score vs renewal")]
    if probs:
        imgs.insert(0, img_tag(plot_reliability_curves(probs, ax=new_axes((4.8, 4.2))), "Reliability diagram"))
    v = result.validation
    brier = (L.number(v.brier, digits=3) if not L.is_missing(v.brier)
             else "not available (the config has no calibrated probability)")
    text = (f'<p><a href="#g-brier">Brier score</a> of the new calibration: <b>{brier}</b> (lower is better). '
            "Points on the diagonal mean a predicted 80 % renews 80 % of the time.</p>")
    return Section("Calibration and discrimination", text + f'<div class="grid">{"".join(imgs)}</div>')


def weight_intervals(result: RunResult) -> dict[str, tuple[float, float]] | None:
    """The new weights' intervals if the run carries them (``result.weight_intervals`` or ``result.fit.intervals``).

    Read duck-typed: an object with ``low``/``high`` mappings, or whose ``to_frame()`` has
    ``dimension``, ``ci_low``, ``ci_high`` columns.
    """
    obj = getattr(result, "weight_intervals", None) or getattr(result.fit, "intervals", None)
    if obj is None:
        return None
    if hasattr(obj, "low") and hasattr(obj, "high"):
        return {d: (float(obj.low[d]), float(obj.high[d])) for d in obj.low}
    frame = obj.to_frame()
    return {r.dimension: (float(r.ci_low), float(r.ci_high)) for r in frame.itertuples()}


@register_section("weights")
def weights_section(result: RunResult, data: Accounts) -> Section:
    """Weights current vs new, with the new weights' intervals when the run has them."""
    from calibrate.plots import new_axes, plot_weights

    by_label = configs(result)
    weights = {label: cfg.weights for label, cfg in by_label.items()}
    new_label = list(by_label)[-1]
    ci = weight_intervals(result)
    dims = list(result.config.weights)
    header = ["dimension", *(f"weight, {k}" for k in weights)] + (["95 % interval (new)"] if ci else [])
    rows = [[d, *(L.pct(w.get(d)) for w in weights.values())]
            + ([L.interval(*ci[d], L.pct)] if ci and d in ci else [""] if ci else []) for d in dims]
    note = "" if ci else '<p class="meta">No weight intervals in this run.</p>'
    axes = plot_weights(weights, ax=new_axes((7.0, 3.4 if len(dims) <= 8 else 4.4)),  # room for slanted names
                        intervals={new_label: ci} if ci else None)
    return Section("Weights: current vs new", table_html(header, rows) + note + img_tag(axes, "Dimension weights"))


@register_section("points")
def points_section(result: RunResult, data: Accounts) -> Section | None:
    """Each learned sub-score (issue 14): bins, points, what a bin adds to the score, training accounts and renewal
    rate with its Wilson interval, and the curve; no section without a learned (``binned``) transform."""
    from calibrate.fit.learned import points_table
    from calibrate.plots import new_axes, plot_points

    parts = ['<p>A learned sub-score gives each bin of its raw signal points from 0 (the bin that renews worst) to 100 '
             '(best), fitted from outcomes under a shape constraint; a bin adds weight × points to the score.</p>']
    for d in (d for d in result.config.dimensions if d.transform is not None and d.transform.kind == "binned"):
        table = points_table(d.transform)
        rows = [[r.bin, f"{r.points:.2f}", f"{d.weight * r.points:.2f}", f"{r.n:,}",
                 f"{r.renewal_rate:.1%} ({r.ci_low:.1%}–{r.ci_high:.1%})" if r.n else ""] for r in table.itertuples()]
        parts += [f"<h3>{html.escape(d.name)} ({html.escape(d.column)}): {d.transform.shape}, weight {d.weight:.3f}</h3>",
                  table_html(["bin", "points", "adds to score", "accounts", "renewal rate (95 %)"], rows),
                  img_tag(plot_points(table, ax=new_axes((6.0, 3.0)), title=f"{d.name}: points and renewal rate"),
                          f"Points of {d.name}")]
    return Section("Learned sub-scores: points per signal", "\n".join(parts)) if len(parts) > 1 else None


@register_section("current")
def current_section(result: RunResult, data: Accounts) -> Section | None:
    """The current config's bands on the same data (only with a current config)."""
    cv = result.current_validation
    if cv is None or result.current is None:
        return None
    return Section(
        f"Current config v{result.current.version} on the same data",
        band_table_html(cv) + f"<p>Spread {L.points(cv.spread)} (95 % interval {L.interval(*cv.spread_ci, L.points)}); "
        f"AUC {L.number(cv.auc)} (95 % interval {L.interval(*cv.auc_ci)}).</p>",
    )


@register_section("migration")
def migration_section(result: RunResult, data: Accounts) -> Section | None:
    """Band migration current → new on each account's latest snapshot, and the red book (:func:`diff_configs`)."""
    if result.current is None:
        return None
    from calibrate.publish.diff import diff_configs
    from calibrate.plots import new_axes

    d = diff_configs(result.current, result.config, data=data)
    assert d.accounts is not None and d.red_book is not None
    n = int(d.accounts.to_numpy().sum())
    rb = d.red_book
    old, new = f"v{result.current.version}", f"v{result.config.version}"
    text = (f"<p>On {L.count(n)} accounts, each at its latest snapshot, <b>{L.count(d.moved)}</b> "
            f"({L.pct(d.moved / max(n, 1))}) change band. "
            f'<a href="#g-red_book">Red book</a> ({html.escape(result.config.red_band)} or below), accounts at their '
            f"latest snapshot: {L.count(rb['old_accounts'])} → {L.count(rb['new_accounts'])} "
            f"({L.pct(rb['old_share'])} → {L.pct(rb['new_share'])}).</p>")
    matrix = d.accounts
    rows = [[f"{old}: {i}", *(L.count(x) for x in r)] for i, r in zip(matrix.index, matrix.to_numpy())]
    table = table_html([f"accounts: band in {old} ↓, in {new} →", *map(str, matrix.columns)], rows)
    return Section(f"Band migration: {old} → {new}",
                   text + table + img_tag(d.plot(ax=new_axes((5.6, 4.2))), "Band migration matrix"))


@register_section("provenance")
def provenance_section(result: RunResult, data: Accounts) -> Section:
    """Where the data came from and how the config was made."""
    prov = result.config.provenance
    assert prov is not None
    rows = [
        ["source", prov.data_source],
        ["SHA-256", prov.data_sha256[:16] + "…"],
        ["snapshots / accounts / churned", f"{prov.training_rows:,} / {prov.training_accounts:,} / {prov.training_events:,}"],
        ["period", f"{prov.period_start} to {prov.period_end}"],
        ["method", prov.method],
        ["seed / bootstrap resamples", f"{prov.seed} / {result.validation.n_boot:,}"],
        ["config", f"{result.config.name} v{result.config.version} ({result.config.content_hash or ''})"],
        ["MLflow run", prov.mlflow_run_id or ""],
        ["libraries", ", ".join(f"{k} {v}" for k, v in prov.library_versions.items())],
    ]
    if data.imputed:
        rows.append(["imputed values", ", ".join(f"{k}: {v:,}" for k, v in data.imputed.items())])
    return Section("Data provenance", table_html(["item", "value"], rows))


def run_report(
    result: RunResult,
    data: Accounts,
    *,
    extra: Mapping[str, Any] | None = None,
    sections: Sequence[str] | None = None,
    include_accounts: bool = False,
) -> str:
    """The HTML report of a recalibration run (aggregates of ``data`` only, unless ``include_accounts``).

    The verdict comes first (:meth:`RunResult.headline`: does the score predict churn, what drift
    found and why, the decision), then each section of :data:`SECTIONS` that has something to show
    (:mod:`calibrate.report.sections` adds the meeting's: per-quarter trend, expected churned ARR,
    red accounts to act on, drift, champion/challenger...), the data provenance, and the glossary.

    Parameters
    ----------
    result : RunResult
    data : Accounts
        The data the run used; only band counts, histograms and totals reach the report.
    extra : mapping of title → result object, optional
        More results to show before the provenance (rendered by :func:`object_html`).
    sections : sequence of str, optional
        Only these sections of :data:`SECTIONS` (default: all).
    include_accounts : bool, default False
        Also build the row-level sections (the red accounts to act on), under :data:`ACCOUNTS_BANNER`.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    from calibrate import _progress as progress

    config, v = result.config, result.validation
    built: list[Section] = []
    with progress.step("writing the report"), scores_shared():  # each config scores the book once (scores_shared)
        for name, builder in SECTIONS.items():
            if (sections is not None and name not in sections) or (name in ROW_LEVEL and not include_accounts):
                continue
            if name == "provenance":
                built += [Section(title, object_html(obj, alt=title)) for title, obj in (extra or {}).items()]
            section = builder(result, data)
            if section is not None:
                built.append(section)
    return render_report(
        title=f"Health score recalibration — {config.name} v{config.version}",
        subtitle=f"{v.n:,} snapshots of {v.n_accounts:,} accounts · created {config.created_at}",
        verdict=result.headline(),
        verdict_ok=result.predictive,
        sections=built,
        banner=ACCOUNTS_BANNER if include_accounts else None,
    )


def chromium() -> str | None:
    """Path of a Chromium/Chrome executable on PATH, or None."""
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")
"""Flags for a quiet, offline headless Chromium."""


def write_pdf(html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str] | None = None, *,
              timeout: float = 60.0) -> Path | None:
    """Print a report to PDF with headless Chromium (same print CSS as the browser); None without Chromium.

    Parameters
    ----------
    html_path : path
    pdf_path : path, optional
        Default: ``report.pdf`` beside the HTML.
    timeout : float
        Seconds before Chromium is abandoned.

    Returns
    -------
    Path or None
    """
    import subprocess
    import tempfile

    exe = chromium()
    if exe is None:
        return None
    src = Path(html_path).resolve()
    out = Path(pdf_path) if pdf_path is not None else src.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                        f"--print-to-pdf={out.resolve()}", src.as_uri()],
                       check=True, capture_output=True, timeout=timeout)
    return out if out.exists() and out.stat().st_size > 0 else None


# the meeting's sections (calibrate.report.sections), each at its place in the order
register_section("quarters", quarters_section, before="distribution")
register_section("expected_churn", expected_churn_section, before="distribution")
register_section("red_accounts", red_accounts_section, before="distribution", row_level=True)
register_section("drift", drift_section, before="distribution")
register_section("champion", champion_section, before="distribution")
register_section("leaderboard", leaderboard_section)
register_section("red_metrics", red_metrics_section)
