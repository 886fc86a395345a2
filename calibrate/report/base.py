"""The report's building blocks: sections and their registry, tables in words, embedded figures.

A report is a list of :class:`Section` (a heading and an HTML body) put into ``templates/report.html``.
Every table goes through :func:`table_html` or :func:`frame_html`: headers in words
(:func:`calibrate._labels.label`) linked to the glossary, numbers formatted for people, and the
table inside its own scroll box so a wide one never widens the page.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calibrate import _labels as L
from calibrate.plots import figure_png

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from calibrate.config.model import WeightConfig
    from calibrate.data.load import Accounts
    from calibrate.pipeline import RunResult

__all__ = [
    "Section",
    "SECTIONS",
    "ROW_LEVEL",
    "register_section",
    "result_section",
    "object_html",
    "frame_html",
    "render_report",
    "img_tag",
    "table_html",
    "header_html",
    "scored",
    "scores_shared",
    "configs",
]


@functools.cache
def _template() -> Any:
    """``templates/report.html`` as a jinja2 template; every value is escaped unless marked ``| safe``."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("calibrate.report", "templates"), autoescape=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template("report.html")


@dataclass(frozen=True)
class Section:
    """One titled part of the report; ``body`` is trusted HTML built by this module's helpers."""

    title: str
    body: str


