"""The report's section on learned sub-scores: each learned signal's points table and curve (issue 14).

Registered in :data:`calibrate.report.html.SECTIONS` as ``"points"`` (after the weights); a run whose config has no
learned (``binned``) transform has no such section. The figures are the training counts stored with each transform.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from calibrate.report.html import Section, img_tag, register_section, table_html

if TYPE_CHECKING:
    from calibrate.data.load import Accounts
    from calibrate.pipeline import RunResult

__all__ = ["points_section"]


@register_section("points", before="current")
def points_section(result: RunResult, data: Accounts) -> Section | None:
    """Per learned signal: bins, points, what the bin adds to the score, accounts and renewal rate with interval."""
    from calibrate.fit.learned import points_table
    from calibrate.plots import new_axes, plot_points

    learned = [d for d in result.config.dimensions if d.transform is not None and d.transform.kind == "binned"]
    if not learned:
        return None
    parts = ['<p>Each learned sub-score gives every bin of its raw signal points from 0 (the bin that renews worst) '
             'to 100 (best), fitted from outcomes with a shape constraint; a bin adds weight × points to the score. '
             'Renewal rates are the training data\'s, with 95 % Wilson intervals.</p>']
    for d in learned:
        table = points_table(d.transform)
        rows = [[r.bin, f"{r.points:.2f}", f"{d.weight * r.points:.2f}", f"{r.n:,}",
                 f"{r.renewal_rate:.1%} ({r.ci_low:.1%}–{r.ci_high:.1%})" if r.n else ""] for r in table.itertuples()]
        parts.append(f"<h3>{html.escape(d.name)} ({html.escape(d.column)}): {d.transform.shape}, "
                     f"weight {d.weight:.3f}</h3>")
        parts.append(table_html(["bin", "points", "adds to score", "accounts", "renewal rate (95 %)"], rows))
        parts.append(img_tag(plot_points(table, ax=new_axes((6.0, 3.0)), title=f"{d.name}: points and renewal rate"),
                             f"Points of {d.name}"))
    return Section("Learned sub-scores: points per signal", "\n".join(parts))
