"""Dimensions from raw signals, and score-to-probability calibration stored in the config.

A *raw spec* (:class:`RawSpec`, a small JSON file) declares each dimension as one raw column and a
transform to 0–100:

* ``"percentile"`` — the mid-rank percentile of the value in the training sample, stored as up to
  ``n_knots`` quantile knots and interpolated linearly between them (a knot holding ties is flanked
  by two knots a millionth of the gap to its neighbours, so a value just above a pile of ties ranks
  above the whole pile);
* ``"minmax"`` — linear from the ``clip[0]``-th to the ``clip[1]``-th percentile of the training
  sample (0 below, 100 above);

and its direction (``lower_is_healthier`` for signals such as complaints or call failures).
:func:`fit_transforms` learns the knots on a training frame (no outcome used), :func:`apply_spec`
derives the healthy-oriented dimension columns to fit on, and :func:`attach_transforms` writes the
transforms into a fitted config so :func:`calibrate.score.scorer.score_frame` reproduces the score from
the raw columns exactly (``by="column"``).

:func:`calibrate.fit.isotonic_calibration` stores an isotonic score → renewal-probability map in the config
(``Calibration(method="isotonic")``; logistic stays the default).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from calibrate._params import Options, validate_params
from calibrate.config.direction import DIRECTIONS, Direction, healthy
from calibrate.config.model import Transform, WeightConfig
from calibrate.errors import ConfigError, FitError

__all__ = [
    "RawDimension",
    "RawSpec",
    "read_raw_spec",
    "fit_transform",
    "fit_transforms",
    "apply_spec",
    "attach_transforms",
    "apply_transform",
    "category_key",
]

_TIE_FLANK = 1e-6
"""Where a tied knot's flanking knots sit, as a share of the gap to the neighbouring knot."""

_MIN_KNOT_GAP = 1e-300
"""Knots closer than this are one knot: interpolating 0–100 over a narrower gap overflows (slope > 1.8e308)."""


@dataclass(frozen=True)
class RawDimension:
    """One dimension derived from one raw column."""

    name: str
    column: str
    transform: Literal["percentile", "minmax"] = "percentile"
    direction: Direction = "higher_is_healthier"
    clip: tuple[float, float] = (1.0, 99.0)
    n_knots: int = 101


@dataclass(frozen=True)
class RawSpec:
    """How raw columns become dimensions, and where the outcome is.

    Attributes
    ----------
    dimensions : tuple of RawDimension
    outcome : str
        The outcome column.
    outcome_is_churn : bool
        The outcome column marks churn (1 = churned), so ``renewed = 1 − outcome``.
    account_id : str or None
        The id column; ``None`` numbers the rows (``<id_prefix>00001``…, 1-based file rows).
    id_prefix : str
    drop_duplicates : bool
        Drop rows that are exact duplicates of an earlier row (reported by the loader).
    source, attribution : str
        The data file (relative to the spec) and its credit line.
    """

    dimensions: tuple[RawDimension, ...]
    outcome: str
    outcome_is_churn: bool = False
    account_id: str | None = None
    id_prefix: str = "R"
    drop_duplicates: bool = False
    source: str = ""
    attribution: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        """Dimension names, in spec order."""
        return tuple(d.name for d in self.dimensions)


