"""The HTML report of a run: one self-contained file (plots embedded as PNG) that prints well.

A report is a list of :class:`Section` (a heading and an HTML body) put into
``templates/report.html``. Sections hold aggregates only — never account rows.
"""

from __future__ import annotations

import base64
import functools
import html
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calibrate.plots import figure_png

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from calibrate.config.model import WeightConfig
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
]


@functools.cache
def _template() -> Any:
    """``templates/report.html`` as a jinja2 template; every value is escaped unless marked ``| safe``."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("calibrate.report", "templates"), autoescape=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template("report.html")


@dataclass(frozen=True)
class Section:
    """One titled part of the report; ``body`` is trusted HTML built by this module's helpers."""

    title: str
    body: str


def img_tag(ax: Axes, alt: str) -> str:
    """An ``<img>`` with the Axes' figure embedded as a base64 PNG."""
    data = base64.b64encode(figure_png(ax)).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain HTML table; floats are shown with 3 decimals, text is escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def band_table_html(validation: Validation) -> str:
    """The band table (top band first) with colour swatches, rates and Wilson intervals."""
    rows = []
    for b in reversed(validation.bands):
        swatch = f'<span class="swatch" style="background:{b.color}"></span>{html.escape(b.name)}'
        ci = "" if b.ci_low is None else f"{b.ci_low:.1%} – {b.ci_high:.1%}"
        rows.append(
            f"<tr><td>{swatch}</td><td>{b.n:,}</td><td>{b.renewed:,}</td><td>{_pct(b.renewal_rate)}</td>"
            f"<td>{ci}</td><td>{b.share:.1%}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("band", "accounts", "renewed", "renewal rate", "95 % CI (Wilson)", "share"))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_report(
    *,
    title: str,
    subtitle: str,
    verdict: str,
    verdict_ok: bool,
    sections: Sequence[Section],
    extra: Mapping[str, str] | None = None,
) -> str:
    """Fill the report template (jinja2, autoescaped: text is escaped, section bodies are trusted HTML).

    Returns the complete HTML document; ``extra`` values fill further template fields.
    """
    from calibrate import __version__

    return _template().render(
        title=title,
        subtitle=subtitle,
        verdict=verdict,
        verdict_color="#16a34a" if verdict_ok else "#dc2626",
        sections=sections,
        calibrate_version=__version__,
        **(extra or {}),
    )


# -- sections of a run's report ---------------------------------------------------------------------
SectionBuilder = Callable[["RunResult", "Accounts"], "Section | None"]
"""Builds one section from a run and its data, or returns None when the run has nothing to show."""

SECTIONS: dict[str, SectionBuilder] = {}
"""The report's sections in order: name → builder. :func:`register_section` adds one."""


def register_section(name: str, builder: SectionBuilder | None = None, *, before: str | None = None) -> Any:
    """Add (or replace) a section builder; usable as a decorator.

    Parameters
    ----------
    name : str
        Key in :data:`SECTIONS`; an existing key is replaced in place.
    builder : callable (result, data) → Section or None
    before : str, optional
        Insert before this section (default: before ``"provenance"``, which stays last).

    Examples
    --------
    A result object the run carries as an attribute is one line::

        register_section("leaderboard", result_section("leaderboard", "Methods leaderboard"))
    """

    def add(fn: SectionBuilder) -> SectionBuilder:
        if name in SECTIONS:
            SECTIONS[name] = fn
            return fn
        anchor = before if before is not None else ("provenance" if "provenance" in SECTIONS else None)
        items = list(SECTIONS.items())
        at = next((i for i, (k, _) in enumerate(items) if k == anchor), len(items))
        items.insert(at, (name, fn))
        SECTIONS.clear()
        SECTIONS.update(items)
        return fn

    return add if builder is None else add(builder)


def frame_html(frame: pd.DataFrame) -> str:
    """A DataFrame as an escaped HTML table (floats with 3 decimals, no index unless it is named)."""
    show_index = any(n is not None for n in frame.index.names)
    return frame.to_html(index=show_index, border=0, float_format=lambda v: f"{v:.3f}", na_rep="",
                         classes="data", escape=True)


