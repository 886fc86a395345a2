"""One version line per config name, read from every place a version number is recorded.

A number is issued when a publish starts; it is recorded by the config file
(``configs/<name>-v<N>.json``), the report directory (``reports/<name>-v<N>/``), the MLflow run
(named ``<name>-v<N>``, or ``scorer-<name>-v<N>`` for ``calibrate register``; a rolled-back
publish leaves its run, marked FAILED) and the registry (model version tag ``config_version``).
The next version is one more than the highest of all of them, so moving ``configs/`` away, or a
publish that failed half-way, never makes a number come round twice.

The MLflow store is read with SQLite in read-only mode: reading the line writes nothing, even
for ``--dry-run`` on a store that does not exist yet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calibrate.config.model import WeightConfig, config_path, published_versions, read_config

__all__ = ["ENVELOPE", "MODEL_NAME", "VersionLine", "body_hash", "version_line"]

ENVELOPE = ("version", "parent_version", "created_at", "content_hash")
"""Top-level fields that differ between two publishes of the same content (and ``provenance.mlflow_run_id``)."""

MODEL_NAME = "account-health-score"
"""Registered model name of the scorer (re-exported by :mod:`calibrate.publish.registry`)."""


def body_hash(config: WeightConfig) -> str:
    """SHA-256 of the config's content apart from the envelope: equal for an identical rerun."""
    doc = config.model_dump(mode="json", exclude=set(ENVELOPE))
    if doc.get("provenance"):
        doc["provenance"].pop("mlflow_run_id", None)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class VersionLine:
    """Every version of one config name recorded anywhere, by source."""

    name: str
    configs_dir: Path
    sources: dict[str, list[int]] = field(default_factory=dict)

    @property
    def published(self) -> list[int]:
        """Versions whose config file is visible in the configs directory."""
        return self.sources.get("configs", [])

    @property
    def highest(self) -> int:
        """The highest version ever issued (0 when none)."""
        return max((v for vs in self.sources.values() for v in vs), default=0)

    @property
    def next(self) -> int:
        """The version the next publish takes."""
        return self.highest + 1

    def latest(self) -> WeightConfig | None:
        """The highest published config (read and checked), or None."""
        return read_config(config_path(self.configs_dir, self.name, self.published[-1])) if self.published else None

    def identical_to(self, config: WeightConfig) -> int | None:
        """The latest published version when ``config`` has the same content apart from the envelope."""
        latest = self.latest()
        return latest.version if latest is not None and body_hash(latest) == body_hash(config) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (``calibrate status --json``)."""
        return {"name": self.name, "highest": self.highest, "next": self.next, "published": self.published,
                "sources": {k: v for k, v in self.sources.items()}}

    def summary(self) -> str:
        """One line: the published versions, the highest issued and the next."""
        shown = ", ".join(f"v{v}" for v in self.published) or "none"
        return f"{self.name}: published {shown}; highest issued v{self.highest}; next v{self.next}"


def _store_versions(db: Path, name: str) -> tuple[list[int], list[int]]:
    """Versions of ``name`` in an MLflow SQLite store: (from run names, from registry tags)."""
    if not db.is_file():
        return [], []
    run_name = re.compile(rf"^(?:scorer-)?{re.escape(name)}-v(\d+)$")
    with contextlib.closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=60)) as con:
        try:
            runs = [int(m.group(1)) for (n,) in con.execute("SELECT name FROM runs") if n and (m := run_name.match(n))]
            tagged = con.execute(
                "SELECT v.value FROM model_version_tags v JOIN model_version_tags n "
                "ON n.name = v.name AND n.version = v.version "
                "WHERE v.name = ? AND v.key = 'config_version' AND n.key = 'config_name' AND n.value = ?",
                (MODEL_NAME, name)).fetchall()
        except sqlite3.OperationalError:  # an empty or half-created store: nothing recorded yet
            return [], []
    return sorted(runs), sorted(int(v) for (v,) in tagged if str(v).isdigit())


def version_line(
    name: str,
    *,
    configs: str | os.PathLike[str],
    reports: str | os.PathLike[str],
    mlflow: str | os.PathLike[str],
) -> VersionLine:
    """Read the version line of config ``name`` from the configs, reports and MLflow stores.

    Parameters
    ----------
    name : str
        Config name.
    configs, reports, mlflow : path
        The store directories (:func:`calibrate.config.model.default_dirs`).

    Returns
    -------
    VersionLine
    """
    pattern = re.compile(rf"^{re.escape(name)}-v(\d+)$")
    rdir = Path(reports)
    reported = sorted(int(m.group(1)) for d in rdir.iterdir() if (m := pattern.match(d.name))) if rdir.is_dir() else []
    runs, registry = _store_versions(Path(mlflow) / "mlflow.db", name)
    sources = {"configs": published_versions(configs, name), "reports": reported, "mlflow runs": runs,
               "registry": registry}
    return VersionLine(name=name, configs_dir=Path(configs), sources=sources)