def category_key(value: object) -> str | None:
    """A category label as a learned transform stores it: the text, stripped; ``None`` for a missing or blank value.

    The SQL export compares ``TRIM(CAST(column AS text))`` with the same keys.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    text = str(value).strip()
    return text or None


def apply_transform(raw: np.ndarray, transform: Transform | None) -> np.ndarray:
    """A raw column as a 0–100 sub-score (the one place a stored transform is applied in Python).

    The interpolating kinds are ``numpy.interp`` over the transform's knots (NaN stays NaN). A ``binned`` transform
    gives each value its bin's points (``numpy.searchsorted`` on the cut-points, ``side="right"``: a value equal to a
    cut is in the bin it starts), a categorical one each label's points (:func:`category_key`; an unlisted label is
    missing), and a missing value the transform's ``missing`` points (or NaN). Without a transform the values are
    returned as floats, unchanged.
    """
    if transform is not None and transform.kind == "binned" and transform.categories is not None:
        keys = [category_key(v) for v in np.asarray(raw, dtype=object)]
        gap = np.nan if transform.missing is None else transform.missing
        return np.array([gap if k is None else transform.categories.get(k, gap) for k in keys], dtype=float)
    raw = np.asarray(raw, dtype=float)
    if transform is None:
        return raw
    if transform.kind == "binned":
        out = np.asarray(transform.values, dtype=float)[np.searchsorted(transform.knots, raw, side="right")]
        return np.where(np.isnan(raw), np.nan if transform.missing is None else transform.missing, out)
    return np.interp(raw, transform.knots, transform.values)


def read_raw_spec(path: str | os.PathLike[str]) -> RawSpec:
    """Read a raw spec JSON file (see ``data/iranian-churn/spec.json``).

    Raises
    ------
    ConfigError
        Missing file, bad JSON, an unknown key or transform.
    """
    p = Path(path)
    try:
        doc: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
        dims = tuple(
            RawDimension(**{**d, "clip": tuple(d.get("clip", (1.0, 99.0)))}) for d in doc.pop("dimensions")
        )
        spec = RawSpec(dimensions=dims, **{k: tuple(v) if k == "notes" else v for k, v in doc.items()})
    except FileNotFoundError:
        raise ConfigError(f"{p}: raw spec not found; pass the path of a spec.json") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{p}: not a valid raw spec ({exc}); see data/iranian-churn/spec.json") from None
    for d in spec.dimensions:
        if d.transform not in {"percentile", "minmax"} or d.direction not in DIRECTIONS:
            raise ConfigError(
                f"{p}: dimension {d.name!r}: transform must be 'percentile' or 'minmax' and direction "
                f"'higher_is_healthier' or 'lower_is_healthier'; got {d.transform!r}, {d.direction!r}"
            )
    return spec


@validate_params({"kind": [Options("percentile", "minmax")]})
def fit_transform(
    raw: np.ndarray | pd.Series,
    *,
    kind: Literal["percentile", "minmax"] = "percentile",
    clip: tuple[float, float] = (1.0, 99.0),
    n_knots: int = 101,
    column: str = "column",
) -> Transform:
    """Learn a raw → 0–100 transform from a training sample (missing values ignored).

    Parameters
    ----------
    raw : array_like
    kind : {"percentile", "minmax"}
        Percentile rank (knots at ``n_knots`` quantiles, each mapped to its mid-rank percentile
        ``100·(#below + ½·#equal)/n``, tied knots flanked by two knots just below and above) or min-max
        between the ``clip`` percentiles.
    clip : (float, float), default (1, 99)
        Percentiles of the sample mapped to 0 and 100 (``minmax``); ``(0, 100)`` is plain min-max.
    n_knots : int, default 101
    column : str
        Named in error messages.

    Returns
    -------
    Transform

    Raises
    ------
    FitError
        The column is constant (or empty) in the sample.
    """
    x = np.asarray(raw, dtype=float)
    x = np.sort(x[~np.isnan(x)])
    if x.size == 0 or x[-1] - x[0] <= _MIN_KNOT_GAP:
        raise FitError(f"column {column!r} is constant in the training sample; a transform cannot spread it over 0-100")
    if kind == "minmax":
        lo, hi = np.percentile(x, clip)
        if hi - lo <= _MIN_KNOT_GAP:  # a heavy tie at the clip points: fall back to the range
            lo, hi = x[0], x[-1]
        return Transform(kind="minmax", knots=[float(lo), float(hi)], values=[0.0, 100.0],
                         options={"clip_low": float(clip[0]), "clip_high": float(clip[1])})
    knots = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_knots)))
    tied = np.searchsorted(x, knots, side="right") - np.searchsorted(x, knots, side="left") > 1
    # a pile of ties jumps by its size: flank each tied knot a millionth of the gap to its neighbours, so a
    # value just below / above the pile gets the mid-rank of an untied value (#below / #up to and including)
    gap = np.diff(knots) * _TIE_FLANK
    flanks = np.concatenate([(knots[1:] - gap)[tied[1:]], (knots[:-1] + gap)[tied[:-1]]])
    knots = np.unique(np.concatenate([knots, flanks]))
    knots = knots[np.concatenate([[True], np.diff(knots) > _MIN_KNOT_GAP])]  # (only subnormal gaps: none in data)
    below = np.searchsorted(x, knots, side="left")
    upto = np.searchsorted(x, knots, side="right")
    values = 100.0 * (below + upto) / (2.0 * x.size)
    return Transform(kind="percentile", knots=knots.tolist(), values=values.tolist(), options={"n_knots": float(n_knots)})


def fit_transforms(frame: pd.DataFrame, spec: RawSpec) -> dict[str, Transform]:
    """Each spec dimension's transform, learnt on ``frame`` (the training sample)."""
    return {
        d.name: fit_transform(frame[d.column], kind=d.transform, clip=d.clip, n_knots=d.n_knots, column=d.column)
        for d in spec.dimensions
    }


def apply_spec(frame: pd.DataFrame, spec: RawSpec, transforms: dict[str, Transform]) -> pd.DataFrame:
    """The healthy-oriented 0–100 dimension columns (one per spec dimension), same index as ``frame``.

    An inverted dimension (``lower_is_healthier``) gives ``100 − transform(raw)``, so every
    derived column is higher-is-healthier and can be fitted directly; :func:`attach_transforms`
    puts the inversion back into the config's ``direction``.
    """
    out = {}
    for d in spec.dimensions:
        value = apply_transform(frame[d.column].to_numpy(dtype=float, na_value=np.nan), transforms[d.name])
        out[d.name] = healthy(value, d.direction)
    return pd.DataFrame(out, index=frame.index)


def attach_transforms(config: WeightConfig, spec: RawSpec, transforms: dict[str, Transform]) -> WeightConfig:
    """``config`` (fitted on :func:`apply_spec` columns) re-pointed at the raw columns with their transforms.

    ``score_frame(raw, result, by="column")`` equals ``score_frame(derived, config, by="name")``.
    """
    by_name = {d.name: d for d in spec.dimensions}
    missing = [d.name for d in config.dimensions if d.name not in by_name]
    if missing:
        raise ConfigError(f"config dimension(s) {missing} are not in the raw spec; fit on the spec's dimensions")
    dims = [
        d.model_copy(update={"column": by_name[d.name].column, "direction": by_name[d.name].direction,
                             "transform": transforms[d.name]})
        for d in config.dimensions
    ]
    return config.model_copy(update={"dimensions": dims, "content_hash": None})
