"""A raw export through a project spec: keys and labels mapped, signals to 0–100, missing values by the declared rule.

:func:`load_with_spec` is what every data-reading command runs with ``--spec``. Transforms are fitted on the
training rows (no outcome used) unless a config supplies its own (those stored at fit time), so scoring new data
reuses them. The result is ordinary :class:`~calibrate.data.load.Accounts` (each used signal a dimension named like
the signal, 0–100 and healthy-oriented: ``100 − transform(raw)`` for a lower-is-healthier signal, so every method fits
it as higher-is-healthier) and a :class:`RawInput` that puts the transforms, the directions and the input's record
into the fitted config (:meth:`RawInput.attach`). A config then scores these accounts through :func:`name_view`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from calibrate.config.model import Transform, WeightConfig
from calibrate.data.load import Accounts, DataSpec, load_accounts, read_frame
from calibrate.data.spec import Outcome, Signal, Spec, label_key
from calibrate.data.transforms import apply_transform, fit_transform
from calibrate.errors import ConfigError, DataError

__all__ = ["RawInput", "Learner", "load_with_spec", "name_view", "fit_signal_transform", "signal_values",
           "read_source", "outcome_column"]

Learner = Callable[[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, list[Signal]],
                  dict[str, tuple[Transform, np.ndarray]]]
"""Fits the ``learned`` signals together: ``({name: raw values}, renewed, training rows, account ids, signals)`` →
``{name: (final transform, each row's sub-score)}``, out of fold on the training rows
(:func:`calibrate.fit.joint.spec_learner`)."""


@dataclass(frozen=True)
class RawInput:
    """What a spec did to the input: the fitted transforms and the record kept in the config's provenance.

    Attributes
    ----------
    spec : Spec or None
        ``None``: no spec was used (the record then holds only ``oriented``).
    transforms : dict
        Signal name → :class:`~calibrate.config.model.Transform` (numeric signals with a transform).
    imputed : dict
        Signal name → number of values imputed (``missing: median``).
    kept_missing : dict
        Signal name → number of missing values kept (``missing: keep``).
    fill : dict
        Signal name → the sub-score imputed for a missing value (``missing: median``: the training median,
        stored in the config so scoring new data imputes the same value).
    dropped_duplicates : int
    oriented : dict
        Signal name → why ``--orient auto`` flipped its direction.
    """

    spec: Spec | None
    transforms: dict[str, Transform] = field(default_factory=dict)
    imputed: dict[str, int] = field(default_factory=dict)
    kept_missing: dict[str, int] = field(default_factory=dict)
    fill: dict[str, float] = field(default_factory=dict)
    dropped_duplicates: int = 0
    oriented: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The provenance entry ``input``: spec, per-signal transform, missing handling, flips."""
        out: dict[str, Any] = {}
        if self.spec is not None:
            out = {"spec": Path(self.spec.path).name if self.spec.path else None, "signals": self._signals()}
        for key in ("imputed", "kept_missing", "fill", "oriented"):
            if getattr(self, key):
                out[key] = dict(getattr(self, key))
        if self.dropped_duplicates:
            out["dropped_duplicates"] = self.dropped_duplicates
        return out

    def _signals(self) -> dict[str, Any]:
        assert self.spec is not None
        signals = {}
        for s in self.spec.used:
            entry: dict[str, Any] = {"column": s.column, "transform": s.transform}
            if s.points:
                entry["points"] = dict(s.points)
            signals[s.name] = entry
        return signals

    def direction(self, name: str, declared: str) -> str:
        """``declared`` (the spec's or the config's direction), reversed when ``--orient auto`` flipped ``name``."""
        if name not in self.oriented:
            return declared
        return "lower_is_healthier" if declared == "higher_is_healthier" else "higher_is_healthier"

    def attach(self, config: WeightConfig) -> WeightConfig:
        """``config`` (fitted on the healthy-oriented sub-scores) re-pointed at the raw columns: each dimension's
        column, fitted transform and direction (the spec's, or flipped by ``--orient auto``).

        A categorical signal keeps its column and has no transform: its points live in the spec (and in
        ``provenance.options.input``), so such a config scores raw data with ``--spec``.
        """
        by_name = {s.name: s for s in self.spec.used} if self.spec is not None else {}
        dims = [d.model_copy(update={"column": by_name[d.name].column, "transform": self.transforms.get(d.name),
                                     "direction": self.direction(d.name, by_name[d.name].direction)})
                if d.name in by_name else d for d in config.dimensions]  # without a spec the fit had the flips
        update: dict[str, Any] = {"dimensions": dims, "content_hash": None}
        if config.provenance is not None:
            options = {**config.provenance.options, "input": self.record()}
            update["provenance"] = config.provenance.model_copy(update={"options": options})
        return config.model_copy(update=update)


def name_view(config: WeightConfig) -> WeightConfig:
    """``config`` reading each dimension from the column named like it, without a transform, higher-is-healthier:
    what scores the healthy-oriented :class:`~calibrate.data.load.Accounts` :func:`load_with_spec` returns (with
    this config), whichever way a scorer reads columns. Same scores as ``config`` on the raw columns."""
    dims = [d.model_copy(update={"column": d.name, "transform": None, "direction": "higher_is_healthier"})
            for d in config.dimensions]
    return config.model_copy(update={"dimensions": dims, "content_hash": None})


def read_source(source: str | os.PathLike[str] | pd.DataFrame, *, query: str | None) -> tuple[pd.DataFrame, str, str]:
    """The raw frame, where it came from and its content hash (a file, a database query or a DataFrame)."""
    if isinstance(source, pd.DataFrame):
        from calibrate.data._digest import sha256_frame

        return source.copy(), "<DataFrame>", sha256_frame(source)
    if query is not None or "://" in str(source):
        from calibrate.data.sql import read_sql

        return read_sql(str(source), query)
    frame, digest = read_frame(Path(source))
    return frame, str(source), digest


def _numeric(raw: pd.Series, signal: Signal, where: str) -> np.ndarray:
    """A numeric signal as floats: blanks are missing, any other text is refused."""
    text = raw.astype("string").str.strip()
    blank = raw.isna() | (text == "")
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where}: column {signal.column!r}: non-numeric value {raw.iloc[first]!r} at row {first + 1} "
                        f"of numeric signal {signal.name!r}; clean the column or declare it kind: categorical")
    return values.to_numpy(dtype=float, na_value=np.nan)


