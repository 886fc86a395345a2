"""The drift verdict in words: what moved, by how much, and the statistic behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from calibrate.drift.detect import DriftReport, Finding

__all__ = ["drift_headline", "finding_in_words"]


def drift_headline(report: DriftReport, *, limit: int = 3) -> str:
    """One sentence: the verdict and its (at most ``limit``) most severe reasons in words."""
    if report.passed:
        return "Drift: none beyond sampling noise since the reference."
    order = {"recalibrate": 0, "watch": 1}
    bad = sorted((f for f in report.findings if not f.passed), key=lambda f: order[f.level])
    words = [finding_in_words(f, report.population) for f in bad[:limit]]
    more = f"; {len(bad) - limit} more in the drift section" if len(bad) > limit else ""
    return f"Drift: {report.verdict} — {'; '.join(words)}{more}."


def finding_in_words(f: Finding, population: pd.DataFrame) -> str:
    """One finding said as a CS leader would: what moved, by how much, and the statistic behind it."""
    if f.statistic in ("PSI", "CSI"):
        r = population.set_index("name").loc[f.dimension or "score"]
        move = r["mean_new"] - r["mean_ref"]
        where = f.dimension or "the score"
        return (f"{where} moved {'down' if move < 0 else 'up'} {abs(move):.0f} points on average "
                f"({r['mean_ref']:.1f} → {r['mean_new']:.1f}; {f.statistic} {f.value:.2f} above {f.threshold:.2f})")
    if f.statistic == "weight":
        return f"the weight of {f.dimension} ({f.value:.2f}) is outside what recent data support"
    if f.statistic == "red share":
        return f"the share in {f.dimension} changed by {100 * f.value:+.1f} points"
    if f.statistic.endswith("trend"):
        what = "AUC" if f.statistic.startswith("auc") else f.statistic.removesuffix(" trend")
        return f"{what} is falling ({f.value:+.3f} per quarter)"
    if f.statistic == "out-of-time AUC gain":
        return f"a refit on recent data ranks accounts better (AUC {f.value:+.3f})"
    if f.statistic.startswith("expected AUC"):
        return f"the expected AUC of the latest quarter fell to {f.value:.3f}"
    return f"{f.statistic} {f.value:.3f} beyond {f.threshold:.3f}"