def object_html(obj: Any, *, alt: str = "") -> str:
    """Render any calibrate result: its ``to_frame()`` as a table and its ``plot(ax=...)`` as an image.

    Either part is skipped when the object lacks it; a plot that raises is reported as text, never
    breaks the report.
    """
    parts = []
    if hasattr(obj, "to_frame"):
        parts.append(frame_html(obj.to_frame()))
    elif hasattr(obj, "summary"):
        parts.append(f"<pre>{html.escape(obj.summary())}</pre>")
    if hasattr(obj, "plot"):
        from calibrate.plots import new_axes

        try:
            parts.append(img_tag(obj.plot(ax=new_axes((7.0, 3.8))), alt or type(obj).__name__))
        except Exception as exc:  # noqa: BLE001 - a figure must not cost the report
            parts.append(f'<p class="meta">(figure unavailable: {html.escape(type(exc).__name__)})</p>')
    return "\n".join(parts)


def result_section(attr: str, title: str, *, intro: str = "") -> SectionBuilder:
    """A builder for a result object the run carries as ``result.<attr>`` (absent or None: no section).

    The object is read duck-typed: ``to_frame()`` for the table, ``plot(ax=...)`` for the figure
    and, when present, ``summary()`` as a caption.
    """

    def build(result: RunResult, data: Accounts) -> Section | None:
        obj = getattr(result, attr, None)
        if obj is None:
            return None
        head = f"<p>{html.escape(intro)}</p>" if intro else ""
        return Section(title, head + object_html(obj, alt=title))

    build.__name__ = f"section_{attr}"
    return build


def _scored(data: Accounts, config: WeightConfig) -> pd.DataFrame:
    from calibrate.score.scorer import score_frame

    return score_frame(data.frame, config, contributions=False, by="name")


def _configs(result: RunResult) -> dict[str, WeightConfig]:
    """Label → config, the current one first when there is one."""
    out = {} if result.current is None else {f"current v{result.current.version}": result.current}
    return out | {f"new v{result.config.version}": result.config}


@register_section("bands")
def bands_section(result: RunResult, data: Accounts) -> Section:
    """Band table, spread and AUC, renewal rate per band with intervals."""
    from calibrate.plots import new_axes, plot_band_rates

    v = result.validation
    return Section(
        "Bands: do they separate renewals?",
        band_table_html(v)
        + f"<p>Spread {html.escape(v.top_band)} − {html.escape(v.red_band)}: <b>{v.spread:+.1%}</b> "
        f"(95 % account-level bootstrap interval {v.spread_ci[0]:+.1%} to {v.spread_ci[1]:+.1%}, "
        f"{v.n_boot:,} resamples); AUC <b>{v.auc:.3f}</b> ({v.auc_ci[0]:.3f}–{v.auc_ci[1]:.3f}, DeLong); "
        f"bands monotone: {'yes' if v.monotone else 'no'}.</p>"
        + img_tag(plot_band_rates(v, ax=new_axes((7.0, 3.6))), "Renewal rate by band with 95% intervals"),
    )


@register_section("distribution")
def distribution_section(result: RunResult, data: Accounts) -> Section:
    """Score histograms of renewed and churned accounts over the band colours."""
    from calibrate.plots import new_axes, plot_score_distribution

    y = data.frame["renewed"].to_numpy()
    imgs = []
    for label, cfg in _configs(result).items():
        ax = plot_score_distribution(_scored(data, cfg)["score"].to_numpy(), y, cfg, ax=new_axes((4.8, 3.4)))
        ax.set_title(f"Score by outcome, {label}")
        imgs.append(img_tag(ax, f"Score distribution by outcome, {label}"))
    return Section("Score distributions by outcome", f'<div class="grid">{"".join(imgs)}</div>')