def signal_values(raw: pd.Series, signal: Signal, where: str) -> np.ndarray:
    """A signal's raw column as its transform reads it: floats (blanks missing, other text refused) for a numeric
    signal, the labels as objects for a categorical one."""
    return raw.to_numpy(dtype=object) if signal.kind == "categorical" else _numeric(raw, signal, where)


def fit_signal_transform(values: np.ndarray, signal: Signal) -> Transform | None:
    """The signal's raw → 0–100 transform learnt on ``values`` (a training sample; missing ignored).

    ``none`` (and ``learned``, fitted from outcomes by a :data:`Learner`) gives no transform; ``percentile`` and ``minmax`` are
    :func:`calibrate.data.transforms.fit_transform`; ``log`` places knots at the sample's quantiles with values
    ``100·(log1p(x − lo) / log1p(hi − lo))`` between the ``clip`` percentiles ``lo`` and ``hi``; ``step`` is 0 below
    ``threshold`` and 100 from it on.
    """
    kind = signal.transform
    if kind in ("none", "categories", "learned"):  # a learned transform needs outcomes: the fit's Learner
        return None
    clip = (float(signal.clip[0]), float(signal.clip[1]))
    if kind in ("percentile", "minmax"):
        return fit_transform(values, kind=kind, clip=clip, column=signal.column)
    if kind == "step":
        t = float(signal.threshold)  # type: ignore[arg-type]  # the spec model requires it
        gap = max(abs(t), 1.0) * 1e-9
        return Transform(kind="step", knots=[t - gap, t], values=[0.0, 100.0], options={"threshold": t})
    x = values[~np.isnan(values)]
    lo, hi = (np.percentile(x, clip) if x.size else (0.0, 0.0))
    if x.size == 0 or hi <= lo:
        raise ConfigError(f"signal {signal.name!r}: column {signal.column!r} has no spread between its clip percentiles "
                          f"{list(clip)}; use transform minmax or step")
    grid = np.unique(np.concatenate([[lo, hi], np.quantile(x[(x >= lo) & (x <= hi)], np.linspace(0, 1, 101))]))
    scaled = 100.0 * np.log1p(grid - lo) / np.log1p(hi - lo)
    return Transform(kind="log", knots=grid.tolist(), values=np.clip(scaled, 0.0, 100.0).tolist(),
                     options={"clip_low": clip[0], "clip_high": clip[1]})


