"""The project spec (``calibrate.yaml``): how a raw export becomes account snapshots with 0–100 sub-scores.

``calibrate init`` writes it (:mod:`calibrate.data.profile`); every data-reading command reads it with ``--spec``
(or finds ``calibrate.yaml`` in the current directory or its nearest ancestor, :func:`find_spec`). The model
below *is* the file format: its JSON Schema is generated (:func:`json_schema`) and committed as
``calibrate/data/schema/calibrate-spec.schema.json``. :func:`read_spec` validates a file and names the line of
every error (YAML node marks). :mod:`calibrate.data.spec_load` applies a spec to a raw file.

A spec holds the key columns (``keys``), the outcome and which label means churned or renewed
(``outcome``), the default missing-value rule, and one entry per candidate signal (``signals``): its column,
kind, whether it is used, its direction, its transform to 0–100 (``none``, ``percentile``, ``minmax``,
``log``, ``step`` at a threshold, or a ``categories`` → points map), its missing rule, and the profile
``init`` measured (informational; never read back into the fit).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from calibrate.errors import ConfigError

__all__ = ["SPEC_FILE_NAME", "Keys", "Outcome", "SignalProfile", "Signal", "Spec", "read_spec", "render_spec", "find_spec",
           "json_schema", "label_key"]

SPEC_FILE_NAME = "calibrate.yaml"
SCHEMA_FILE = Path(__file__).parent / "schema" / "calibrate-spec.schema.json"

Direction = Literal["higher_is_healthier", "lower_is_healthier"]
TransformKind = Literal["none", "percentile", "minmax", "log", "step", "categories", "learned"]
LearnedShape = Literal["auto", "increasing", "decreasing", "peak", "trough", "step"]
MissingRule = Literal["error", "median", "keep"]
Label = str | int | float | bool
NUMERIC_TRANSFORMS = frozenset({"none", "percentile", "minmax", "log", "step", "learned"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def label_key(value: Any) -> str:
    """One spelling per outcome label: numbers by value (``1`` = ``1.0`` = ``"1"``), text stripped and lower-cased."""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).strip()
    try:
        return repr(float(text))
    except ValueError:
        return text.lower()


class Keys(_Model):
    """The key columns of the export (``null``: the export has none)."""

    account_id: str | None = Field(default=None, description="Account id column; null numbers the rows "
                                   "(<id_prefix>00001, ... in file order: each row is one account).")
    id_prefix: str = Field(default="R", description="Prefix of the row numbers used as ids when account_id is null.")
    snapshot_date: str | None = None
    renewal_date: str | None = None
    segment: str | None = None
    arr: str | None = None

    def mapping(self) -> dict[str, str]:
        """calibrate's key name → the export's column, for the keys that are set."""
        names = ("account_id", "snapshot_date", "renewal_date", "segment", "arr")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


class Outcome(_Model):
    """The outcome column and the one label that means churned (or renewed); every other label is the other class."""

    column: str
    churned_value: Label | None = Field(default=None, description="The label of a churned row (quote it: \"Yes\").")
    renewed_value: Label | None = Field(default=None, description="The label of a renewed row.")

    @model_validator(mode="after")
    def _one_label(self) -> Outcome:
        if (self.churned_value is None) == (self.renewed_value is None):
            raise ValueError("give exactly one of churned_value and renewed_value")
        return self


class SignalProfile(_Model):
    """What ``calibrate init`` measured on the export (informational)."""

    share_missing: float = Field(ge=0.0, le=1.0)
    n_distinct: int = Field(ge=0)
    auc: float | None = None
    auc_ci: list[float] | None = Field(default=None, description="95 % DeLong interval of the AUC.")
    effect: Literal["healthier_when_higher", "healthier_when_lower", "none", "untested"] = "untested"
    shape: Literal["monotone", "threshold", "u_shape", "untested"] = "untested"
    shape_test: str = ""
    warnings: list[str] = Field(default_factory=list)


class Signal(_Model):
    """One candidate signal: a raw column, and how it becomes a 0–100 sub-score."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Dimension name in the weight config.")
    column: str = Field(description="The export's column.")
    kind: Literal["numeric", "categorical"]
    use: bool = Field(default=True, description="Fit it as a dimension of the score.")
    direction: Direction = "higher_is_healthier"
    transform: TransformKind = "percentile"
    clip: list[float] = Field(default=[1.0, 99.0], min_length=2, max_length=2,
                              description="minmax/log: percentiles of the training sample mapped to 0 and 100.")
    threshold: float | None = Field(default=None, description="step: raw values >= threshold score 100, below 0.")
    points: dict[str, float] | None = Field(default=None, description="categories: label -> points 0-100; "
                                            "a label not listed counts as missing.")
    shape: LearnedShape = Field(default="auto", description="learned: the shape the points may take (auto: chosen "
                                "by the data, AIC); learned points are fitted from outcomes by `calibrate fit`.")
    missing: MissingRule | None = Field(default=None, description="Missing values (default: the spec's `missing`).")
    profile: SignalProfile | None = None

    @model_validator(mode="after")
    def _transform_fits_kind(self) -> Signal:
        if self.kind == "categorical" and self.transform not in ("categories", "learned"):
            raise ValueError(f"signal {self.name!r}: a categorical signal needs transform 'categories' (with points) "
                             "or 'learned'")
        if self.transform == "learned" and self.direction != "higher_is_healthier":
            raise ValueError(f"signal {self.name!r}: a learned transform orients itself (its best bin scores 100); "
                             "set direction: higher_is_healthier")
        if self.shape != "auto" and (self.transform != "learned" or self.kind == "categorical"):
            raise ValueError(f"signal {self.name!r}: shape is for a numeric signal with transform 'learned'")
        if self.kind == "numeric" and self.transform not in NUMERIC_TRANSFORMS:
            raise ValueError(f"signal {self.name!r}: transform {self.transform!r} is for categorical signals")
        if self.transform == "step" and self.threshold is None:
            raise ValueError(f"signal {self.name!r}: transform 'step' needs a threshold")
        if self.transform == "categories":
            if not self.points:
                raise ValueError(f"signal {self.name!r}: transform 'categories' needs points (label: 0-100)")
            if any(not 0.0 <= v <= 100.0 for v in self.points.values()):
                raise ValueError(f"signal {self.name!r}: points must lie in 0-100")
        if not 0.0 <= self.clip[0] < self.clip[1] <= 100.0:
            raise ValueError(f"signal {self.name!r}: clip must be two percentiles 0 <= low < high <= 100")
        return self


