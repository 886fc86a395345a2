"""Per-segment figures, and whether each segment's own weights beat the global ones on later data.

For a config with segment weights, :func:`segment_tests` gives every segment its validation figures
(AUC, green−red spread with its interval, on that segment's rows, scored as the config scores them) and
runs the champion/challenger test (:func:`calibrate.compare.champion.champion_challenger`) inside the
segment: on one out-of-time split, the global weights and the segment weights are both refitted on the
earlier snapshots (global simplex fit, then :func:`calibrate.fit.segments.fit_segments` with the same
pooling) and judged on the segment's later rows. **adopt** = the segment's weights predict its later
renewals better; **keep current** = the global weights do as well for that segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from calibrate.compare.champion import ChampionChallenger, champion_challenger
from calibrate.config.model import WeightConfig
from calibrate.data.load import Accounts
from calibrate.fit.draft import build_config
from calibrate.fit.folds import Fold, out_of_time_split
from calibrate.fit.heldout import with_weights
from calibrate.fit.segments import fit_segments
from calibrate.fit.weights import fit_weights
from calibrate.score.scorer import segment_labels
from calibrate.validation.separation import validate

__all__ = ["SegmentFigures", "SegmentTests", "segment_tests"]


@dataclass(frozen=True)
class SegmentFigures:
    """One segment's validation figures and its out-of-time adopt/keep test (``None`` when not run: ``note``)."""

    segment: str
    n: int
    auc: float
    spread: float | None
    spread_ci: tuple[float | None, float | None]
    test: ChampionChallenger | None
    note: str = ""

    @property
    def decision(self) -> str | None:
        """``"adopt"`` (the segment's weights), ``"keep current"`` (the global ones), or None (not tested)."""
        return None if self.test is None else self.test.decision

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures (the test's log-loss gain and AUC difference with their intervals)."""
        t = self.test
        return {"segment": self.segment, "n": self.n, "auc": self.auc, "spread": self.spread,
                "spread_ci": list(self.spread_ci), "decision": self.decision, "note": self.note,
                "log_loss_gain": None if t is None else list(t.log_loss_gain),
                "auc_diff": None if t is None else list(t.auc_diff),
                "reasons": [] if t is None else list(t.reasons)}


@dataclass(frozen=True)
class SegmentTests:
    """Every segment's figures (sorted by segment)."""

    column: str
    segments: tuple[SegmentFigures, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the column and one entry per segment."""
        return {"column": self.column, "segments": [s.to_dict() for s in self.segments]}

    def summary(self) -> str:
        """One line per segment: AUC, spread and the out-of-time decision."""
        lines = [f"per segment ({self.column}): AUC, green-red spread [95 % interval], segment vs global weights "
                 "out of time"]
        for s in self.segments:
            spread = "n/a" if s.spread is None else f"{s.spread:+.3f} [{s.spread_ci[0]:+.3f}, {s.spread_ci[1]:+.3f}]"
            verdict = (f"{'adopt segment weights' if s.decision == 'adopt' else 'keep global weights'} "
                       f"({s.test.reasons[0]})" if s.test is not None else s.note)
            lines.append(f"  {s.segment:<14} n {s.n:>7,}  AUC {s.auc:.3f}  spread {spread}  {verdict}")
        return "\n".join(lines)


def _within(mask: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions, inside the rows where ``mask`` holds, of the row positions ``rows``."""
    picked = np.zeros(len(mask), dtype=bool)
    picked[rows] = True
    return np.flatnonzero(picked[mask])


def segment_tests(
    data: Accounts,
    config: WeightConfig,
    *,
    fit_options: Mapping[str, Any] | None = None,
    pooling: str = "auto",
    n_boot: int = 1000,
    seed: int = 0,
) -> SegmentTests:
    """Per-segment figures of ``config`` and the out-of-time segment-vs-global test (module docstring).

    Parameters
    ----------
    data : Accounts
        Snapshots with outcomes and the config's segment column (as loaded).
    config : WeightConfig
        A config with segment weights.
    fit_options : dict, optional
        The options of the global fit (:func:`calibrate.fit_weights`), refitted on the earlier snapshots.
    pooling : {"auto", "none", "full"}
        The pooling the segment weights were fitted with.
    n_boot, seed : bootstrap resamples and seed of the intervals.

    Returns
    -------
    SegmentTests
    """
    assert config.segments is not None, "segment_tests needs a config with segment weights"
    column = config.segments.name or config.segments.column
    labels = segment_labels(data.frame, column)
    options = {k: v for k, v in (fit_options or {}).items() if k != "train_until"}
    fold = base = seg_fit = None
    has_time = "snapshot_date" in data.frame and data.frame["snapshot_date"].nunique() >= 2
    if has_time:
        fold = out_of_time_split(data)
        train, _ = fold.split(data)
        global_fit = fit_weights(train, **options)
        seg_fit = fit_segments(train, global_fit, column=column, pooling=pooling, seed=seed)
        base = build_config(global_fit, train, template=config).model_copy(update={"segments": None})
    figures = []
    for segment in config.segments.weights:
        mask = labels == segment
        rows = data.subset(mask)
        v = validate(rows, config, n_boot=n_boot, seed=seed, red_metrics=False)
        test, note = None, "not tested out of time: the data needs at least 2 snapshot dates"
        if fold is not None:
            test_rows = _within(mask, fold.test)
            y = rows.frame["renewed"].to_numpy()[test_rows]
            if seg_fit is None or segment not in seg_fit.weights:
                note = "not tested out of time: the segment has no earlier snapshots"
            elif len(test_rows) == 0 or y.min() == y.max():
                note = "not tested out of time: its later snapshots do not hold both renewals and churns"
            else:
                challenger = with_weights(base, seg_fit.weights[segment])
                test = champion_challenger(rows, challenger, base, n_boot=n_boot, seed=seed,
                                           folds=[Fold(name=fold.name, train=_within(mask, fold.train), test=test_rows)])
                note = ""
        figures.append(SegmentFigures(segment=segment, n=len(rows), auc=v.auc, spread=v.spread,
                                      spread_ci=tuple(v.spread_ci), test=test, note=note))
    return SegmentTests(column=column, segments=tuple(figures))