def _categories(raw: pd.Series, signal: Signal) -> np.ndarray:
    points = {label_key(k): v for k, v in (signal.points or {}).items()}
    keys = raw.map(lambda v: None if pd.isna(v) or str(v).strip() == "" else label_key(v))
    return keys.map(lambda k: points.get(k, np.nan) if k is not None else np.nan).to_numpy(dtype=float)


def outcome_column(raw: pd.DataFrame, outcome: Outcome, where: str, *, locate: Callable[[str], str] = lambda f: "") -> pd.Series:
    """1 renewed, 0 churned, NaN missing; refuses a label column with more than two labels or without the declared one.

    ``locate(field)`` names where ``outcome.<field>`` is declared (a spec line, or a CLI flag).
    """
    out = outcome
    col = out.column
    if col not in raw.columns:
        raise DataError(f"{where}: outcome column {col!r} not in the file ({locate('column')}); "
                        f"the file has {list(raw.columns)[:12]}")
    values = raw[col]
    present = values.notna() & (values.astype("string").str.strip() != "")
    keys = values[present].map(label_key)
    labels = sorted(set(keys))
    declared = out.churned_value if out.churned_value is not None else out.renewed_value
    field_name = "churned_value" if out.churned_value is not None else "renewed_value"
    if label_key(declared) not in labels:
        raise DataError(f"{where}: column {col!r}: no row has the label {declared!r} declared as {field_name} "
                        f"({locate(field_name)}); the column holds {labels[:6]}")
    if len(labels) > 2:
        raise DataError(f"{where}: column {col!r} holds {len(labels)} labels {labels[:6]}; an outcome has two — "
                        "filter the export or map the labels to two")
    hit = keys == label_key(declared)
    renewed = (~hit if out.churned_value is not None else hit).astype(float)
    return renewed.reindex(values.index)  # NaN where the outcome is missing


def _derive(raw: pd.DataFrame, signals: list[Signal], transforms: dict[str, Transform | None],
            directions: dict[str, str], where: str) -> dict[str, np.ndarray]:
    """Each signal's healthy-oriented 0–100 sub-score (``100 − value`` when lower is healthier)."""
    out = {}
    for s in signals:
        if s.kind == "categorical" and s.transform == "learned":
            value = apply_transform(raw[s.column].to_numpy(dtype=object), transforms.get(s.name))
        elif s.kind == "categorical":
            value = _categories(raw[s.column], s)
        else:
            value = apply_transform(_numeric(raw[s.column], s, where), transforms.get(s.name))
        out[s.name] = 100.0 - value if directions[s.name] == "lower_is_healthier" else value
    return out