class Spec(_Model):
    """A project spec: keys, outcome, missing rule and signals (``calibrate.yaml``)."""

    spec_version: Literal[1] = 1
    source: str | None = Field(default=None, description="The export the spec was made from (relative to the spec); "
                               "read when a command gets --spec without --data.")
    attribution: str | None = None
    keys: Keys = Field(default_factory=Keys)
    outcome: Outcome
    missing: MissingRule = Field(default="error", description="Missing sub-scores: refuse, impute the median "
                                 "(reported), or keep (for a config that redistributes weight).")
    drop_duplicates: bool = Field(default=False, description="Drop rows that exactly repeat an earlier row (reported).")
    signals: list[Signal] = Field(min_length=1)
    _lines: dict[tuple[Any, ...], int] = PrivateAttr(default_factory=dict)
    _path: str = PrivateAttr(default="")

    @field_validator("signals")
    @classmethod
    def _signals(cls, signals: list[Signal]) -> list[Signal]:
        names = [s.name for s in signals]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"signal names {dupes} repeat; name each signal once")
        cols = [s.column for s in signals if s.use]
        shared = sorted({c for c in cols if cols.count(c) > 1})
        if shared:
            raise ValueError(f"column(s) {shared} feed more than one used signal; use each column once")
        return signals

    @property
    def used(self) -> list[Signal]:
        """The signals fitted as dimensions (``use: true``), in spec order."""
        return [s for s in self.signals if s.use]

    @property
    def path(self) -> str:
        """The file the spec was read from (empty for a spec built in memory)."""
        return self._path

    def where(self, *loc: Any) -> str:
        """``FILE line N`` of the node at ``loc`` (e.g. ``("signals", 2, "missing")``), or of its nearest parent."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self._lines:
                return f"{self._path or '<spec>'} line {self._lines[loc[:end]]}"
        return self._path or "<spec>"

    def signal_where(self, name: str, field: str) -> str:
        """Where signal ``name``'s ``field`` is (or would go) in the file."""
        index = next((i for i, s in enumerate(self.signals) if s.name == name), None)
        return self.where("signals", index, field) if index is not None else self.where()

    def base_dir(self) -> Path:
        """The folder relative paths in the spec (``source``) are resolved against."""
        return Path(self._path).parent if self._path else Path.cwd()


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false (``Yes``/``No``/``on`` stay text, as outcome labels often are)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _marks(node: Any, loc: tuple[Any, ...], out: dict[tuple[Any, ...], int], where: str) -> None:
    """Line (1-based) of every node, keyed by its path; a repeated key is an error naming its line."""
    out.setdefault(loc, node.start_mark.line + 1)  # a mapping value's line is its key's
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                raise ConfigError(f"{where} line {key.start_mark.line + 1}: key {key.value!r} repeats; keep one")
            seen.add(key.value)
            out[(*loc, key.value)] = key.start_mark.line + 1
            _marks(value, (*loc, key.value), out, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _marks(item, (*loc, i), out, where)


def _field_hint(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def read_spec(path: str | os.PathLike[str]) -> Spec:
    """Read and validate a spec file; every error names the file and line.

    Raises
    ------
    ConfigError
        Missing file, bad YAML, a repeated key, an unknown or invalid field.
    """
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: spec not found; write one with `calibrate init --data FILE --outcome COL "
                          "--churned-value V`") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ConfigError(f"{where}: not a readable UTF-8 spec file ({type(exc).__name__}); re-save it as UTF-8") from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}{line}: not valid YAML ({problem}); fix the indentation or quoting") from None
    if not isinstance(doc, dict) or node is None:
        raise ConfigError(f"{where} line 1: a spec is a mapping with keys outcome and signals; "
                          "write one with `calibrate init`")
    lines: dict[tuple[Any, ...], int] = {}
    _marks(node, (), lines, where)
    try:
        spec = Spec.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        probe = Spec.model_construct()
        probe._lines, probe._path = lines, where
        message = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{probe.where(*loc)}: field {_field_hint(loc)}: {message}; fix the spec "
                          f"(schema: calibrate/data/schema/{SCHEMA_FILE.name})") from None
    spec._lines, spec._path = lines, where
    return spec


