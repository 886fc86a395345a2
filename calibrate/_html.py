"""How a calibrate object renders in Jupyter (``_repr_html_``): its headline over its table(s).

One helper for every result and data object that has no richer rendering of its own, so they all
look alike: the first line of ``summary()`` (else the one-line ``repr``) in bold, then each table
as escaped HTML (floats with 3 decimals, the index shown only when it is named).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["result_html", "ResultHtml"]


def _headline(obj: Any) -> str:
    summary = getattr(obj, "summary", None)
    text = summary() if callable(summary) else repr(obj)
    return text.splitlines()[0] if text else type(obj).__name__


def result_html(obj: Any, *frames: pd.DataFrame, headline: str | None = None) -> str:
    """HTML for ``obj._repr_html_``: a headline paragraph, then ``frames`` (default ``obj.to_frame()``).

    Parameters
    ----------
    obj : object
        A calibrate result or data object.
    *frames : DataFrame
        The tables to show; none given: ``obj.to_frame()``.
    headline : str, optional
        Default: the first line of ``obj.summary()``, else ``repr(obj)``.

    Returns
    -------
    str
        Escaped HTML (cell values and the headline cannot inject markup).
    """
    tables = frames or (obj.to_frame(),)
    parts = [f"<p><b>{html.escape(headline if headline is not None else _headline(obj))}</b></p>"]
    for frame in tables:
        named = any(n is not None for n in frame.index.names)
        parts.append(frame.to_html(index=named, border=0, na_rep="", escape=True,
                                   float_format=lambda v: f"{v:.3f}"))
    return "\n".join(parts)


class ResultHtml:
    """Mixin for results with ``summary()`` and ``to_frame()``: ``_repr_html_`` is :func:`result_html`."""

    def _repr_html_(self) -> str:
        return result_html(self)