def load_with_spec(
    source: str | os.PathLike[str] | pd.DataFrame | None,
    spec: Spec,
    *,
    query: str | None = None,
    config: WeightConfig | None = None,
    train_until: str | None = None,
    require_outcome: bool = True,
    allow_pending: bool = False,
    learn: Learner | None = None,
) -> tuple[Accounts, RawInput]:
    """Read a raw export with a spec.

    Parameters
    ----------
    source : path, database URL, DataFrame or None
        ``None`` reads the spec's ``source`` (relative to the spec file).
    spec : Spec
    query : str, optional
        SQL for a database URL.
    config : WeightConfig, optional
        Score with this config: its dimensions are read (each from the spec signal of the same name) through the
        transforms stored in it; no transform is refitted.
    train_until : str, optional
        Fit the transforms on snapshots up to this date only (needs ``keys.snapshot_date``).
    require_outcome, allow_pending : bool
        As :func:`calibrate.data.load.load_accounts`.
    learn : Learner, optional
        Fits the ``learned`` signals from the outcome (without a ``config``): each training row's sub-score comes out
        of fold (cross-fitting), any later row's from the final transform, which the config stores.

    Returns
    -------
    (Accounts, RawInput)

    Raises
    ------
    DataError, ConfigError
        A column the spec names is absent, a label is not found, a value cannot be read, a missing value
        meets ``missing: error``; each message names the file, the spec line and the fix.
    """
    if source is None:
        if not spec.source:
            raise ConfigError(f"{spec.where()}: no --data given and the spec has no source; pass --data FILE")
        source = spec.base_dir() / spec.source
    raw, where, digest = read_source(source, query=query)
    dropped = 0
    if spec.drop_duplicates:
        dup = raw.duplicated(keep="first")
        dropped = int(dup.sum())
        raw = raw.loc[~dup].reset_index(drop=True)

    if config is not None:
        by_name = {s.name: s for s in spec.signals}
        absent = [d.name for d in config.dimensions if d.name not in by_name]
        if absent:
            raise ConfigError(f"{spec.where('signals')}: the config scores {absent}, which the spec does not list; "
                              "add them as signals or use the spec the config was fitted with")
        stored = (config.provenance.options.get("input", {}) if config.provenance is not None else {}) or {}
        signals = [_as_fitted(by_name[d.name], stored.get("signals", {}).get(d.name, {})) for d in config.dimensions]
        transforms: dict[str, Transform | None] = {d.name: d.transform for d in config.dimensions}
        directions = {d.name: d.direction for d in config.dimensions}
        fill: dict[str, float] | None = dict(stored.get("fill", {}))
    else:
        signals = spec.used
        transforms = {}
        directions = {s.name: s.direction for s in signals}
        fill = None
    absent = [s.column for s in signals if s.column not in raw.columns]
    absent += [c for c in spec.keys.mapping().values() if c not in raw.columns]
    if absent:
        raise DataError(f"{where}: column(s) {absent} named in {spec.where()} are not in the file; "
                        f"the file has {list(raw.columns)[:12]} — fix the spec's column names")

    frame = pd.DataFrame(index=raw.index)
    for key, col in spec.keys.mapping().items():
        frame[key] = raw[col]
    if "account_id" not in frame:
        frame["account_id"] = [f"{spec.keys.id_prefix}{i:05d}" for i in range(1, len(raw) + 1)]
    has_outcome = spec.outcome.column in raw.columns
    if require_outcome or has_outcome:
        frame["renewed"] = outcome_column(raw, spec.outcome, where, locate=lambda f: spec.where("outcome", f))

    names = [s.name for s in signals]
    out_of_fold: dict[str, np.ndarray] = {}
    if config is None:
        transforms = {s.name: fit_signal_transform(_numeric(raw[s.column], s, where), s)
                      for s in signals if s.kind == "numeric"}
        train = _training_rows(frame, names, train_until, where) if train_until is not None else None
        out_of_fold = _learn(raw, frame, spec, [s for s in signals if s.transform == "learned"], train, learn, where)
        transforms |= {name: t for name, (t, _) in out_of_fold.items()}
    derived = _derive(raw, signals, transforms, directions, where) | {n: v for n, (_, v) in out_of_fold.items()}
    for name in names:
        frame[name] = derived[name]
    # the raw columns stay too (a signal's raw column unless a derived or key column took its name)
    others = [c for c in raw.columns if c not in set(spec.keys.mapping().values()) | {spec.outcome.column}
              and c not in frame.columns]
    frame = pd.concat([frame, raw[others]], axis=1)

    rules = {s.name: s.missing or spec.missing for s in signals}
    if config is None and train_until is not None:
        refit = _training_rows(frame, names, train_until, where)
        transforms = {s.name: fit_signal_transform(_numeric(raw[s.column], s, where)[refit], s)
                      for s in signals if s.kind == "numeric"} | {name: t for name, (t, _) in out_of_fold.items()}
        derived = _derive(raw, signals, transforms, directions, where) | {n: v for n, (_, v) in out_of_fold.items()}
        for name in names:
            frame[name] = derived[name]
    imputed, kept, fill = _missing(frame, spec, signals, rules, where, fill)
    accounts = load_accounts(frame, spec=DataSpec(dimensions=tuple(names),
                                                  on_missing="keep" if kept else "error"),
                             require_outcome=require_outcome, allow_pending=allow_pending)
    accounts = replace(accounts, source=where, sha256=digest, imputed=imputed)
    fitted = {k: v for k, v in transforms.items() if v is not None}
    return accounts, RawInput(spec=spec, transforms=fitted, imputed=imputed, kept_missing=kept, fill=fill,
                              dropped_duplicates=dropped)


