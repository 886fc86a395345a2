"""What the what-if explorer computes: a config's figures for weights and cut-points the user picks.

:class:`Explorer` holds the data and the config being explored. :meth:`Explorer.evaluate` turns a
request body ``{"weights": {dimension: w}, "cuts": [c1, c2, ...]}`` into a candidate config (the
config with those global weights and band edges) and answers with what
:func:`calibrate.validation.separation.validate` gives for it — the same function ``calibrate validate``
runs, so the page shows the figures the command would — plus the band-migration matrix against the
config, the accounts in red (at their latest snapshot) and the score distribution by outcome.
Aggregates only: no account row is ever in an answer.

The explorer moves the *global* weights: a config's segment weights are left out of the candidate
(and of the draft it writes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibrate.config.model import Band, Calibration, Provenance, WeightConfig, atomic_write_text
from calibrate.data.load import Accounts
from calibrate.errors import CalibrateError
from calibrate.fit.heldout import fit_link
from calibrate.score.scorer import score_frame
from calibrate.validation.separation import decided_mask, validate

__all__ = ["ExploreError", "Explorer", "WEIGHT_SUM_TOLERANCE", "HISTOGRAM_EDGES"]

WEIGHT_SUM_TOLERANCE = 1e-6
"""How far from 1 the weights of a request may sum (they are then divided by their sum)."""

HISTOGRAM_EDGES: tuple[float, ...] = tuple(float(x) for x in range(0, 101, 5))
"""Bins of the score distribution by outcome (the top bin includes 100)."""


class ExploreError(CalibrateError):
    """A request the explorer refuses (HTTP 400): the message says what is wrong and how to fix it."""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ExploreError(f"{what} must be a finite number; got {value!r}")
    return float(value)


@dataclass
class Explorer:
    """The data and config a what-if session explores (see the module docstring).

    Parameters
    ----------
    data : Accounts
        Snapshots with outcomes (pending renewals are counted apart, as by ``calibrate validate``).
    config : WeightConfig
        The config the user starts from; the migration matrix compares against it.
    n_boot, seed :
        Bootstrap resamples and seed of the intervals (as ``calibrate validate --n-boot --seed``).
    """

    data: Accounts
    config: WeightConfig
    n_boot: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        self._base_bands = score_frame(self.data.frame, self.config, contributions=False, by="name")[
            "band_index"].to_numpy()

    # -- requests ------------------------------------------------------------------------------
    def candidate(self, body: Any) -> WeightConfig:
        """The config a request body describes: this config's global weights and band edges replaced.

        Raises
        ------
        ExploreError
            Not an object with exactly ``weights`` and ``cuts``; weights not naming the config's dimensions,
            negative, or not summing to 1; cuts not strictly increasing inside (0, 100), or not one fewer than the bands.
        """
        if not isinstance(body, dict) or set(body) != {"weights", "cuts"}:
            raise ExploreError('the body must be a JSON object {"weights": {dimension: w}, "cuts": [c1, ...]}')
        weights, cuts = body["weights"], body["cuts"]
        names = [d.name for d in self.config.dimensions]
        if not isinstance(weights, dict) or sorted(weights) != sorted(names):
            raise ExploreError(f"weights must name exactly the dimensions {names}")
        w = {n: _number(weights[n], f"weight of {n!r}") for n in names}
        if any(x < 0 for x in w.values()):
            raise ExploreError("weights must be >= 0")
        total = sum(w.values())
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ExploreError(f"weights must sum to 1 (within {WEIGHT_SUM_TOLERANCE:g}); they sum to {total!r}")
        k = len(self.config.bands) - 1
        if not isinstance(cuts, list) or len(cuts) != k:
            raise ExploreError(f"cuts must be a list of {k} band edges (between the bands {self.config.band_names})")
        edges = [_number(c, "a cut") for c in cuts]
        if any(not 0.0 < c < 100.0 for c in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ExploreError(f"cuts must be strictly increasing and inside (0, 100); got {edges}")
        bounds = [0.0, *edges, 100.0]
        bands = [Band(**{**b.model_dump(), "min": lo, "max": hi})
                 for b, lo, hi in zip(self.config.bands, bounds, bounds[1:])]
        dims = [d.model_copy(update={"weight": w[d.name] / total}) for d in self.config.dimensions]
        return WeightConfig.model_validate(self.config.model_dump() | {
            "dimensions": [d.model_dump() for d in dims], "bands": [b.model_dump() for b in bands],
            "segments": None, "content_hash": None})

    def evaluate(self, body: Any) -> dict[str, Any]:
        """The figures of the candidate a request body describes (module docstring); fractions in [0, 1].

        Returns
        -------
        dict
            ``auc``, ``auc_ci``, ``spread``, ``spread_ci``, ``bands`` (``name``, ``share``, ``renewal_rate``,
            ``n``), ``migration`` (rows: the config's bands, columns: the candidate's, in band order; counts),
            ``band_names``, ``red_band``, ``red_accounts`` and ``accounts`` (accounts in the red band or below at
            their latest snapshot, of all accounts), ``distribution`` (``edges`` and the ``renewed``/``churned``
            counts per bin), ``weights`` and ``cuts`` as used.
        """
        cfg = self.candidate(body)
        v = validate(self.data, cfg, n_boot=self.n_boot, seed=self.seed, red_metrics=False)
        scored = score_frame(self.data.frame, cfg, contributions=False, by="name")
        band = scored["band_index"].to_numpy()
        k = len(cfg.bands)
        both = (band >= 0) & (self._base_bands >= 0)
        migration = np.zeros((k, k), dtype=int)
        np.add.at(migration, (self._base_bands[both], band[both]), 1)
        return {
            "auc": v.auc, "auc_ci": list(v.auc_ci), "spread": v.spread, "spread_ci": list(v.spread_ci),
            "bands": [{"name": b.name, "share": b.share, "renewal_rate": b.renewal_rate, "n": b.n} for b in v.bands],
            "migration": migration.tolist(), "band_names": cfg.band_names, "red_band": cfg.red_band,
            **self._red_accounts(band, cfg), "distribution": self._distribution(scored["score"].to_numpy()),
            "weights": cfg.weights, "cuts": [b.min for b in cfg.bands[1:]],
        }

    def state(self) -> dict[str, Any]:
        """What the page starts from: the config's dimensions, weights, cuts, bands and the data's size."""
        cfg = self.config
        return {"name": cfg.name, "version": cfg.version, "dimensions": [d.name for d in cfg.dimensions],
                "weights": cfg.weights, "cuts": [b.min for b in cfg.bands[1:]], "band_names": cfg.band_names,
                "band_colors": [b.color for b in cfg.bands], "red_band": cfg.red_band, "rows": len(self.data),
                "accounts": self.data.n_accounts, "has_segments": cfg.segments is not None}

    def write_draft(self, body: Any, path: str | Path) -> Path:
        """Write the candidate as an unpublished draft (version 0, no seal) for ``calibrate config publish``.

        Its logistic calibration is refitted on the explored data's decided rows; the fit-time baseline and drift
        reference of the old weights are dropped (publishing through ``calibrate fit``/``run`` computes them).
        """
        cfg = self.candidate(body)
        frame = self.data.frame
        decided = decided_mask(frame)
        score = score_frame(frame, cfg, contributions=False, by="name")["score"].to_numpy()[decided]
        y = frame["renewed"].to_numpy(dtype=float)[decided]
        intercept, slope = fit_link(score, y)
        start, end = self.data.period
        provenance = Provenance(
            method="explore", options={"from_version": cfg.version, "from_content_hash": self.config.content_hash},
            training_rows=int(decided.sum()), training_accounts=int(frame.loc[decided, "account_id"].nunique()),
            training_events=int((y == 0).sum()), period_start=start, period_end=end,
            data_source=self.data.source, data_sha256=self.data.sha256, seed=self.seed)
        draft = cfg.model_copy(update={
            "version": 0, "parent_version": self.config.version or None, "created_at": "",
            "calibration": Calibration(intercept=intercept, slope=slope), "provenance": provenance,
            "validation": None, "reference": None, "content_hash": None})
        target = Path(path)
        atomic_write_text(target, draft.to_json())
        return target

    # -- parts ---------------------------------------------------------------------------------
    def _red_accounts(self, band: np.ndarray, cfg: WeightConfig) -> dict[str, int]:
        frame = self.data.frame
        red = cfg.band_names.index(cfg.red_band)
        order = frame["snapshot_date"].to_numpy() if "snapshot_date" in frame else np.arange(len(frame))
        latest = (frame.assign(_band=band, _order=order).sort_values("_order", kind="stable")
                  .drop_duplicates("account_id", keep="last"))
        in_red = (latest["_band"] >= 0) & (latest["_band"] <= red)
        return {"red_accounts": int(in_red.sum()), "accounts": int(len(latest))}

    def _distribution(self, score: np.ndarray) -> dict[str, Any]:
        frame = self.data.frame
        decided = decided_mask(frame) & ~np.isnan(score)
        y = frame["renewed"].to_numpy(dtype=float)
        edges = np.array(HISTOGRAM_EDGES)
        counts = {label: np.histogram(score[decided & (y == value)], bins=edges)[0].tolist()
                  for label, value in (("renewed", 1.0), ("churned", 0.0))}
        return {"edges": list(HISTOGRAM_EDGES), **counts}
