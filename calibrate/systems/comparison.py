"""One comparison across scoring systems on the same accounts: weighted score, rule trees, activity tiers.

:func:`compare_systems` fits what needs fitting (the weighted score's weights when no config is
given, the tuned rule tree) on the snapshots before ``test_from`` and judges every system on the
snapshots from it on: renewal-rate spread with its account-bootstrap interval, AUC (of the score,
or of the class order) with a DeLong interval, and where the weighted score and the rule tree
disagree about "red", which of them was right (the renewal rate of the rows only one of them
flags: the lower, the better that system's lone flags were).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calibrate.config.model import WeightConfig
from calibrate.data.load import Accounts
from calibrate.systems.rules import RuleTree, classify, read_tree, validate_tree
from calibrate.validation.separation import Validation

__all__ = ["SystemComparison", "compare_systems"]


def _row(system: str, v: Validation) -> dict[str, Any]:
    return {"system": system, "n": v.n, "top": v.top_band, "red": v.red_band, "spread": v.spread,
            "spread_ci_low": v.spread_ci[0], "spread_ci_high": v.spread_ci[1], "auc": v.auc,
            "auc_ci_low": v.auc_ci[0], "auc_ci_high": v.auc_ci[1], "monotone": v.monotone}


@dataclass(frozen=True)
class SystemComparison:
    """Every system's spread and AUC on the same test rows, and the score-vs-tree disagreement table."""

    systems: pd.DataFrame
    disagreement: pd.DataFrame
    auc_diff: tuple[float, float, float, float]
    test_from: str | None
    n: int

    def to_frame(self) -> pd.DataFrame:
        """One row per system."""
        return self.systems.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (``calibrate systems --json``)."""
        d, lo, hi, p = self.auc_diff
        return {"test_from": self.test_from, "n": self.n, "systems": self.systems.to_dict(orient="records"),
                "disagreement": self.disagreement.to_dict(orient="records"),
                "auc_diff_score_minus_tree": {"value": d, "ci_low": lo, "ci_high": hi, "pvalue": p}}

    def summary(self) -> str:
        """Side-by-side table and who was right where the score and the tree disagree."""
        lines = [f"systems compared on {self.n:,} rows" + (f" from {self.test_from}" if self.test_from else ""),
                 f"{'system':<20}{'spread':>8}  95% CI            {'AUC':>6}  95% CI          top - red"]
        for r in self.systems.itertuples():
            lines.append(f"{r.system:<20}{r.spread:>+8.1%}  [{r.spread_ci_low:+.1%}, {r.spread_ci_high:+.1%}]  "
                         f"{r.auc:6.3f}  [{r.auc_ci_low:.3f}, {r.auc_ci_high:.3f}]  {r.top} - {r.red}")
        lines.append("red flags, weighted score vs rule tree (seed):")
        for r in self.disagreement.itertuples():
            lines.append(f"  {r.cell:<22}{r.n:>7,} rows  renewal {r.renewal_rate:6.1%} [{r.ci_low:.1%}, {r.ci_high:.1%}]")
        d, lo, hi, p = self.auc_diff
        lines.append(f"AUC score - tree {d:+.3f} [{lo:+.3f}, {hi:+.3f}], DeLong p = {p:.2g}")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Spread per system with its interval; returns the Axes."""
        from calibrate.plots import ensure_axes

        ax = ensure_axes(ax)
        t = self.systems
        y = np.arange(len(t))
        err = np.vstack([t["spread"] - t["spread_ci_low"], t["spread_ci_high"] - t["spread"]]) * 100
        ax.errorbar(t["spread"] * 100, y, xerr=err, fmt="o", color="#333333", capsize=3)
        ax.set_yticks(y, t["system"].tolist())
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.set_xlabel("renewal-rate spread, top class - red class (points)")
        return ax

    def _repr_html_(self) -> str:
        return self.systems.to_html(index=False, float_format=lambda v: f"{v:.3f}")

    def __repr__(self) -> str:
        return f"<SystemComparison {len(self.systems)} systems on {self.n:,} rows>"


def compare_systems(
    data: Accounts,
    config: WeightConfig | None = None,
    *,
    tree: RuleTree | str | os.PathLike[str] = "seed_001",
    tune: bool = True,
    tiers: bool = True,
    test_from: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> SystemComparison:
    """Compare the weighted score, the rule tree (seed and tuned) and the activity tiers on the same rows.

    Parameters
    ----------
    data : Accounts
    config : WeightConfig, optional
        The weighted score; fitted on the rows before ``test_from`` when omitted.
    tree : RuleTree, path or built-in name, default ``"seed_001"``
    tune : bool, default True
        Also tune the tree's thresholds on the earlier rows (:func:`calibrate.systems.rules_tune.tune_tree`).
    tiers : bool, default True
        Include the activity tiers (needs ``csm_contacts_per_month``).
    test_from : str, optional
        First snapshot date of the comparison rows (default: the last quarter of the snapshot dates).
    n_boot, seed : int

    Returns
    -------
    SystemComparison
    """
    from calibrate import _stats
    from calibrate.fit.weights import fit_weights
    from calibrate.fit.draft import build_config
    from calibrate.systems.rules_tune import default_test_from, tune_tree
    from calibrate.score.scorer import score_frame
    from calibrate.systems.tiers import activity_tiers
    from calibrate.validation.separation import validate

    tree = read_tree(tree)
    cut = pd.Timestamp(test_from) if test_from else default_test_from(data.frame)
    is_test = (data.frame["snapshot_date"] >= cut).to_numpy()
    train, test = data.subset(~is_test), data.subset(is_test)
    if config is None:
        config = build_config(fit_weights(train), train, seed=seed)
    rows = [_row("weighted score", validate(test, config, n_boot=n_boot, seed=seed)),
            _row("rule tree (seed)", validate_tree(test, tree, n_boot=n_boot, seed=seed).validation)]
    if tune:
        tuned = tune_tree(data, tree, test_from=str(cut.date()), n_boot=n_boot, seed=seed)
        rows.append(_row("rule tree (tuned)", tuned.validation_tuned.validation))
    if tiers and "csm_contacts_per_month" in test.frame:
        rows.append(_row("activity tiers", activity_tiers(test, n_boot=n_boot, seed=seed).validation))
    scored = score_frame(test.frame, config, contributions=False, by="column")
    score_red = scored["band_index"].to_numpy() <= config.band_names.index(config.red_band)
    classes = classify(test.frame, tree)["class_index"].to_numpy()
    tree_red = classes <= [o.name for o in tree.outcomes].index(tree.red_outcome)
    y = test.frame["renewed"].to_numpy(dtype=int)
    cells = {"both red": score_red & tree_red, "score red only": score_red & ~tree_red,
             "tree red only": ~score_red & tree_red, "neither": ~score_red & ~tree_red}
    k = np.array([y[m].sum() for m in cells.values()])
    n = np.array([m.sum() for m in cells.values()])
    lo, hi = _stats.wilson_interval(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = k / n
    dis = pd.DataFrame({"cell": list(cells), "n": n, "renewed": k, "renewal_rate": rate, "ci_low": lo, "ci_high": hi})
    paired = _stats.delong_paired(y, scored["score"].to_numpy(), classes.astype(float))
    return SystemComparison(systems=pd.DataFrame(rows), disagreement=dis,
                            auc_diff=(paired.diff, paired.ci_low, paired.ci_high, paired.pvalue),
                            test_from=str(cut.date()), n=len(test))
