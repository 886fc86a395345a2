"""The terminal text of a run: the headline first, then what the meeting needs, in words.

``calibrate run`` prints :func:`run_text`; ``--verbose`` adds each result's statistical summary.
Labels and number formats come from :mod:`calibrate._labels`, as in the HTML report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calibrate import _labels as L

if TYPE_CHECKING:
    from calibrate.pipeline import RunResult
    from calibrate.validation.separation import Validation

__all__ = ["run_text", "band_rows", "BAND_HEADER", "coefficient_text", "COEFFICIENT_HEADER", "bands_text"]

BAND_HEADER = ["band", "snapshots", "renewed", "renewal rate", "95 % interval", "share of snapshots",
               "share of ARR"]
"""Columns of the band table, in the CLI and the report alike."""


def band_rows(validation: Validation) -> list[list[str]]:
    """The band table's cells (top band first), formatted for people."""
    rows = []
    for b in reversed(validation.bands):
        rate = L.pct(b.renewal_rate) if b.renewal_rate is not None else "no snapshots"
        rows.append([b.name, L.count(b.n), L.count(b.renewed), rate, L.interval(b.ci_low, b.ci_high, L.pct),
                     L.pct(b.share), L.pct(b.arr_share)])
    return rows


def separation_line(validation: Validation) -> str:
    """AUC, spread and band order in one line."""
    v = validation
    return (f"AUC {v.auc:.2f} (95 % interval {L.interval(*v.auc_ci, L.number, digits=2)}); spread {v.top_band} − "
            f"{v.red_band} {L.points(v.spread)} ({L.interval(*v.spread_ci, L.points)}); "
            f"bands in order: {'yes' if v.monotone else 'NO'}")


def red_book_line(validation: Validation) -> str | None:
    """The red book, labelled: accounts at their latest snapshot and snapshots."""
    rb = validation.red
    if rb is None:
        return None
    return (f"Red book ({' + '.join(reversed(rb.red_bands))}): {L.pct(rb.share_accounts_red)} of "
            f"{L.count(rb.n_accounts)} accounts at their latest snapshot; {L.pct(rb.share_snapshots_red)} of "
            f"{L.count(rb.n_snapshots)} snapshots")


def run_text(result: RunResult, *, verbose: bool = False) -> str:
    """What ``calibrate run`` prints; ``verbose`` adds every result's detailed summary."""
    cfg, v = result.config, result.validation
    weights = ", ".join(f"{k} {L.pct(w)}" for k, w in cfg.weights.items())
    what = f"{cfg.name} v{cfg.version}" + (f" (replaces v{cfg.parent_version})" if cfg.parent_version else "")
    status = getattr(result, "status", "published")
    head, where = {
        "published": (f"new config {what}", [f"config:  {result.config_path}", f"report:  {result.report_path}",
                                            f"mlflow:  run {result.mlflow_run_id} in {result.mlflow_dir}"]),
        "identical": (f"identical to v{cfg.version}; nothing published", [f"config:  {result.config_path} (unchanged)"]),
        "dry-run": (f"dry run: would publish {what}; nothing written", []),
    }[status]
    lines = [
        result.headline(),
        "",
        f"{head}. Weights: {weights}",
        f"Bands of v{cfg.version} on {L.count(v.n)} snapshots of {L.count(v.n_accounts)} accounts:",
        L.text_table(BAND_HEADER, band_rows(v), indent="  "),
        separation_line(v),
    ]
    red = red_book_line(v)
    if red:
        lines.append(red)
    for part in (getattr(result, "segments", None), getattr(result, "segment_tests", None)):  # --by-segment
        if part is not None:
            lines += ["", part.summary()]
    if verbose:
        lines += ["", "-- detail: validation", v.summary()]
        for title, obj in (("methods leaderboard", result.leaderboard), ("champion vs challenger", result.champion),
                           ("drift", result.drift)):
            if obj is not None:
                lines += ["", f"-- detail: {title}", obj.summary()]
    lines += ["", *where] if where else []
    if not verbose:
        lines.append("(--verbose adds every test, the methods leaderboard and the drift tables)")
    return "\n".join(lines)


COEFFICIENT_HEADER = ["dimension", "coefficient per point", "standard error", "95 % interval", "p-value",
                      "odds ratio per 10 points (95 % interval)", "weight"]
"""Columns of the logistic regression's coefficient table (``calibrate fit --method logit``)."""


def coefficient_text(logit: Any) -> str:
    """The coefficient table of a :class:`calibrate.fit.logit.LogitResult` in words: SE, 95 % interval,
    p-value and odds ratio per 10 points for each dimension, then what the flags mean."""
    f = logit.fit
    se = "clustered by account" if logit.cov_type == "cluster" else "model-based"
    rows = []
    for name, r in logit.table.iterrows():
        odds = f"{L.number(r['odds_ratio_10'], digits=2)} ({L.interval(r['or_ci_low'], r['or_ci_high'], L.number, digits=2)})"
        rows.append([name, L.number(r["coef"], digits=4, signed=True), L.number(r["se"], digits=4),
                     L.interval(r["ci_low"], r["ci_high"], L.number, digits=4, signed=True), L.pvalue(r["p_value"]), odds,
                     L.pct(logit.weights[name])])
    lines = [f"Logistic regression on {L.count(f.n)} snapshots of {L.count(f.n_accounts)} accounts "
             f"({L.count(f.n_events)} churned); standard errors {se}"
             + (f"; {logit.penalty} penalty, strength by grouped cross-validation" if logit.penalty else ""),
             L.text_table(COEFFICIENT_HEADER, rows, indent="  ")]
    lines += [f"  {n}: {why}" for n, why in logit.flags.items()] or ["  no dimension flagged"]
    return "\n".join(lines)


def bands_text(current: Any, tuned: Any, score: Any, renewed: Any, *, red_band: str, max_red_share: float) -> str:
    """Current vs tuned cut-points side by side: each band's score range, share of snapshots and renewal rate."""
    import numpy as np

    score, y = np.asarray(score, dtype=float), np.asarray(renewed, dtype=float)

    def figures(bands: Any) -> list[tuple[str, str, str]]:
        idx = np.searchsorted([b.min for b in bands[1:]], score, side="right")
        out = []
        for k, b in enumerate(bands):
            m = idx == k
            out.append((f"{b.min:g}–{b.max:g}", L.pct(m.mean()), L.pct(y[m].mean()) if m.any() else "no snapshots"))
        return out

    now, new = figures(current), figures(tuned)
    rows = [[b.name, *now[k], *new[k]] for k, b in reversed(list(enumerate(current)))]
    red = [b.name for b in current].index(red_band)
    share = float(np.isin(np.searchsorted([b.min for b in tuned[1:]], score, side="right"), range(red + 1)).mean())
    return "\n".join([
        f"Tuned cut-points: {L.pct(share)} of {L.count(len(score))} snapshots at or below {red_band} "
        f"(capacity {L.pct(max_red_share)}); renewal rates rise band to band. Nothing written: put these bands "
        "in a config to adopt them.",
        L.text_table(["band", "score now", "share now", "renewal rate now", "score tuned", "share tuned",
                      "renewal rate tuned"], rows, indent="  "),
    ])