@register_section("calibration")
def calibration_section(result: RunResult, data: Accounts) -> Section:
    """Reliability diagram of the calibrated probability and ROC of the score (current vs new)."""
    from calibrate.plots import new_axes, plot_reliability_curves, plot_roc

    y = data.frame["renewed"].to_numpy()
    scored = {label: _scored(data, cfg) for label, cfg in _configs(result).items()}
    probs = {label: (y, s["p_renew"].to_numpy()) for label, s in scored.items() if not s["p_renew"].isna().all()}
    imgs = [img_tag(plot_roc({k: (y, s["score"].to_numpy()) for k, s in scored.items()}, ax=new_axes((4.8, 4.2))),
                    "ROC curve of score vs renewal")]
    if probs:
        imgs.insert(0, img_tag(plot_reliability_curves(probs, ax=new_axes((4.8, 4.2))), "Reliability diagram"))
    v = result.validation
    text = (f"<p>Brier score of the new calibration: <b>{v.brier:.3f}</b> (lower is better). "
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

    configs = _configs(result)
    weights = {label: cfg.weights for label, cfg in configs.items()}
    new_label = list(configs)[-1]
    ci = weight_intervals(result)
    dims = list(result.config.weights)
    header = ["dimension", *weights] + (["95 % interval (new)"] if ci else [])
    rows = [[d, *(w.get(d, float("nan")) for w in weights.values())]
            + ([f"{ci[d][0]:.3f} – {ci[d][1]:.3f}"] if ci and d in ci else [""] if ci else []) for d in dims]
    note = "" if ci else '<p class="meta">No weight intervals in this run.</p>'
    axes = plot_weights(weights, ax=new_axes((7.0, 3.4)), intervals={new_label: ci} if ci else None)
    return Section("Weights: current vs new", table_html(header, rows) + note + img_tag(axes, "Dimension weights"))


@register_section("current")
def current_section(result: RunResult, data: Accounts) -> Section | None:
    """The current config's bands on the same data (only with a current config)."""
    cv = result.current_validation
    if cv is None or result.current is None:
        return None
    return Section(
        f"Current config v{result.current.version} on the same data",
        band_table_html(cv) + f"<p>Spread {cv.spread:+.1%} ({cv.spread_ci[0]:+.1%} to "
        f"{cv.spread_ci[1]:+.1%}); AUC {cv.auc:.3f} ({cv.auc_ci[0]:.3f}–{cv.auc_ci[1]:.3f}).</p>",
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
    text = (f"<p>On {n:,} accounts (latest snapshot each), <b>{d.moved:,}</b> ({d.moved / max(n, 1):.1%}) change band. "
            f"Red book ({html.escape(result.config.red_band)} or below): {rb['old_accounts']:,.0f} → "
            f"{rb['new_accounts']:,.0f} accounts ({rb['old_share']:.1%} → {rb['new_share']:.1%}).</p>")
    return Section("Band migration: current → new",
                   text + frame_html(d.accounts) + img_tag(d.plot(ax=new_axes((5.6, 4.2))), "Band migration matrix"))


register_section("leaderboard", result_section(
    "leaderboard", "Methods leaderboard", intro="Every fitting method on the same out-of-time split."))
register_section("champion", result_section(
    "champion", "Adopt or keep? Champion vs challenger", intro="Current weights against the new ones on later data: "
    "differences in log-loss and AUC with account-level bootstrap intervals."))
register_section("drift", result_section(
    "drift", "Drift since the reference", intro="PSI per dimension and the per-period trend of spread and AUC."))
register_section("red_metrics", result_section(
    "red_metrics", "Red accounts", intro="How well the red book catches the accounts that churn."))


@register_section("provenance")
def provenance_section(result: RunResult, data: Accounts) -> Section:
    """Where the data came from and how the config was made."""
    prov = result.config.provenance
    assert prov is not None
    rows = [
        ["source", prov.data_source],
        ["SHA-256", prov.data_sha256[:16] + "…"],
        ["rows / accounts / churned", f"{prov.training_rows:,} / {prov.training_accounts:,} / {prov.training_events:,}"],
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
) -> str:
    """The HTML report of a recalibration run (aggregates of ``data`` only).

    The verdict comes first (:meth:`RunResult.verdict`), then each section of :data:`SECTIONS`
    that has something to show: bands, score distributions, reliability and ROC, weights, the
    current config and the band migration (with a current config), the methods leaderboard,
    drift and red-account metrics (when the run carries them), and the data provenance.

    Parameters
    ----------
    result : RunResult
    data : Accounts
        The data the run used; only band counts, histograms and totals reach the report.
    extra : mapping of title → result object, optional
        More results to show before the provenance (rendered by :func:`object_html`).
    sections : sequence of str, optional
        Only these sections of :data:`SECTIONS` (default: all).

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    from calibrate import _progress as progress

    config, v = result.config, result.validation
    built: list[Section] = []
    with progress.step("writing the report"):
        for name, builder in SECTIONS.items():
            if sections is not None and name not in sections:
                continue
            if name == "provenance":
                built += [Section(title, object_html(obj, alt=title)) for title, obj in (extra or {}).items()]
            section = builder(result, data)
            if section is not None:
                built.append(section)
    return render_report(
        title=f"Health score recalibration — {config.name} v{config.version}",
        subtitle=f"{v.n:,} snapshots of {v.n_accounts:,} accounts · created {config.created_at}",
        verdict=result.verdict(),
        verdict_ok=result.predictive,
        sections=built,
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
