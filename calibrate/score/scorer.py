"""The one scoring function. Everything that needs a score or a band calls :func:`score_frame`.

score = Σ wᵢ · sᵢ over the dimensions, where an inverted dimension (``lower_is_healthier``)
contributes ``wᵢ · (100 − sᵢ)`` (:func:`calibrate.config.direction.healthy`) and a missing sub-score
follows the config's ``missing`` rule (:func:`weighted_score`). Bands are half-open ``[min, max)``;
the top band includes 100.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np
import pandas as pd

from calibrate._params import Options, validate_params
from calibrate.config.direction import healthy
from calibrate.config.model import WeightConfig
from calibrate.data.transforms import apply_transform
from calibrate.errors import DataError

__all__ = ["score_frame", "score_values", "weighted_score", "segment_weight_matrix", "segment_column",
           "segment_labels", "band_index", "renewal_probability", "BAND_DECIMALS",
           "MISSING_RULES"]

MissingRule = Literal["error", "redistribute"]
MISSING_RULES: tuple[str, ...] = get_args(MissingRule)
"""What a missing (NaN) sub-score does: refuse the row, or spread its weight over the present dimensions."""

SCORE_ROWS = 500_000
"""Rows :func:`score_frame` computes at a time: its temporaries are bounded by this many rows, not by the book."""

BAND_DECIMALS = 9
"""Decimals the score is rounded to before it is compared with the band edges."""


def healthy_values(values: np.ndarray, config: WeightConfig) -> np.ndarray:
    """``values`` (rows × dimensions, config order) the healthy way round: inverted dimensions count 100 − s."""
    return healthy(values, [d.direction for d in config.dimensions])


@validate_params({"missing": [Options(*MISSING_RULES)]})
def weighted_score(
    values: np.ndarray, weights: np.ndarray, *, missing: MissingRule = "error", columns: Sequence[str] = (),
    first_row: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The weighted sum of healthy sub-scores under the missing-dimension rule: the one place that rule lives.

    Parameters
    ----------
    values : ndarray of shape (n, k)
        Sub-scores on 0–100, already the healthy way round (:func:`calibrate.config.direction.healthy`);
        NaN marks a missing value.
    weights : ndarray of shape (k,) or (n, k)
        The dimensions' weights (summing to 1), or each row's weights (segment weights).
    missing : {"error", "redistribute"}, default "error"
        ``"error"``: a missing value is refused (:class:`~calibrate.errors.DataError` naming its column
        and first row). ``"redistribute"``: a row's weight on a present dimension is
        ``w / Σ w(present)`` and a missing one contributes 0; a row with every value missing scores NaN.
    columns : sequence of str, default ()
        The data column of each dimension, named in the error.
    first_row : int, default 0
        The number the error gives ``values``' first row (a chunk of a larger book).

    Returns
    -------
    score : ndarray of shape (n,)
    contributions : ndarray of shape (n, k)
        Each dimension's share of the score; a row's contributions sum to its score.

    Notes
    -----
    The SQL export (:func:`calibrate.publish.export.export_sql`) writes the same rule in SQL (with
    ``missing="error"`` a NULL sub-score gives a NULL score, as SQL cannot refuse a row), and a load
    for scoring keeps gaps only when every config redistributes
    (:func:`calibrate.publish.export.scoring_spec`); a change here is a change there.
    """
    present = ~np.isnan(values)
    if present.all():
        contributions = values * weights
        return contributions.sum(axis=1), contributions
    if missing == "error":
        row = int(np.flatnonzero(~present.all(axis=1))[0])
        j = int(np.flatnonzero(~present[row])[0])
        col = columns[j] if j < len(columns) else f"#{j}"
        raise DataError(
            f"column {col!r}: missing sub-score (first at row {first_row + row}); fill it, or use a config "
            "with missing='redistribute' to spread that weight over the present dimensions"
        )
    row_weights = np.where(present, weights, 0.0)
    total = row_weights.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_weights = np.where(total > 0, row_weights / total, np.nan)
    contributions = row_weights * np.where(present, values, 0.0)
    return contributions.sum(axis=1), contributions


