"""Per-segment weights with partial pooling toward the global weights.

Each segment ``s`` gets its own simplex fit (own intercept, slope and weights) with the stability
penalty of :mod:`calibrate.fit.simplex` pulling its weights toward the *global* fit's:
``λₛ·‖v − (Σv)·w_global‖² / b̂²`` with ``b̂`` the global slope, i.e. ``λₛ·(b/b̂)²·‖wₛ − w_global‖²``
added to the segment's mean log-loss per row.

``pooling="auto"`` picks ``λₛ`` from :data:`SEGMENT_GRID` per segment by grouped cross-validation
(:data:`N_FOLDS` folds by account: a seeded shuffle of the accounts dealt round-robin): on each fold the
global anchor is refitted on the training accounts, every segment's penalised fits on its own training
accounts, and the log-loss is taken on the segment's held-out accounts; the largest ``λ`` within 1e-12 of
the least mean loss wins, so a small, noisy segment is pulled harder than a big one.
``pooling="none"`` fits every segment on its own (``λ = 0``); ``pooling="full"`` gives every segment
the global weights. A segment with fewer than ``MIN_EVENTS_PER_DIMENSION`` churns (or renewals) per
dimension cannot be fitted on its own: ``auto`` gives it the global weights (and says so); ``none`` refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calibrate.config.model import SCHEMA_VERSION, WeightConfig
from calibrate.config.segments import SegmentWeights
from calibrate.data.load import Accounts
from calibrate.errors import FitError
from calibrate.fit.result import MIN_EVENTS_PER_DIMENSION, FitResult, _arrays, _oriented, _train_subset
from calibrate.fit.simplex import resolve_bounds, solve_simplex
from calibrate.score.scorer import segment_labels

__all__ = ["SEGMENT_GRID", "POOLING", "SegmentFit", "fit_segments", "with_segments"]

POOLING: tuple[str, ...] = ("auto", "none", "full")

SEGMENT_GRID: tuple[float, ...] = (0.0, 1e-4, 3e-4, 0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 100.0)
"""Pooling strengths ``pooling="auto"`` tries per segment, scored by grouped cross-validated log-loss."""

N_FOLDS = 5
"""Account-grouped folds of the ``auto`` strength choice."""


@dataclass(frozen=True)
class SegmentFit:
    """Per-segment weights and how strongly each was pooled toward the global weights.

    Attributes
    ----------
    column : str
        The segment column (as loaded).
    pooling : {"auto", "none", "full"}
    weights : dict
        Segment → dimension → weight (each on the simplex).
    strength : dict
        Segment → the ``λ`` used (``inf`` for the global weights).
    n, n_events : dict
        Segment → rows, churn events.
    cv_loss : dict
        Segment → ``repr(λ)`` → mean held-out log-loss (``auto`` only).
    notes : dict
        Segment → why it got the global weights (too few events), when it did.
    """

    column: str
    pooling: str
    weights: dict[str, dict[str, float]]
    strength: dict[str, float]
    n: dict[str, int]
    n_events: dict[str, int]
    cv_loss: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (an infinite strength is written ``None``: the global weights)."""
        return {"column": self.column, "pooling": self.pooling, "weights": self.weights,
                "strength": {s: (None if np.isinf(v) else v) for s, v in self.strength.items()},
                "n": self.n, "n_events": self.n_events, "cv_loss": self.cv_loss, "notes": self.notes}

    def summary(self) -> str:
        """One line per segment: its weights and pooling strength."""
        lines = [f"segment weights by {self.column!r} (pooling {self.pooling}):"]
        for s, w in self.weights.items():
            lam = self.strength[s]
            how = "global weights" if np.isinf(lam) else f"lambda {lam:g}"
            text = "  ".join(f"{k} {x:.3f}" for k, x in w.items())
            lines.append(f"  {s:<14} {text}  ({self.n[s]:,} rows, {self.n_events[s]:,} churned; {how})"
                         + (f"  <- {self.notes[s]}" if s in self.notes else ""))
        return "\n".join(lines)


def _enough(y: np.ndarray, k: int) -> bool:
    return min(int((y == 0).sum()), int((y == 1).sum())) >= MIN_EVENTS_PER_DIMENSION * k


