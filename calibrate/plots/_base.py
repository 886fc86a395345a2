"""Shared plumbing of the plots: the Axes to draw on, the palette, PNG bytes."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes


_PALETTE = ["#94a3b8", "#2563eb", "#16a34a", "#9333ea", "#dc2626"]


def ensure_axes(ax: Axes | None, size: tuple[float, float] = (6.0, 3.6)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # a pyplot figure, so Jupyter shows it

    return plt.subplots(figsize=size, layout="constrained")[1]


def new_axes(size: tuple[float, float] = (6.0, 3.6)) -> Axes:
    """A fresh Axes on a figure that pyplot does not track (for reports and batch jobs)."""
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100, layout="constrained").add_subplot()


def figure_png(ax: Axes, *, dpi: int = 100) -> bytes:
    """PNG bytes of the figure holding ``ax`` (metadata fixed, so identical figures give identical bytes)."""
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def error_lengths(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``yerr`` for an interval ``[low, high]`` around ``value``: the two lengths, never negative (a bound
    a rounding error inside the estimate, as at a rate of 100 %, draws as no bar rather than failing)."""
    value, low, high = (np.asarray(a, dtype=float) for a in (value, low, high))
    return np.clip(np.array([value - low, high - value]), 0.0, None)


def _unit_square(ax: Axes, reference: str, *, x: str, y: str, title: str) -> Axes:
    """The labelled [0, 1] square with its diagonal (the reference of reliability and gains curves)."""
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label=reference)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=x, ylabel=y, title=title)
    return ax


def _signed_barh(ax: Axes, labels: list[str], values: np.ndarray, xlabel: str) -> Axes:
    """Horizontal bars, green above zero and red below, with a zero line."""
    y = np.arange(len(labels))
    ax.barh(y, values, color=["#22c55e" if v > 0 else "#ef4444" for v in values])
    ax.set_yticks(y, labels, fontsize=7)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_xlabel(xlabel)
    return ax