def img_tag(ax: Axes, alt: str) -> str:
    """An ``<img>`` with the Axes' figure embedded as a base64 PNG."""
    data = base64.b64encode(figure_png(ax)).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def header_html(text: str, key: str | None = None) -> str:
    """A header cell's content: ``text`` (escaped), linked to its glossary entry when it has one."""
    key = key if key is not None else L.glossary_for(text)
    body = html.escape(text)
    return f'<a href="#g-{key}">{body}</a>' if key else body


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return html.escape(L.number(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return html.escape(L.count(value))
    return html.escape(str(value))


_NUMERIC = re.compile(r"^[-+−$]?[\d.,]+|^n/a$")


def _td(cell: str) -> str:
    """A body cell; figures are right-aligned (a short one never wraps), words left-aligned."""
    text = re.sub(r"<[^>]+>", "", cell)
    short = len(text) <= 11 and " " not in text.strip()
    classes = " ".join(c for c, on in (("num", _NUMERIC.match(text)), ("short", short)) if on)
    return f'<td class="{classes}">{cell}</td>' if classes else f"<td>{cell}</td>"



def _wrap(table: str) -> str:
    return f'<div class="table-box">{table}</div>'


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]], *, raw: bool = False) -> str:
    """An HTML table in its own scroll box; headers link to the glossary, text is escaped.

    Strings are shown as given (format numbers with :mod:`calibrate._labels` first); floats get 3
    decimals, ints thousands separators, a missing value ``n/a``. ``raw``: cells are trusted HTML.
    """
    head = "".join(f"<th>{header_html(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_td(v if raw else _cell(v)) for v in row) + "</tr>" for row in rows)
    return _wrap(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def frame_html(frame: pd.DataFrame, *, formats: Mapping[str, Callable[[Any], str]] | None = None) -> str:
    """A DataFrame as a table in words: each column's header from :func:`calibrate._labels.label` (linked
    to its glossary entry) and each value formatted by :func:`calibrate._labels.value`."""
    show_index = any(n is not None for n in frame.index.names)
    if show_index:
        frame = frame.reset_index()
    cols = [str(c) for c in frame.columns]
    head = "".join(f"<th>{header_html(L.label(c), L.glossary_key(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(_td(html.escape(L.value(c, v, formats=formats))) for c, v in zip(cols, row))
        + "</tr>" for row in frame.itertuples(index=False))
    return _wrap(f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def render_report(
    *,
    title: str,
    subtitle: str,
    verdict: str,
    verdict_ok: bool,
    sections: Sequence[Section],
    extra: Mapping[str, str] | None = None,
    banner: str | None = None,
) -> str:
    """Fill the report template (jinja2, autoescaped: text is escaped, section bodies are trusted HTML).

    ``banner`` is a warning shown above the verdict (the report lists accounts); the glossary of
    :data:`calibrate._labels.GLOSSARY` closes the report. Returns the complete HTML document;
    ``extra`` values fill further template fields.
    """
    from calibrate import __version__

    return _template().render(
        title=title,
        subtitle=subtitle,
        verdict=verdict,
        verdict_color="#16a34a" if verdict_ok else "#dc2626",
        sections=sections,
        calibrate_version=__version__,
        banner=banner,
        glossary=[(key, term, text) for key, (term, text) in L.GLOSSARY.items()],
        **(extra or {}),
    )


# -- the registry -----------------------------------------------------------------------------------
SectionBuilder = Callable[["RunResult", "Accounts"], "Section | None"]
"""Builds one section from a run and its data, or returns None when the run has nothing to show."""

SECTIONS: dict[str, SectionBuilder] = {}
"""The report's sections in order: name → builder. :func:`register_section` adds one."""

ROW_LEVEL: set[str] = set()
"""Sections that list individual accounts: built only when the report is asked to include accounts."""


def register_section(name: str, builder: SectionBuilder | None = None, *, before: str | None = None,
                     row_level: bool = False) -> Any:
    """Add (or replace) a section builder; usable as a decorator.

    Parameters
    ----------
    name : str
        Key in :data:`SECTIONS`; an existing key is replaced in place.
    builder : callable (result, data) → Section or None
    before : str, optional
        Insert before this section (default: before ``"provenance"``, which stays last).
    row_level : bool, default False
        The section shows account rows (:data:`ROW_LEVEL`): off unless the report includes accounts.

    Examples
    --------
    A result object the run carries as an attribute is one line::

        register_section("leaderboard", result_section("leaderboard", "Methods leaderboard"))
    """

    def add(fn: SectionBuilder) -> SectionBuilder:
        if row_level:
            ROW_LEVEL.add(name)
        if name in SECTIONS:
            SECTIONS[name] = fn
            return fn
        anchor = before if before is not None else ("provenance" if "provenance" in SECTIONS else None)
        items = list(SECTIONS.items())
        at = next((i for i, (k, _) in enumerate(items) if k == anchor), len(items))
        items.insert(at, (name, fn))
        SECTIONS.clear()
        SECTIONS.update(items)
        return fn

    return add if builder is None else add(builder)


def object_html(obj: Any, *, alt: str = "") -> str:
    """Render any calibrate result: its ``to_frame()`` as a table and its ``plot(ax=...)`` as an image.

    Either part is skipped when the object lacks it; a plot that raises is reported as text, never
    breaks the report.
    """
    parts = []
    if hasattr(obj, "to_frame"):
        parts.append(frame_html(obj.to_frame()))
    elif hasattr(obj, "summary"):
        parts.append(f"<pre>{html.escape(obj.summary())}</pre>")
    if hasattr(obj, "plot"):
        from calibrate.plots import new_axes

        try:
            parts.append(img_tag(obj.plot(ax=new_axes((7.0, 3.8))), alt or type(obj).__name__))
        except Exception as exc:  # noqa: BLE001 - a figure must not cost the report
            parts.append(f'<p class="meta">(figure unavailable: {html.escape(type(exc).__name__)})</p>')
    return "\n".join(parts)


def result_section(attr: str, title: str, *, intro: str = "") -> SectionBuilder:
    """A builder for a result object the run carries as ``result.<attr>`` (absent or None: no section).

    The object is read duck-typed: ``to_frame()`` for the table, ``plot(ax=...)`` for the figure
    and, when present, ``summary()`` as a caption.
    """

    def build(result: RunResult, data: Accounts) -> Section | None:
        obj = getattr(result, attr, None)
        if obj is None:
            return None
        head = f"<p>{html.escape(intro)}</p>" if intro else ""
        return Section(title, head + object_html(obj, alt=title))

    build.__name__ = f"section_{attr}"
    return build


_SCORES: ContextVar[dict[tuple[int, str, bool], pd.DataFrame] | None] = ContextVar("report_scores", default=None)


@contextlib.contextmanager
def scores_shared() -> Iterator[None]:
    """Inside the block :func:`scored` scores each (data, config) once: the sections share the frames.

    Where the sharing happens for the report: the distribution, calibration and expected-churn sections all
    score the book with the same configs. The memo lives for the block only (no frame outlives the report).
    """
    token = _SCORES.set({})
    try:
        yield
    finally:
        _SCORES.reset(token)


def scored(data: Accounts, config: WeightConfig, *, contributions: bool = False) -> pd.DataFrame:
    """``data`` scored with ``config`` (score, band, calibrated probability; optionally contributions).

    Within :func:`scores_shared` a repeated request returns the frame already computed (do not modify it).
    """
    from calibrate.score.scorer import score_frame

    memo = _SCORES.get()
    key = (id(data.frame), config.model_dump_json(), contributions)
    if memo is not None and key in memo:
        return memo[key]
    out = score_frame(data.frame, config, contributions=contributions, by="name")
    if memo is not None:
        memo[key] = out
    return out


def configs(result: RunResult) -> dict[str, WeightConfig]:
    """Label → config, the current one first when there is one."""
    out = {} if result.current is None else {f"current v{result.current.version}": result.current}
    return out | {f"new v{result.config.version}": result.config}