def _penalised(x: np.ndarray, y: np.ndarray, lam: float, anchor: tuple[np.ndarray, float],
               bounds: Any, theta0: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    target, scale = anchor
    v, a, _, _ = solve_simplex(x, y, bounds=bounds, stability=lam, target=target, slope_scale=scale, theta0=theta0)
    return v, a


def _global_anchor(x: np.ndarray, y: np.ndarray, bounds: Any) -> tuple[np.ndarray, float]:
    v, _, _, _ = solve_simplex(x, y, bounds=bounds)
    b = max(float(v.sum()), 1e-6)
    return v / b, b


def _cv_losses(x: np.ndarray, y: np.ndarray, seg: np.ndarray, groups: np.ndarray, segments: list[str],
               bounds: Any, grid: tuple[float, ...], seed: int) -> dict[str, dict[str, float]]:
    """Mean held-out log-loss per segment and strength, over account-grouped folds."""
    codes, uniques = pd.factorize(groups, sort=True)
    fold_of = np.random.default_rng(seed).permutation(len(uniques))[codes] % N_FOLDS
    losses = {s: {repr(lam): 0.0 for lam in grid} for s in segments}
    counts = dict.fromkeys(segments, 0)
    for k in range(N_FOLDS):
        train, test = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
        anchor = _global_anchor(x[train], y[train], bounds)
        for s in segments:
            tr, te = train[seg[train] == s], test[seg[test] == s]
            counts[s] += len(te)
            theta = None
            for lam in grid:
                v, a = _penalised(x[tr], y[tr], lam, anchor, bounds, theta)
                theta = np.concatenate(([a], v))
                eta = a + x[te] @ v
                losses[s][repr(lam)] += float(np.sum(np.logaddexp(0.0, eta) - y[te] * eta))
    return {s: {k: v / counts[s] for k, v in losses[s].items()} for s in segments}


def fit_segments(
    data: Accounts,
    fit: FitResult,
    *,
    column: str,
    pooling: str = "auto",
    train_until: str | None = None,
    seed: int = 0,
    grid: tuple[float, ...] = SEGMENT_GRID,
) -> SegmentFit:
    """Per-segment weights, pooled toward the global ``fit`` (module docstring).

    Parameters
    ----------
    data : Accounts
        The training data (all segments), as the global fit saw it.
    fit : FitResult
        The global simplex fit on ``data``: the anchor and the directions.
    column : str
        The segment column of ``data.frame``.
    pooling : {"auto", "none", "full"}, default "auto"
    train_until : str, optional
        Fit on snapshots up to this ISO date only (as the global fit).
    seed : int, default 0
        Seed of the cross-validation folds.
    grid : tuple of float
        Strengths ``auto`` chooses from.

    Returns
    -------
    SegmentFit

    Raises
    ------
    FitError
        An unknown column or pooling, a logit global fit, or (``none``) a segment too small to fit alone.
    """
    if pooling not in POOLING:
        raise FitError(f"pooling must be one of {list(POOLING)}; got {pooling!r}")
    if fit.method != "simplex":
        raise FitError("segment weights pool simplex fits; drop --method logit or --by-segment")
    if fit.options.get("weight_by"):
        raise FitError("segment weights are fitted on unweighted rows; drop --weight-by or --by-segment")
    data = _train_subset(data, train_until)
    if column not in data.frame:
        raise FitError(f"segment column {column!r} is not in the data (columns {list(data.frame.columns)[:12]}); "
                       "name an existing column with --by-segment")
    seg = segment_labels(data.frame, column)
    if any(s is None for s in seg):
        raise FitError(f"segment column {column!r} has missing values (first at row "
                       f"{next(i for i, s in enumerate(seg) if s is None)}); fill them or drop those rows")
    names = tuple(fit.weights)
    x, y, groups, _ = _arrays(data)
    x = _oriented(x, names, fit.directions, copy=False)
    segments = sorted(set(seg))
    bounds = resolve_bounds(names, **{k: fit.options.get(k) for k in ("floor", "cap", "fixed")})
    w_global = np.array([fit.weights[n] for n in names])
    anchor = (w_global, max(100.0 * fit.slope, 1e-6))
    sizes = {s: int((seg == s).sum()) for s in segments}
    events = {s: int((y[seg == s] == 0).sum()) for s in segments}
    small = [s for s in segments if not _enough(y[seg == s], len(names))]
    if pooling == "none" and small:
        raise FitError(f"segment {small[0]!r} has too few churn or renewal events to fit alone "
                       f"({MIN_EVENTS_PER_DIMENSION} per dimension needed); use --pooling auto or full")
    notes = {s: "too few events to fit alone: global weights" for s in small} if pooling == "auto" else {}
    cv: dict[str, dict[str, float]] = {}
    if pooling == "full":
        strength = dict.fromkeys(segments, np.inf)
    elif pooling == "none":
        strength = dict.fromkeys(segments, 0.0)
    else:
        fitted = [s for s in segments if s not in small]
        cv = _cv_losses(x, y, seg, groups, fitted, bounds, grid, seed) if fitted else {}
        strength = dict.fromkeys(small, np.inf)
        for s, losses in cv.items():
            best = min(losses.values())
            strength[s] = max(lam for lam in grid if losses[repr(lam)] <= best + 1e-12)
    weights: dict[str, dict[str, float]] = {}
    for s in segments:
        if np.isinf(strength[s]):
            w = w_global
        else:
            rows = seg == s
            v, _ = _penalised(x[rows], y[rows], strength[s], anchor, bounds)
            if v.sum() <= 1e-10:
                raise FitError(f"segment {s!r}: no dimension is positively associated with renewal; "
                               "use --pooling full or check the segment's data")
            w = v / v.sum()
        weights[s] = {n: float(wi) for n, wi in zip(names, w)}
    return SegmentFit(column=column, pooling=pooling, weights=weights, strength={s: float(strength[s]) for s in segments},
                      n=sizes, n_events=events, cv_loss=cv, notes=notes)


def with_segments(config: WeightConfig, segments: SegmentFit, data: Accounts) -> WeightConfig:
    """``config`` holding ``segments``' weights (schema 1.1), read from the user's column for the segment.

    The pooling, each segment's strength and the cross-validated losses go in the provenance options.
    """
    column = data.spec.column(segments.column)
    record = {"by_segment": segments.column, "pooling": segments.pooling,
              "segment_strength": segments.to_dict()["strength"], "segment_cv_loss": segments.cv_loss}
    provenance = None if config.provenance is None else config.provenance.model_copy(
        update={"options": {**config.provenance.options, **record}})
    weights = {s: {d.name: w[d.name] for d in config.dimensions} for s, w in segments.weights.items()}
    segment_weights = SegmentWeights(column=column, name=None if column == segments.column else segments.column,
                                     weights=weights)
    return WeightConfig.model_validate(config.model_dump() | {
        "schema_version": SCHEMA_VERSION, "provenance": None if provenance is None else provenance.model_dump(),
        "content_hash": None, "segments": segment_weights.model_dump()})  # validated: the segments name the dimensions