def _learn(raw: pd.DataFrame, frame: pd.DataFrame, spec: Spec, signals: list[Signal], train: np.ndarray | None,
           learn: Learner | None, where: str) -> dict[str, tuple[Transform, np.ndarray]]:
    """Each ``learned`` signal's final transform and out-of-fold sub-scores, fitted by ``learn`` on the training rows
    with an outcome."""
    if not signals:
        return {}
    if learn is None or "renewed" not in frame:
        raise ConfigError(f"{spec.signal_where(signals[0].name, 'transform')}: signal {signals[0].name!r} has a learned "
                          "transform, which is fitted from outcomes: fit it with `calibrate fit --spec` (the outcome "
                          "column must be in the data), then score with the config")
    renewed = frame["renewed"].to_numpy(dtype=float)
    rows = ~np.isnan(renewed) if train is None else np.asarray(train, dtype=bool) & ~np.isnan(renewed)
    ids = frame["account_id"].to_numpy(dtype=object)
    return learn({s.name: signal_values(raw[s.column], s, where) for s in signals}, renewed, rows, ids, signals)


def _as_fitted(signal: Signal, stored: dict[str, Any]) -> Signal:
    """The signal as the config was fitted with it: the category points recorded in the config win over the spec's."""
    if signal.kind == "categorical" and stored.get("points"):
        return signal.model_copy(update={"points": dict(stored["points"])})
    return signal


def _training_rows(frame: pd.DataFrame, names: list[str], train_until: str, where: str) -> np.ndarray:
    """Rows whose snapshot is on or before ``train_until``, dates read by the loader's one date parser."""
    if "snapshot_date" not in frame:
        raise ConfigError(f"{where}: --train-until needs snapshot dates; set keys.snapshot_date in the spec")
    probe = frame[["account_id", "snapshot_date"]].copy()
    probe["_a"], probe["_b"] = 0.0, 0.0
    dates = load_accounts(probe, spec=DataSpec(dimensions=("_a", "_b")), require_outcome=False).frame["snapshot_date"]
    return (dates <= pd.Timestamp(train_until)).to_numpy()


def _missing(frame: pd.DataFrame, spec: Spec, signals: list[Signal], rules: dict[str, str], where: str,
             fill: dict[str, float] | None) -> tuple[dict[str, int], dict[str, int], dict[str, float]]:
    """Apply each signal's missing rule to its derived column in place: the counts imputed and kept, and the values
    imputed (``fill``: those stored at fit time; ``None``: the medians of this data, stored by the fit)."""
    imputed: dict[str, int] = {}
    kept: dict[str, int] = {}
    values: dict[str, float] = {}
    for s in signals:
        column = frame[s.name].to_numpy(dtype=float)
        gaps = np.isnan(column)
        rule = rules[s.name]
        if rule == "median":
            if fill is not None and s.name in fill:
                values[s.name] = float(fill[s.name])
            elif fill is None and not gaps.all():
                values[s.name] = float(np.median(column[~gaps]))
        if not gaps.any():
            continue
        rows = np.flatnonzero(gaps) + 1
        shown = ", ".join(str(r) for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        if rule == "median" and s.name not in values:
            rule = "error"  # a config fitted without gaps in this signal has no stored value to impute
        if rule == "error":
            what = "missing or unlisted category" if s.kind == "categorical" else "missing value"
            raise DataError(f"{where}: column {s.column!r}: {what} at row(s) {shown}; fill it, or set "
                            f"`missing: median` or `keep` for signal {s.name!r} ({spec.signal_where(s.name, 'missing')})"
                            " or pass --missing median")
        if rule == "median":
            frame[s.name] = np.where(gaps, values[s.name], column)
            imputed[s.name] = int(gaps.sum())
        else:
            kept[s.name] = int(gaps.sum())
    return imputed, kept, values
