"""Seeded synthetic customer-success book with a known true renewal model.

Use :func:`load_book` for the committed book (``data/cs_book.csv``), :func:`make_book` to
generate variants (other seeds, sizes, ``drift=False``), :func:`make_logistic_sample` for a
plain logistic sample, and :func:`truth` / :data:`TRUE_WEIGHTS` / :data:`DRIFTED_WEIGHTS`
to check what a fit should recover. Regenerate the committed files with
``python -m calibrate.data.datasets``. The data card is ``data/README.md``.
"""

from calibrate.data.datasets._io import load_book, package_book_path, write_book
from calibrate.data.datasets._real import RealData, load_iranian
from calibrate.data.datasets._synthetic import (
    COLUMNS,
    DIMENSIONS,
    DRIFT_DIMENSION,
    DRIFT_SHIFT,
    DRIFT_START_PERIOD,
    DRIFTED_WEIGHTS,
    SEGMENT_INTERCEPTS,
    SEGMENTS,
    SLOPE,
    TRUE_WEIGHTS,
    make_book,
    make_logistic_sample,
    truth,
)

__all__ = [
    "package_book_path",
    "RealData",
    "load_iranian",
    "COLUMNS",
    "DIMENSIONS",
    "DRIFT_DIMENSION",
    "DRIFT_SHIFT",
    "DRIFT_START_PERIOD",
    "DRIFTED_WEIGHTS",
    "SEGMENT_INTERCEPTS",
    "SEGMENTS",
    "SLOPE",
    "TRUE_WEIGHTS",
    "load_book",
    "make_book",
    "make_logistic_sample",
    "truth",
    "write_book",
]
