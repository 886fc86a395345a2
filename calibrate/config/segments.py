"""Per-segment weights inside a weight config (schema 1.1): :class:`SegmentWeights`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SegmentWeights"]


class SegmentWeights(BaseModel):
    """Per-segment weights: a row whose ``column`` value is a key of ``weights`` is scored with that segment's
    weights; any other value (a segment not seen at fit time, or a missing one) with the config's global
    ``dimensions`` weights. ``name`` is the column's name in data loaded by :func:`calibrate.load_accounts`
    (``by="name"``), when it differs from ``column``. Checked by the config that holds it (:meth:`check`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    name: str | None = Field(default=None, exclude_if=lambda value: value is None)
    weights: dict[str, dict[str, float]] = Field(min_length=1)

    def check(self, config: Any, *, tolerance: float) -> None:
        """Refuse segment weights in a 1.0 ``config`` (a :class:`~calibrate.config.model.WeightConfig`), or that do
        not name exactly its dimensions, leave [0, 1] or miss a sum of 1 (within ``tolerance``).

        Raises
        ------
        ValueError
            The first problem, naming the segment.
        """
        if config.schema_version == "1.0":
            raise ValueError("segments need schema_version 1.1")
        dimensions = [d.name for d in config.dimensions]
        for segment, w in self.weights.items():
            if sorted(w) != sorted(dimensions):
                raise ValueError(f"segment {segment!r}: weights must name exactly the dimensions {dimensions}")
            if any(not 0.0 <= x <= 1.0 for x in w.values()):
                raise ValueError(f"segment {segment!r}: weights must lie in [0, 1]")
            if abs(sum(w.values()) - 1.0) > tolerance:
                raise ValueError(f"segment {segment!r}: weights must sum to 1 (within {tolerance:g}); "
                                 f"they sum to {sum(w.values())!r}")