def find_spec(start: str | os.PathLike[str] | None = None) -> Path | None:
    """``calibrate.yaml`` in ``start`` (default: the current directory) or its nearest ancestor, else ``None``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / SPEC_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Spec` (what ``calibrate/data/schema/`` ships)."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://calibrate.dev/schema/calibrate-spec-1.json"
    return schema


def write_schema() -> Path:
    """Regenerate the committed schema file (``python -c 'from calibrate.data.spec import write_schema; write_schema()'``)."""
    SCHEMA_FILE.parent.mkdir(exist_ok=True)
    SCHEMA_FILE.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return SCHEMA_FILE


def _scalar(value: Any) -> str:
    """A YAML scalar that reads back as written (JSON's quoting is valid YAML)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return json.dumps(value, ensure_ascii=False)


def _signal_comment(s: Signal) -> list[str]:
    p = s.profile
    if p is None:
        return []
    head = f"{s.kind}, {100 * p.share_missing:.1f} % missing, {p.n_distinct} distinct"
    if p.auc is not None and p.auc_ci is not None:
        head += f"; AUC {p.auc:.3f} [{p.auc_ci[0]:.3f}, {p.auc_ci[1]:.3f}] -> {s.direction}"
    if p.shape != "untested":
        head += f"; shape {p.shape}"
    return [f"  # {head}", *(f"  # WARNING: {w}" for w in p.warnings)]


def render_spec(spec: Spec, *, header: list[str] | None = None) -> str:
    """The spec as commented YAML (what ``calibrate init`` writes); :func:`read_spec` reads it back unchanged."""
    lines = [f"# {h}" for h in (header or [])]
    lines += [
        "# Edit freely: `calibrate fit --spec` / `validate --spec` read this file (schema: calibrate-spec.schema.json).",
        f"spec_version: {spec.spec_version}",
        f"source: {_scalar(spec.source)}",
        f"attribution: {_scalar(spec.attribution)}",
        "keys:",
        "  # null: the export has no such column",
    ]
    for key in ("account_id", "id_prefix", "snapshot_date", "renewal_date", "segment", "arr"):
        value = getattr(spec.keys, key)
        note = "  # no id column: each row is one account, numbered in file order" \
            if key == "account_id" and value is None else ""
        lines.append(f"  {key}: {_scalar(value)}{note}")
    lines += ["outcome:", f"  column: {_scalar(spec.outcome.column)}"]
    if spec.outcome.churned_value is not None:
        lines.append(f"  churned_value: {_scalar(spec.outcome.churned_value)}  # every other label means renewed")
    else:
        lines.append(f"  renewed_value: {_scalar(spec.outcome.renewed_value)}  # every other label means churned")
    lines += [
        f"missing: {_scalar(spec.missing)}  # default rule for missing sub-scores: error | median | keep",
        f"drop_duplicates: {_scalar(spec.drop_duplicates)}",
        "# transform: none (already 0-100) | percentile | minmax (clip percentiles) | log | step (threshold) |",
        "#            categories (points per label) | learned (binned points fitted from outcomes; shape: auto |",
        "#            increasing | decreasing | peak | trough | step); direction: higher_is_healthier | lower_is_healthier",
        "signals:",
    ]
    fields = ("name", "column", "kind", "use", "direction", "transform", "clip", "threshold", "missing")
    for s in spec.signals:
        lines += _signal_comment(s)
        for i, key in enumerate(fields):
            lines.append(f"  {'- ' if i == 0 else '  '}{key}: {_scalar(getattr(s, key))}")
        if s.transform == "learned" and s.kind == "numeric":
            lines.append(f"    shape: {_scalar(s.shape)}")
        if s.points is not None:
            lines.append("    points:")
            lines += [f"      {_scalar(k)}: {_scalar(v)}" for k, v in s.points.items()]
        if s.profile is not None:
            lines.append("    profile:  # measured by calibrate init; informational")
            for key, value in s.profile.model_dump(mode="json").items():
                lines.append(f"      {key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"
