"""The seal and the safe reading of a config file: what every consumer of a config relies on.

A published config carries ``content_hash``, the SHA-256 of its canonical content
(:meth:`calibrate.config.model.WeightConfig.compute_hash`), set by
:func:`calibrate.config.model.write_config` — the only writer, reached from ``calibrate fit``/``run`` and from
``calibrate config publish``, which seals a hand-made draft. :func:`check_seal` is the one check every
consumer makes: :func:`calibrate.config.model.read_config` (so every CLI command, the SQL export and the
MLflow scorer) and the registry, which also compares the hash it recorded for a version.

:func:`read_document` parses the file strictly and within bounds, before any validation work:

* at most :data:`MAX_CONFIG_BYTES` bytes, :data:`MAX_DIMENSIONS` dimensions and :data:`MAX_BANDS` bands
  (a real config is tens of kilobytes with a handful of dimensions);
* no duplicate keys (JSON or YAML: which of two weights would a scorer use?);
* no non-finite numbers (``NaN``, ``Infinity``, ``1e999``, YAML's ``.nan``/``.inf``);
* no YAML anchors or aliases (a config is plain data; aliases also make tiny files expand without bound).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calibrate.errors import ConfigError

if TYPE_CHECKING:
    from calibrate.config.model import WeightConfig

__all__ = ["MAX_CONFIG_BYTES", "MAX_DIMENSIONS", "MAX_BANDS", "check_seal", "read_document"]

MAX_CONFIG_BYTES = 8 * 1024 * 1024
"""Largest config file read (8 MiB): checked on the file size, before it is parsed."""
MAX_DIMENSIONS = 1_000
"""Most dimensions a config may have; checked before validation, so an oversized config is refused at once."""
MAX_BANDS = 100
"""Most bands a config may have."""


def check_seal(config: WeightConfig, *, where: str, registered_hash: str | None = None) -> None:
    """Refuse a config that is not sealed, whose seal does not match its content, or not the one registered.

    Parameters
    ----------
    config : WeightConfig
    where : str
        The file (or registry version) the config came from, for the message.
    registered_hash : str, optional
        The ``content_hash`` the model registry recorded for this config (its ``content_hash`` tag, or the
        scorer model's ``model_config``); the config must carry exactly that hash.

    Raises
    ------
    ConfigError
        No ``content_hash``, a ``content_hash`` that is not the hash of the content (a hand edit), or a
        hash other than ``registered_hash`` (the artifact was replaced).
    """
    if config.content_hash is None:
        raise ConfigError(f"{where}: not sealed (no content_hash), so it is refused; "
                          f"`calibrate config publish {where}` seals a draft")
    if config.content_hash != config.compute_hash():
        raise ConfigError(
            f"{where}: content_hash does not match the content — the file was edited by hand; "
            "restore the published file, or make a new version with `calibrate fit` "
            "(or drop content_hash and `calibrate config publish FILE`)"
        )
    if registered_hash is not None and config.content_hash != registered_hash:
        raise ConfigError(
            f"{where}: content_hash {config.content_hash} is not the {registered_hash or '(empty)'} the model "
            "registry recorded for this version — the config was replaced; restore it, or register it again "
            "with `calibrate run`"
        )


def read_document(path: Path) -> dict[str, Any]:
    """Parse a config file (JSON, or YAML by its ``.yaml``/``.yml`` suffix) strictly and within bounds.

    Parameters
    ----------
    path : Path
        An existing file.

    Returns
    -------
    dict
        The parsed document, not yet validated.

    Raises
    ------
    ConfigError
        Too large, unreadable, not an object, duplicate keys, non-finite numbers, YAML anchors/aliases, or
        more than :data:`MAX_DIMENSIONS` dimensions or :data:`MAX_BANDS` bands.
    """
    where = str(path)
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: {size:,} bytes is over the {MAX_CONFIG_BYTES:,}-byte limit for a config "
                          "(a config is tens of kilobytes); check the file")
    import yaml  # type: ignore[import-untyped]

    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in {".yaml", ".yml"}:
            doc = yaml.load(text, Loader=_strict_yaml_loader(where))  # noqa: S506 - a SafeLoader subclass
        else:
            doc = json.loads(text, object_pairs_hook=lambda pairs: _unique(pairs, where))
    except (ValueError, yaml.YAMLError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where}: not a readable JSON/YAML config ({reason}); check the file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: a config must be a JSON object; check the file")
    _check_finite(doc, where)
    for key, limit in (("dimensions", MAX_DIMENSIONS), ("weights", MAX_DIMENSIONS), ("bands", MAX_BANDS)):
        value = doc.get(key)
        if isinstance(value, list | dict) and len(value) > limit:
            raise ConfigError(f"{where}: {len(value):,} {key} is over the limit of {limit:,} a config may have; "
                              "check the file")
    return doc


def _unique(pairs: list[tuple[Any, Any]], where: str) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key, _ in pairs:
        if key in seen:
            raise ConfigError(f"{where}: key {key!r} appears twice in one object, so its value is ambiguous; "
                              "keep one and check the file")
        seen.add(key)
    return dict(pairs)


def _check_finite(doc: Any, where: str) -> None:
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:  # iterative: a deeply nested document must not exhaust the recursion limit
        loc, node = stack.pop()
        if isinstance(node, (dict, list)):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((f"{loc}/{key}" if loc else str(key), value) for key, value in items)
        elif isinstance(node, float) and not math.isfinite(node):
            raise ConfigError(f"{where}: {loc or '(top level)'}: {node!r} is not a number a config may hold (every "
                              "number must be finite); restore the published file or refit")


def _strict_yaml_loader(where: str) -> Any:
    import yaml

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
        """PyYAML's safe loader without anchors, aliases or duplicate keys."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if getattr(self.peek_event(), "anchor", None) is not None:
                raise ConfigError(f"{where}: uses a YAML anchor or alias; a config is plain data — write each "
                                  "value out and check the file")
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            pairs = [(self.construct_object(k, deep=True), None) for k, _ in node.value]
            _unique([p for p in pairs if not isinstance(p[0], list | dict)], where)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader
