"""The team's policy file (``.yaml``/``.yml`` or ``.json``): one parser for the gate's and the drift thresholds.

A policy file is one mapping; the gate's keys sit at the top and the drift thresholds under ``drift:``::

    version: 2026-Q4
    min_spread: 0.10
    drift:
      psi_recalibrate: 0.30

:func:`read_policy_section` reads one part and validates it with the part's pydantic model, so a bad
key or value is one :class:`~calibrate.errors.ConfigError` naming the file and the key, worded one way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from calibrate.errors import ConfigError

__all__ = ["read_policy_section", "SECTIONS"]

SECTIONS = ("drift",)
"""Keys of a policy file that hold a part of their own (the rest are the gate's)."""

M = TypeVar("M", bound=BaseModel)


def _document(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: policy file not found; check the path passed as --policy")
    import yaml  # type: ignore[import-untyped]  # JSON is YAML: one parser for both

    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not readable YAML/JSON ({type(exc).__name__}); fix the syntax") from None
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: a policy is a mapping of thresholds (min_spread: 0.3, ...); got {type(doc).__name__}")
    return p, doc


def read_policy_section(path: str | os.PathLike[str], model: type[M], section: str | None = None) -> M:
    """Read one part of a policy file: the gate's top-level keys (``section=None``) or a named section.

    Parameters
    ----------
    path : path-like
        The policy file.
    model : pydantic model class
        What the part must be (``extra="forbid"``: an unknown key is an error).
    section : str, optional
        A key of :data:`SECTIONS`; the part is empty (all defaults) when the file has no such key.

    Raises
    ------
    ConfigError
        Unreadable file, unknown key or bad value; the message names the file and the key.
    """
    p, doc = _document(path)
    if section is None:
        part, prefix = {k: v for k, v in doc.items() if k not in SECTIONS}, ""
    else:
        part, prefix = doc.get(section) or {}, f"{section}."
        if not isinstance(part, dict):
            raise ConfigError(f"{p}: key {section!r} must be a mapping of thresholds; got {type(part).__name__}")
    try:
        return model.model_validate(part)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = prefix + (str(err["loc"][0]) if err["loc"] else "(root)")
        allowed = sorted({*model.model_fields, *(SECTIONS if section is None else ())})
        raise ConfigError(f"{p}: key {key!r}: {err['msg']}; allowed keys: {allowed}") from None
