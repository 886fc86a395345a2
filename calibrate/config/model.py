"""The weight config: the product calibrate hands to a production scorer.

The model below *is* the contract (contract.md §2). Its JSON Schema is generated from it
(:func:`json_schema`), committed as ``calibrate/config/schema/weight-config.schema.json`` and checked
to be current by the tests. A config is untrusted input: :func:`read_config` parses it strictly and
within bounds, validates it against the schema and the model, and refuses it unless it is sealed
(:func:`calibrate.config.seal.check_seal`: a ``content_hash`` matching its content). :func:`write_config`,
the only sealer, never overwrites a published version.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calibrate.config.project import default_dirs
from calibrate.config.binned import LearnedShape, check_binned
from calibrate.config.segments import SegmentWeights
from calibrate.errors import ConfigError, VersionExistsError

__all__ = ["SCHEMA_VERSION", "Band", "Dimension", "Transform", "Calibration", "WeightConfig", "default_bands",
           "json_schema", "read_config", "write_config", "next_version", "published_versions", "config_path",
           "default_dirs"]

SCHEMA_VERSION = "1.1"
"""Schema version written by this release (1.1 added ``segments``; 1.0 reads as is). Older ones are upgraded on read."""

WEIGHT_SUM_TOLERANCE = 1e-9


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _absent(value: Any) -> bool:
    return value is None


def _check_knots(knots: list[float], values: list[float], *, low: float, high: float, what: str) -> None:
    if len(knots) != len(values):
        raise ValueError(f"{what}: knots and values must have the same length ({len(knots)} != {len(values)})")
    if any(b <= a for a, b in zip(knots, knots[1:])):
        raise ValueError(f"{what}: knots must be strictly increasing")
    if any(v < low or v > high for v in values):
        raise ValueError(f"{what}: values must lie in [{low:g}, {high:g}]")
    if any(b < a for a, b in zip(values, values[1:])):
        raise ValueError(f"{what}: values must be non-decreasing")


class Transform(_Frozen):
    """A raw column → 0–100 sub-score.

    ``percentile`` (knots at training quantiles, values their mid-rank percentile), ``minmax`` (the clipping
    percentiles to 0 and 100), ``log`` (``log1p`` between them), ``step`` (0 below a threshold, 100 from it):
    ``numpy.interp(raw, knots, values)``, clamped, increasing in the raw value; missing stays missing. ``binned`` (learned, :func:`calibrate.fit.learned.fit_learned`): ``knots`` are cut-points and ``values`` the
    points of each bin, in any order (``x`` is in bin ``j`` when ``knots[j-1] <= x < knots[j]``); or, categorical,
    ``categories`` maps each label (stripped text) to its points. A missing value or unlisted label scores
    ``missing`` (``None``: it stays missing); ``shape`` is the shape learnt, ``bins`` the training counts per bin.
    """

    kind: Literal["percentile", "minmax", "log", "step", "binned"]
    knots: list[float]
    values: list[float] = Field(min_length=1)
    options: dict[str, float] = Field(default_factory=dict)
    categories: dict[str, float] | None = Field(default=None, exclude_if=_absent)
    missing: float | None = Field(default=None, ge=0.0, le=100.0, exclude_if=_absent)
    shape: LearnedShape | None = Field(default=None, exclude_if=_absent)
    bins: dict[str, list[int]] | None = Field(default=None, exclude_if=_absent)

    @model_validator(mode="after")
    def _increasing(self) -> Transform:
        check_binned(self.kind, self.knots, self.values, self.categories, (self.missing, self.shape, self.bins))
        if self.kind != "binned":
            _check_knots(self.knots, self.values, low=0.0, high=100.0, what="transform")
        return self


class Dimension(_Frozen):
    """One sub-score: its name, the data column it comes from, its weight and direction.

    ``transform`` (optional) derives the 0–100 sub-score from a raw ``column``; it is applied by
    :func:`calibrate.score.scorer.score_frame` whenever it reads the configured columns (``by="column"``).
    """

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    column: str
    weight: float = Field(ge=0.0, le=1.0)
    direction: Literal["higher_is_healthier", "lower_is_healthier"] = "higher_is_healthier"
    transform: Transform | None = Field(default=None, exclude_if=_absent)


class Band(_Frozen):
    """A half-open score interval ``[min, max)``; the top band also includes 100."""

    name: str
    min: float = Field(ge=0.0, le=100.0)
    max: float = Field(ge=0.0, le=100.0)
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    code: str


class Calibration(_Frozen):
    """Map from score to renewal probability.

    ``method="logistic"`` (default): ``p = 1 / (1 + exp(-(intercept + slope * score)))``.
    ``method="isotonic"``: ``p = numpy.interp(score, knots, probabilities)`` — the fitted isotonic
    regression (scikit-learn's ``IsotonicRegression(out_of_bounds="clip")`` thresholds), clamped
    outside the knots. The logistic ``intercept`` and ``slope`` are kept with it for reference.
    """

    method: Literal["logistic", "isotonic"] = "logistic"
    intercept: float
    slope: float
    knots: list[float] | None = Field(default=None, exclude_if=_absent)
    probabilities: list[float] | None = Field(default=None, exclude_if=_absent)

    @model_validator(mode="after")
    def _isotonic_knots(self) -> Calibration:
        if self.method == "isotonic":
            if not self.knots or not self.probabilities:
                raise ValueError("an isotonic calibration needs its knots and probabilities")
            _check_knots(self.knots, self.probabilities, low=0.0, high=1.0, what="isotonic calibration")
        elif self.knots is not None or self.probabilities is not None:
            raise ValueError("knots and probabilities belong to method 'isotonic' only")
        return self


class Interval(_Frozen):
    """A point estimate with its interval."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None


class BandFigure(_Frozen):
    """One band's renewal figures at fit time."""

    name: str
    n: int
    renewed: int
    renewal_rate: float | None
    ci_low: float | None
    ci_high: float | None
    share: float


class ValidationBaseline(_Frozen):
    """Figures at fit time: the baseline the CI gate and drift compare against."""

    n: int
    bands: list[BandFigure]
    spread: Interval
    auc: Interval
    brier: float | None = None


class BinnedDistribution(_Frozen):
    """A reference distribution on fixed bins: interior ``edges`` and the share in each bin."""

    edges: list[float]
    proportions: list[float]


class Reference(_Frozen):
    """What drift detection compares new data against; never raw rows.

    ``score``/``dimensions`` hold decile bins (PSI/CSI); ``score_grid``/``dimension_grid`` the
    same variables on a fixed 1-point grid over 0–100 (KS and Wasserstein from the reference).
    ``n_accounts`` is the effective sample size of the sampling-noise PSI (accounts, not rows).
    """

    n: int
    n_accounts: int | None = None
    n_periods: int | None = None
    period_start: str | None = None
    period_end: str | None = None
    score: BinnedDistribution
    dimensions: dict[str, BinnedDistribution]
    band_mix: dict[str, float]
    score_grid: BinnedDistribution | None = None
    dimension_grid: dict[str, BinnedDistribution] = Field(default_factory=dict)


class Provenance(_Frozen):
    """How the config was made."""

    method: str
    options: dict[str, Any] = Field(default_factory=dict)
    training_rows: int
    training_accounts: int
    training_events: int
    period_start: str | None = None
    period_end: str | None = None
    data_source: str
    data_sha256: str
    seed: int
    library_versions: dict[str, str] = Field(default_factory=dict)
    mlflow_run_id: str | None = None


class WeightConfig(_Frozen):
    """A versioned, immutable weight config (contract.md §2)."""

    schema_version: Literal["1.0", "1.1"] = SCHEMA_VERSION
    name: str = Field(default="account-health", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: int = Field(default=0, ge=0)
    parent_version: int | None = None
    created_at: str = ""
    dimensions: list[Dimension] = Field(min_length=2)
    bands: list[Band] = Field(min_length=2)
    red_band: str = "red"
    missing: Literal["error", "redistribute"] = "error"
    calibration: Calibration | None = None
    provenance: Provenance | None = None
    validation: ValidationBaseline | None = None
    reference: Reference | None = None
    segments: SegmentWeights | None = Field(default=None, exclude_if=_absent)
    content_hash: str | None = None

    @field_validator("bands")
    @classmethod
    def _bands_tile_0_100(cls, bands: list[Band]) -> list[Band]:
        ordered = sorted(bands, key=lambda b: b.min)
        if ordered != bands:
            raise ValueError("bands must be listed lowest first (ordered by 'min')")
        if bands[0].min != 0 or bands[-1].max != 100:
            raise ValueError("bands must cover 0-100: the first starts at 0, the last ends at 100")
        for lo, hi in zip(bands, bands[1:]):
            if lo.max != hi.min:
                raise ValueError(f"band '{lo.name}' ends at {lo.max} but '{hi.name}' starts at {hi.min}")
        if any(b.min >= b.max for b in bands):
            raise ValueError("every band needs min < max")
        if len({b.name for b in bands}) != len(bands):
            raise ValueError("band names must be unique")
        return bands

    @model_validator(mode="after")
    def _weights_and_names(self) -> WeightConfig:
        total = sum(d.weight for d in self.dimensions)
        if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
            raise ValueError(f"dimension weights must sum to 1 (within 1e-9); they sum to {total!r}")
        if len({d.name for d in self.dimensions}) != len(self.dimensions):
            raise ValueError("dimension names must be unique")
        if self.red_band not in {b.name for b in self.bands}:
            raise ValueError(f"red_band '{self.red_band}' is not one of the band names")
        if self.segments is not None:
            self.segments.check(self, tolerance=WEIGHT_SUM_TOLERANCE)
        return self

    # -- convenience -------------------------------------------------------------------------
    @property
    def weights(self) -> dict[str, float]:
        """Dimension name → weight, in config order."""
        return {d.name: d.weight for d in self.dimensions}

    @property
    def band_names(self) -> list[str]:
        """Band names, lowest band first."""
        return [b.name for b in self.bands]

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, 2-space indent, trailing newline): the file content."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, allow_nan=False) + "\n"

    def compute_hash(self) -> str:
        """SHA-256 of the canonical JSON of every field except ``content_hash`` itself."""
        body = self.model_dump(mode="json", exclude={"content_hash"})
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def sealed(self) -> WeightConfig:
        """A copy with ``content_hash`` set to the hash of its content."""
        return self.model_copy(update={"content_hash": self.compute_hash()})

    def _repr_html_(self) -> str:
        import pandas as pd

        from calibrate._html import result_html

        dims = pd.DataFrame([d.model_dump(include={"name", "column", "weight", "direction"}) for d in self.dimensions])
        bands = pd.DataFrame([b.model_dump(include={"name", "min", "max", "code"}) for b in self.bands])
        return result_html(self, dims, bands)

    def __repr__(self) -> str:
        w = ", ".join(f"{k}={v:.3f}" for k, v in self.weights.items())
        return f"<WeightConfig {self.name} v{self.version}: {w}>"


def default_bands() -> list[Band]:
    """The seeds' four bands: critical 0–25, red 25–50, amber 50–75, green 75–100."""
    return [
        Band(name="critical", min=0, max=25, color="#ef4444", code="CS_HEALTH_CRITICAL"),
        Band(name="red", min=25, max=50, color="#f97316", code="CS_HEALTH_RED"),
        Band(name="amber", min=50, max=75, color="#eab308", code="CS_HEALTH_AMBER"),
        Band(name="green", min=75, max=100, color="#22c55e", code="CS_HEALTH_GREEN"),
    ]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`WeightConfig` (what ``calibrate/config/schema/`` ships)."""
    schema = WeightConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://calibrate.dev/schema/weight-config-{SCHEMA_VERSION}.json"
    return schema


SCHEMA_FILE = Path(__file__).parent / "schema" / "weight-config.schema.json"


def _check_schema(doc: dict[str, Any], where: str) -> None:
    try:
        import jsonschema
    except ImportError:  # the travelling MLflow scorer: the strict model the schema is made from still validates
        return

    schema = json.loads(SCHEMA_FILE.read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ConfigError(f"{where}: field {path}: {error.message}; fix the file or regenerate it with `calibrate fit`")


def _upgrade(doc: dict[str, Any], where: str) -> dict[str, Any]:
    version = doc.get("schema_version")
    if version in ("1.0", SCHEMA_VERSION):  # 1.0 is 1.1 without segments: read as is, so its hash still checks
        return doc
    if version == "0.9":  # pre-release layout: weights as a mapping, no band codes
        doc = dict(doc)
        weights = doc.pop("weights")
        doc["dimensions"] = [{"name": k, "column": k, "weight": v} for k, v in weights.items()]
        doc["bands"] = [dict(b, code=f"CS_HEALTH_{b['name'].upper()}") for b in doc["bands"]]
        doc["schema_version"] = SCHEMA_VERSION
        doc.pop("content_hash", None)
        return doc
    raise ConfigError(
        f"{where}: unknown schema_version {version!r}; this calibrate reads 0.9, 1.0 and {SCHEMA_VERSION} — "
        "upgrade calibrate or re-export the config"
    )


def read_config(
    path: str | os.PathLike[str],
    *,
    draft: bool = False,
    registered_hash: str | None = None,
) -> WeightConfig:
    """Read and validate a sealed weight config (JSON, or YAML by its suffix).

    The file is parsed strictly and within bounds (:func:`calibrate.config.seal.read_document`:
    size, dimension and band limits, no duplicate keys, no non-finite numbers, no YAML aliases),
    validated against the schema and the model, and its seal checked
    (:func:`calibrate.config.seal.check_seal`).

    Parameters
    ----------
    path : path-like
        The config file.
    draft : bool, default False
        Accept a file without ``content_hash`` (a hand-made draft, or a 0.9 config, which had no
        seal). Only ``calibrate config publish``, which seals it, reads drafts; a present
        ``content_hash`` must still match.
    registered_hash : str, optional
        The ``content_hash`` the model registry recorded for this config; anything else is refused.

    Returns
    -------
    WeightConfig

    Raises
    ------
    ConfigError
        Missing, oversized, unparsable, schema-invalid, unknown-version, unsealed or tampered file.
    """
    from calibrate.config.seal import check_seal, read_document

    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise ConfigError(f"{where}: config file not found; pass the path of a config written by `calibrate fit`")
    doc = read_document(p)
    upgraded = _upgrade(doc, where)
    _check_schema(upgraded, where)
    try:
        config = WeightConfig.model_validate(upgraded, strict=True)  # no coercion: "0.5" is not a weight
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = "/".join(str(x) for x in first["loc"]) or "(top level)"
        raise ConfigError(f"{where}: {loc}: {first['msg']}; fix the file") from None
    if not (draft and config.content_hash is None):
        check_seal(config, where=where, registered_hash=registered_hash)
    return config


def config_path(directory: str | os.PathLike[str], name: str, version: int) -> Path:
    """Where version ``version`` of config ``name`` lives: ``<directory>/<name>-v<version>.json``."""
    return Path(directory) / f"{name}-v{version}.json"


def published_versions(directory: str | os.PathLike[str], name: str) -> list[int]:
    """The versions of ``name`` published in ``directory`` (files ``<name>-v<version>.json``), ascending."""
    pattern = re.compile(rf"^{re.escape(name)}-v(\d+)\.json$")
    d = Path(directory)
    return sorted(int(m.group(1)) for f in d.iterdir() if (m := pattern.match(f.name))) if d.is_dir() else []


def published_names(directory: str | os.PathLike[str]) -> list[str]:
    """The config names published in ``directory`` (files ``<name>-v<version>.json``), sorted."""
    pattern = re.compile(r"^(.+)-v(\d+)\.json$")
    d = Path(directory)
    return sorted({m.group(1) for f in d.iterdir() if (m := pattern.match(f.name))}) if d.is_dir() else []


def next_version(directory: str | os.PathLike[str], name: str) -> int:
    """One more than the highest published version of ``name`` in ``directory`` (1 when none).

    This sees ``directory`` only; a publish takes the next number of the whole version line
    (configs, reports, MLflow runs and the registry: :func:`calibrate.publish.versions.version_line`).
    """
    return max(published_versions(directory, name), default=0) + 1


def write_config(config: WeightConfig, directory: str | os.PathLike[str]) -> Path:
    """Publish a config as ``<name>-v<version>.json``, atomically, never overwriting.

    The config is sealed (``content_hash`` set), stamped ``created_at`` when empty
    (``SOURCE_DATE_EPOCH`` is honoured for reproducible builds), and validated against the
    shipped JSON Schema before anything touches the disk.

    Raises
    ------
    VersionExistsError
        When that version is already published.
    """
    if config.version < 1:
        raise ConfigError("a published config needs version >= 1; use next_version() to choose it")
    if not config.created_at:
        config = config.model_copy(update={"created_at": utc_now()})
    config = config.sealed()
    doc = json.loads(config.to_json())
    target = config_path(directory, config.name, config.version)
    _check_schema(doc, str(target))
    if target.exists():
        raise VersionExistsError(
            f"{target}: version {config.version} is already published and is never overwritten; "
            "fit again to get the next version, or pass a different --configs directory"
        )
    atomic_write_text(target, config.to_json(), exclusive=True, exists_error=VersionExistsError)
    return target


def utc_now() -> str:
    """The current UTC time as ISO-8601 (``SOURCE_DATE_EPOCH`` wins when set)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def atomic_write_text(
    target: Path,
    text: str,
    *,
    exclusive: bool = False,
    exists_error: type[Exception] = FileExistsError,
) -> None:
    """Write ``text`` to ``target`` all-or-nothing (temp file + link/rename in the same directory).

    The file gets the permissions a plain ``open(..., "w")`` gives (0666 less the umask: 0644
    typically), so a scorer running as another user can read it. With ``exclusive=True`` an
    existing ``target`` is never replaced: ``exists_error`` is raised.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        if exclusive:
            try:
                os.link(tmp, target)  # atomic, and fails when target exists
            except FileExistsError:
                raise exists_error(f"{target}: already exists and is never overwritten") from None
        else:
            os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
