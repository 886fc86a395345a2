"""Deterministic CSV writing and loading of the bundled book."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from calibrate.data.datasets._synthetic import COLUMNS, FLOAT_DECIMALS, make_book, truth

__all__ = ["write_book", "load_book", "book_csv_bytes", "truth_json", "package_book_path", "repo_book_path"]

BOOK_FILENAME = "cs_book.csv"
TRUTH_FILENAME = "truth.json"
_DATE_COLUMNS = ("snapshot_date", "renewal_date")
_STR_COLUMNS = ("account_id", "segment")
_INT_COLUMNS = tuple(c for c in COLUMNS if c not in (*_STR_COLUMNS, *_DATE_COLUMNS, *FLOAT_DECIMALS))


def package_book_path() -> Path:
    """Path of the canonical copy shipped inside the package (``calibrate/data/datasets/data/cs_book.csv``)."""
    return Path(__file__).resolve().parent / "data" / BOOK_FILENAME


def repo_book_path() -> Path | None:
    """Path of the user-facing copy ``data/cs_book.csv`` at the repository top level.

    Returns ``None`` when the package is not running from a source checkout (e.g. an
    installed wheel), so that nothing is ever written into ``site-packages``.
    """
    root = Path(__file__).resolve().parents[2]
    if (root / "data").is_dir() and ((root / ".git").exists() or (root / "pyproject.toml").is_file()):
        return root / "data" / BOOK_FILENAME
    return None


def book_csv_bytes(book: pd.DataFrame | None = None) -> bytes:
    """The exact bytes :func:`write_book` writes for ``book`` (default: ``make_book()``).

    Floats are printed with a fixed number of decimals per column (dimensions and ``arr``
    2, ``adoption_pct`` and ``csm_contacts_per_month`` 1, anything else 4), dates as
    ``YYYY-MM-DD``, UTF-8, ``\\n`` line endings, no index.
    """
    df = make_book() if book is None else book
    out = df.copy()
    for col in out.columns:
        if col in _DATE_COLUMNS or pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(out[col]):
            decimals = FLOAT_DECIMALS.get(col, 4)
            values = np.asarray(out[col], dtype=float)
            values = np.where(values == 0, 0.0, values)  # never print "-0.00"
            out[col] = np.char.mod(f"%.{decimals}f", values).astype(object)
    text = out.to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8")


def write_book(path: str | Path, book: pd.DataFrame | None = None) -> Path:
    """Write the book as CSV, byte-for-byte reproducibly.

    Parameters
    ----------
    path : str or Path
        Destination file; parent directories are created.
    book : DataFrame, optional
        The book to write (default: ``make_book()`` with default arguments).

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(book_csv_bytes(book))
    return path


def truth_json() -> str:
    """:func:`truth` serialised as the text of ``calibrate/data/datasets/truth.json``."""
    return json.dumps(truth(), indent=2) + "\n"


def _read(source) -> pd.DataFrame:
    dtype: dict[str, str] = {c: "str" for c in _STR_COLUMNS}
    dtype.update({c: "int64" for c in _INT_COLUMNS})
    dtype.update({c: "float64" for c in FLOAT_DECIMALS})
    df = pd.read_csv(source, dtype=dtype, parse_dates=list(_DATE_COLUMNS), date_format="%Y-%m-%d")
    for col in _DATE_COLUMNS:
        df[col] = df[col].astype("datetime64[ns]")
    return df


def load_book() -> pd.DataFrame:
    """Read the committed synthetic book shipped with the package.

    Returns
    -------
    pandas.DataFrame
        The same frame as ``make_book()`` (same columns, dtypes and values): quarterly
        snapshots of 3,500 synthetic accounts, see ``data/README.md`` for the data card and
        :func:`calibrate.data.datasets.truth` for the true model.
    """
    ref = resources.files("calibrate.data.datasets").joinpath("data").joinpath(BOOK_FILENAME)
    with ref.open("rb") as fh:
        df = _read(fh)
    return df[[c for c in COLUMNS if c in df.columns] + [c for c in df.columns if c not in COLUMNS]]

