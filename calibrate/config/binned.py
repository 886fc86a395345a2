"""The checks of a learned (``binned``) transform's stored data: :class:`calibrate.config.model.Transform` runs them."""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["LearnedShape", "check_binned"]

LearnedShape = Literal["flat", "step", "increasing", "decreasing", "peak", "trough", "categories"]
"""The shape a learned transform took."""


def check_binned(kind: str, knots: list[float], values: list[float], categories: dict[str, float] | None,
                 learned: tuple[Any, ...]) -> None:
    """Refuse, for kind ``binned``, cut-points that do not increase, points outside 0–100 or that do not fit the bins;
    for any other kind, fewer than two knots or learned-only fields (``learned``: missing, shape, bins) set.

    Raises
    ------
    ValueError
        Naming what is wrong.
    """
    if kind != "binned":
        if len(knots) < 2 or categories is not None or any(v is not None for v in learned):
            raise ValueError(f"transform {kind!r}: needs two knots or more, and no categories, missing, shape or bins "
                             "(those belong to kind 'binned')")
        return
    if any(b <= a for a, b in zip(knots, knots[1:])):
        raise ValueError("binned transform: cut-points (knots) must be strictly increasing")
    if any(not 0.0 <= v <= 100.0 for v in [*values, *(categories or {}).values()]):
        raise ValueError("binned transform: points must lie in [0, 100]")
    if categories is not None and (knots or set(categories.values()) - set(values)):
        raise ValueError("binned transform: a categorical one has no knots, and its category points are its values")
    if categories is None and len(values) != len(knots) + 1:
        raise ValueError(f"binned transform: {len(knots)} cut-points make {len(knots) + 1} bins, "
                         f"but {len(values)} points are given")
