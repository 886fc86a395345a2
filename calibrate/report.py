"""The HTML report of a run: one self-contained file (plots embedded as PNG) that prints well.

A report is a list of :class:`Section` (a heading and an HTML body) put into
``templates/report.html``. Sections hold aggregates only — never account rows.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from calibrate.plots import figure_png

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from calibrate.load import Accounts
    from calibrate.recalibrate import RunResult
    from calibrate.validate import Validation

__all__ = ["Section", "render_report", "run_report", "img_tag", "table_html", "band_table_html"]

_TEMPLATE = Path(__file__).parent / "templates" / "report.html"


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
    """Fill the report template; returns the complete HTML document."""
    from calibrate import __version__

    body = "\n".join(f"<section><h2>{html.escape(s.title)}</h2>\n{s.body}\n</section>" for s in sections)
    return Template(_TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        verdict=html.escape(verdict),
        verdict_color="#16a34a" if verdict_ok else "#dc2626",
        sections=body,
        calibrate_version=__version__,
        **(extra or {}),
    )


def run_report(result: RunResult, data: Accounts) -> str:
    """The HTML report of a recalibration run (aggregates of ``data`` only).

    Parameters
    ----------
    result : RunResult
    data : Accounts
        The data the run used; only band counts, histograms and totals reach the report.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    from calibrate.plots import new_axes, plot_band_rates, plot_score_distribution, plot_weights
    from calibrate.score import score_frame

    config, v = result.config, result.validation
    scored = score_frame(data.frame, config, contributions=False, by="name")
    weights = {"new": config.weights}
    if result.current is not None:
        weights = {f"current v{result.current.version}": result.current.weights, **weights}
    sections = [
        Section(
            "Bands: do they separate renewals?",
            band_table_html(v)
            + f"<p>Spread {html.escape(v.top_band)} − {html.escape(v.red_band)}: <b>{v.spread:+.1%}</b> "
            f"(95 % account-level bootstrap interval {v.spread_ci[0]:+.1%} to {v.spread_ci[1]:+.1%}, "
            f"{v.n_boot:,} resamples); AUC <b>{v.auc:.3f}</b> ({v.auc_ci[0]:.3f}–{v.auc_ci[1]:.3f}, DeLong); "
            f"bands monotone: {'yes' if v.monotone else 'no'}.</p>"
            + '<div class="grid">'
            + img_tag(plot_band_rates(v, ax=new_axes()), "Renewal rate by band with 95% intervals")
            + img_tag(plot_score_distribution(scored["score"].to_numpy(), data.frame["renewed"].to_numpy(),
                                              config, ax=new_axes()), "Score distribution by outcome")
            + "</div>",
        ),
        Section(
            "Weights",
            table_html(["dimension", *weights], [[d, *(w.get(d, float("nan")) for w in weights.values())]
                                                   for d in config.weights])
            + img_tag(plot_weights(weights, ax=new_axes()), "Dimension weights"),
        ),
    ]
    if result.current_validation is not None:
        cv = result.current_validation
        sections.append(
            Section(
                f"Current config v{result.current.version if result.current else '?'} on the same data",
                band_table_html(cv) + f"<p>Spread {cv.spread:+.1%} ({cv.spread_ci[0]:+.1%} to "
                f"{cv.spread_ci[1]:+.1%}); AUC {cv.auc:.3f}.</p>",
            )
        )
    prov = config.provenance
    assert prov is not None
    sections.append(
        Section(
            "Data provenance",
            table_html(
                ["item", "value"],
                [
                    ["source", prov.data_source],
                    ["SHA-256", prov.data_sha256[:16] + "…"],
                    ["rows / accounts / churned", f"{prov.training_rows:,} / {prov.training_accounts:,} / {prov.training_events:,}"],
                    ["period", f"{prov.period_start} to {prov.period_end}"],
                    ["method", prov.method],
                    ["seed", prov.seed],
                    ["MLflow run", prov.mlflow_run_id or ""],
                ],
            ),
        )
    )
    return render_report(
        title=f"Health score recalibration — {config.name} v{config.version}",
        subtitle=f"{v.n:,} snapshots of {v.n_accounts:,} accounts · created {config.created_at}",
        verdict=result.verdict(),
        verdict_ok=result.predictive,
        sections=sections,
    )