def segment_weight_matrix(config: WeightConfig, segment: np.ndarray | None) -> np.ndarray:
    """The weights each row is scored with: its segment's (``config.segments``), else the global ones.

    Returns the global weights, shape (k,), without segments; else an (n, k) matrix where a row whose
    ``segment`` label (text, ``None`` when missing) is not a fitted segment keeps the global weights.
    """
    weights = np.array([d.weight for d in config.dimensions])
    if config.segments is None or segment is None:
        return weights
    segment = np.asarray(segment, dtype=object)
    matrix = np.tile(weights, (len(segment), 1))
    for label, w in config.segments.weights.items():
        matrix[segment == label] = [w[d.name] for d in config.dimensions]
    return matrix


def segment_labels(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The segment of each row as text (``None`` where missing): how the fit, the scorer and SQL read it."""
    return frame[column].astype("string").to_numpy(dtype=object, na_value=None)


def segment_column(frame: pd.DataFrame, config: WeightConfig, *, by: str = "column") -> str | None:
    """The column of ``frame`` holding the config's segment (``None`` without segments).

    Raises
    ------
    DataError
        The config has segment weights but ``frame`` has no segment column.
    """
    seg = config.segments
    if seg is None:
        return None
    column = seg.name if by == "name" and seg.name is not None and seg.name in frame.columns else seg.column
    if column not in frame.columns:
        raise DataError(f"column {column!r} (the config's segment) is not in the data; the config weights rows by "
                        "segment — add the column (a segment not seen at fit time, or empty, gets the global weights)")
    return column


def score_values(values: np.ndarray, config: WeightConfig, *, segment: np.ndarray | None = None,
                 first_row: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Score a matrix of dimension values (rows × dimensions, in config order).

    Parameters
    ----------
    values : ndarray of shape (n, k)
        Sub-scores on 0–100, columns in the order of ``config.dimensions``; NaN marks a missing value.
    config : WeightConfig
    segment : ndarray of shape (n,), optional
        Each row's segment as text (``None`` when missing), for a config with segment weights
        (:func:`segment_weight_matrix`); without it every row gets the global weights.
    first_row : int, default 0
        The number of ``values``' first row in the caller's data (messages name rows by it; a chunk of a book).

    Returns
    -------
    score : ndarray of shape (n,)
    contributions : ndarray of shape (n, k)
        Each dimension's share of the score; a row's contributions sum to its score.

    Raises
    ------
    DataError
        A value is missing and the config's ``missing`` rule is ``"error"``.
    """
    values = np.asarray(values, dtype=float)
    weights = segment_weight_matrix(config, segment)
    return weighted_score(healthy_values(values, config), weights, missing=config.missing,
                          columns=[d.column for d in config.dimensions], first_row=first_row)


def band_index(score: np.ndarray, config: WeightConfig) -> np.ndarray:
    """Index of each score's band (0 = lowest band); −1 for a NaN score.

    The score is rounded to :data:`BAND_DECIMALS` decimals first, so a score that is 75 up to
    floating-point error (e.g. every sub-score 75) lands in the band that starts at 75 — in
    Python and in the exported SQL alike.
    """
    score = np.round(np.asarray(score, dtype=float), BAND_DECIMALS)
    mins = np.array([b.min for b in config.bands[1:]])
    idx = np.searchsorted(mins, score, side="right")
    return np.where(np.isnan(score), -1, idx)


def renewal_probability(score: np.ndarray, config: WeightConfig) -> np.ndarray:
    """The config's calibrated renewal probability for each score (NaN without a calibration)."""
    score = np.asarray(score, dtype=float)
    cal = config.calibration
    if cal is None:
        return np.full(score.shape, np.nan)
    if cal.method == "isotonic":
        return np.interp(score, cal.knots, cal.probabilities)  # NaN stays NaN; clamped outside the knots
    eta = cal.intercept + cal.slope * score
    return 1.0 / (1.0 + np.exp(-eta))


@validate_params({"by": [Options("column", "name")]})
def score_frame(
    frame: pd.DataFrame,
    config: WeightConfig,
    *,
    contributions: bool = True,
    by: Literal["column", "name"] = "column",
    keys: Sequence[str] = (),
) -> pd.DataFrame:
    """Score every row of ``frame`` with ``config``: the reference scorer.

    Parameters
    ----------
    frame : DataFrame
        Must hold each dimension's ``column`` (0–100, or raw values when the dimension declares a
        ``transform``), and the segment column of a config with segment weights (each row is scored with
        its segment's weights; an unknown or missing segment with the global weights).
    config : WeightConfig
    contributions : bool, default True
        Add one ``contribution_<dimension>`` column per dimension.
    by : {"column", "name"}, default "column"
        Read each dimension from its configured source ``column`` (raw production data; a declared
        ``transform`` is applied to it), or from the column named like the dimension (data loaded by
        :func:`calibrate.load_accounts`, already on 0–100). The mapped column always wins: with
        ``"name"``, a dimension whose ``column`` is in ``frame`` (and is no other dimension's name) is
        still read from that column, as the SQL export and the MLflow scorer read it (when it holds numbers; a text
        column, a spec's category, is read under the dimension's name).
    keys : sequence of str, default ()
        Columns of ``frame`` copied in front of the result (e.g. ``account_id``, ``snapshot_date``),
        so the output says which account each score belongs to. Absent keys are skipped.

    Returns
    -------
    DataFrame
        Same index as ``frame``: the ``keys``, then ``score``, ``band``, ``band_code``,
        ``band_index``, ``p_renew`` and the contributions.

    Examples
    --------
    >>> import pandas as pd
    >>> from calibrate.config.model import WeightConfig, Dimension, default_bands
    >>> cfg = WeightConfig(dimensions=[Dimension(name="a", column="a", weight=0.75),
    ...                                Dimension(name="b", column="b", weight=0.25)], bands=default_bands())
    >>> score_frame(pd.DataFrame({"a": [100.0, 20.0], "b": [0.0, 40.0]}), cfg)[["score", "band"]]
       score   band
    0   75.0  green
    1   25.0    red
    """
    names = {d.name for d in config.dimensions}
    # with by="name" a mapped numeric column wins; a text column (a spec's category) is read by its loaded name
    raw = [by == "column" or (d.column in frame.columns and d.column not in names
                              and pd.api.types.is_numeric_dtype(frame[d.column])) for d in config.dimensions]
    columns = [d.column if r else d.name for d, r in zip(config.dimensions, raw)]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"column(s) {missing} not in the data; the config scores {columns} — map them in the data spec")
    labelled = [raw[j] and d.transform is not None and d.transform.categories is not None
                for j, d in enumerate(config.dimensions)]  # a learned categorical transform reads the labels
    numeric = [c for c, text in zip(columns, labelled) if not text]
    column = segment_column(frame, config, by=by)
    n, k = len(frame), len(columns)
    score = np.empty(n)
    contrib = np.empty((n, k)) if contributions else None
    # SCORE_ROWS rows at a time: the values, their healthy copy and the products are bounded by the chunk, not by
    # the book (1e7 rows × 12: ~3 GB of temporaries → ~0.15 GB); a row's score does not depend on its neighbours
    for start in range(0, n, SCORE_ROWS):
        part = frame.iloc[start:start + SCORE_ROWS]
        if any(labelled):
            values = np.empty((len(part), k))
            values[:, [j for j, text in enumerate(labelled) if not text]] = part[numeric].to_numpy(
                dtype=float, na_value=np.nan)
        else:  # a fresh array (the transforms below write into it), in one pass
            values = part[numeric].to_numpy(dtype=float, na_value=np.nan, copy=True)
        for j, d in enumerate(config.dimensions):
            if raw[j] and d.transform is not None:
                values[:, j] = apply_transform(part[columns[j]].to_numpy() if labelled[j] else values[:, j],
                                               d.transform)
        segment = None if column is None else segment_labels(part, column)
        s, c = score_values(values, config, segment=segment, first_row=start)
        score[start:start + len(part)] = s
        if contrib is not None:
            contrib[start:start + len(part)] = c
    idx = band_index(score, config)
    # the labels as pandas' string arrays taken by index (−1 → missing): the dtype the frame would infer from Python
    # strings, 8× faster than building a million-row object array and letting pandas convert it
    names = pd.array([b.name for b in config.bands], dtype="str")
    codes = pd.array([b.code for b in config.bands], dtype="str")
    out = pd.DataFrame(
        {
            **{k: frame[k] for k in keys if k in frame.columns},
            "score": score,
            "band": names.take(idx, allow_fill=True),
            "band_code": codes.take(idx, allow_fill=True),
            "band_index": idx,
            "p_renew": renewal_probability(score, config),
        },
        index=frame.index,
    )
    if contrib is not None:
        for j, d in enumerate(config.dimensions):
            out[f"contribution_{d.name}"] = contrib[:, j]
    return out
