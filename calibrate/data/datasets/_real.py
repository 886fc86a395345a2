"""Real churn data shipped with calibrate: the Iranian Churn Dataset (UCI id 563, CC BY 4.0).

:func:`load_iranian` reads the packaged copy of ``data/iranian-churn/Customer_Churn.csv`` with its
raw spec (``data/iranian-churn/spec.json``): duplicates dropped, rows numbered as accounts, each
dimension derived from one raw column by its declared transform (learnt on the loaded rows, or
on ``train`` rows when given). The data card is ``data/iranian-churn/README.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from calibrate.config.model import Transform
from calibrate.data.load import Accounts, DataSpec, load_accounts
from calibrate.data.transforms import RawSpec, apply_spec, fit_transforms, read_raw_spec

__all__ = ["RealData", "load_iranian", "iranian_paths", "load_raw"]

_HERE = Path(__file__).resolve().parent


def iranian_paths() -> tuple[Path, Path]:
    """The packaged CSV and raw spec of the Iranian churn data."""
    return _HERE / "data" / "iranian_churn.csv", _HERE / "iranian_spec.json"


@dataclass(frozen=True)
class RealData:
    """A real data set loaded through a raw spec.

    Attributes
    ----------
    accounts : Accounts
        Derived 0–100 dimensions (healthy-oriented), ``renewed``, ``account_id``, raw columns kept.
    raw : DataFrame
        The rows as read (after dropping duplicates), with ``account_id``.
    spec : RawSpec
    transforms : dict
        Dimension → the fitted :class:`~calibrate.config.model.Transform`.
    dropped_duplicates : int
    """

    accounts: Accounts
    raw: pd.DataFrame
    spec: RawSpec
    transforms: dict[str, Transform]
    dropped_duplicates: int

    def __repr__(self) -> str:
        return f"<RealData {self.accounts!r}; {self.dropped_duplicates} duplicate rows dropped>"


def load_raw(path: str | os.PathLike[str], spec: RawSpec) -> tuple[pd.DataFrame, int]:
    """Read a raw file, drop exact duplicate rows when the spec says so, and add ``account_id``."""
    frame = pd.read_csv(path)
    before = len(frame)
    if spec.drop_duplicates:
        frame = frame[~frame.duplicated(keep="first")]
    dropped = before - len(frame)
    if spec.account_id is None:
        frame = frame.assign(account_id=[f"{spec.id_prefix}{i + 1:05d}" for i in frame.index])
    else:
        frame = frame.rename(columns={spec.account_id: "account_id"})
    return frame.reset_index(drop=True), dropped


def load_iranian(*, train: np.ndarray | None = None) -> RealData:
    """The Iranian Churn Dataset with the dimensions of its worked-example spec.

    Parameters
    ----------
    train : array of int, optional
        Row positions whose values the transforms are learnt from (default: every row; the
        transforms use no outcome, so this is leakage-free either way).

    Returns
    -------
    RealData
        ``.accounts`` (2,850 customers, 9 dimensions) feeds :func:`calibrate.fit_weights` and
        :func:`calibrate.compare.methods`; :func:`calibrate.data.transforms.attach_transforms` with
        ``.spec`` and ``.transforms`` turns a fitted config into one that scores the raw columns.

    Examples
    --------
    >>> real = load_iranian()
    >>> len(real.accounts), real.dropped_duplicates
    (2850, 300)
    """
    csv, spec_path = iranian_paths()
    spec = read_raw_spec(spec_path)
    raw, dropped = load_raw(csv, spec)
    transforms = fit_transforms(raw if train is None else raw.iloc[np.asarray(train)], spec)
    derived = apply_spec(raw, spec, transforms)
    frame = pd.concat([raw.drop(columns=list(spec.names), errors="ignore"), derived], axis=1)
    accounts = load_accounts(frame, spec=DataSpec(dimensions=spec.names, churn_column=spec.outcome))
    accounts = replace(accounts, source="iranian-churn (UCI 563, CC BY 4.0)")
    return RealData(accounts=accounts, raw=raw, spec=spec, transforms=transforms, dropped_duplicates=dropped)
