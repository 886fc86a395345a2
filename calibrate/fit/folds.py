"""Held-out validation splits: out-of-time (by ``snapshot_date``) and grouped K-fold (by account).

contract.md §4: fit on earlier snapshots and validate on later ones; a random split never puts one
account on both sides. :func:`out_of_time_split` cuts the history at a date (by default so that
about ``test_share`` of the rows are later); :func:`grouped_folds` is scikit-learn's
``StratifiedGroupKFold`` on ``account_id`` (stratified by the outcome). :func:`validation_folds`
picks the out-of-time split when the data has at least two snapshot dates, else grouped folds.

An out-of-time split may see the same account on both sides — an earlier snapshot in training,
a later one in validation — because that is how the score is used in production; pass
``disjoint_accounts=True`` to drop, from the later side, every account seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from calibrate._params import Interval, Options, validate_params
from calibrate.data.load import Accounts
from calibrate.errors import DataError

__all__ = ["Fold", "out_of_time_split", "grouped_folds", "validation_folds"]


@dataclass(frozen=True)
class Fold:
    """One train/validation split: row positions into ``data.frame``.

    Attributes
    ----------
    name : str
        ``"time:<first later date>"`` or ``"group:<k>/<K>"``.
    train, test : ndarray of int
        Row positions (sorted) of the training and the validation rows.
    """

    name: str
    train: np.ndarray
    test: np.ndarray

    def split(self, data: Accounts) -> tuple[Accounts, Accounts]:
        """The training and validation :class:`~calibrate.data.load.Accounts`."""
        return _take(data, self.train), _take(data, self.test)

    def __repr__(self) -> str:
        return f"<Fold {self.name}: {len(self.train):,} train rows, {len(self.test):,} validation rows>"


def _take(data: Accounts, rows: np.ndarray) -> Accounts:
    mask = np.zeros(len(data), dtype=bool)
    mask[rows] = True
    return data.subset(mask)


def out_of_time_split(
    data: Accounts,
    *,
    test_from: str | None = None,
    test_share: float = 0.25,
    disjoint_accounts: bool = False,
) -> Fold:
    """Train on snapshots before a date, validate on the snapshots on or after it.

    Parameters
    ----------
    data : Accounts
        Needs a ``snapshot_date`` column with at least two distinct dates.
    test_from : str, optional
        First validation date (ISO). Default: the earliest snapshot date such that the rows
        on or after it are at most ``test_share`` of the data (at least the last date).
    test_share : float, default 0.25
        Target share of validation rows when ``test_from`` is not given.
    disjoint_accounts : bool, default False
        Drop from the validation side every account that also has a training snapshot.

    Returns
    -------
    Fold

    Raises
    ------
    DataError
        No ``snapshot_date``, a single date, or a cut that leaves one side empty.
    """
    if "snapshot_date" not in data.frame:
        raise DataError(
            f"{data.source}: out-of-time validation needs a snapshot_date column; map it in the data spec "
            "or use grouped folds (scheme='group')"
        )
    dates = data.frame["snapshot_date"]
    unique = np.sort(dates.unique())
    if len(unique) < 2:
        raise DataError(
            f"{data.source}: column 'snapshot_date' has a single date; out-of-time validation needs at least "
            "two — use grouped folds (scheme='group')"
        )
    if test_from is None:
        later_share = 1.0 - dates.value_counts(normalize=True).sort_index().cumsum().shift(1, fill_value=0.0)
        eligible = later_share[(later_share <= test_share + 1e-12) & (later_share.index > unique[0])]
        cut = eligible.index[0] if len(eligible) else pd.Timestamp(unique[-1])
    else:
        cut = pd.Timestamp(test_from)
    is_test = (dates >= cut).to_numpy().copy()
    train = np.flatnonzero(~is_test)
    if disjoint_accounts:
        seen = set(data.frame["account_id"].to_numpy()[train])
        is_test &= ~data.frame["account_id"].isin(seen).to_numpy()
    test = np.flatnonzero(is_test)
    if len(train) == 0 or len(test) == 0:
        side = "training" if len(train) == 0 else "validation"
        raise DataError(
            f"{data.source}: cutting at {pd.Timestamp(cut).date()} leaves no {side} rows; choose a date between "
            f"{pd.Timestamp(unique[0]).date()} and {pd.Timestamp(unique[-1]).date()}"
        )
    return Fold(name=f"time:{pd.Timestamp(cut).date().isoformat()}", train=train, test=test)


FOLD_PARAMS = {"scheme": [Options("auto", "time", "group")], "k": [Interval(int, 2, None)]}
"""What the fold options of :func:`validation_folds` (and of the comparisons built on it) may be."""


@validate_params({"k": FOLD_PARAMS["k"]})
def grouped_folds(data: Accounts, *, k: int = 5, seed: int = 0) -> list[Fold]:
    """K folds by account, stratified by the outcome (scikit-learn ``StratifiedGroupKFold``).

    Every account's rows fall in exactly one validation fold, and no account is ever on both
    sides of a fold.

    Parameters
    ----------
    data : Accounts
    k : int, default 5
    seed : int, default 0
        Shuffles the accounts before they are dealt into folds.

    Returns
    -------
    list of Fold

    Raises
    ------
    DataError
        Fewer accounts than folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    groups = data.frame["account_id"].to_numpy()
    if data.n_accounts < k:
        raise DataError(f"{data.source}: {data.n_accounts} accounts cannot make {k} grouped folds; use fewer folds")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    y = data.frame["renewed"].to_numpy()
    return [
        Fold(name=f"group:{i + 1}/{k}", train=np.sort(tr), test=np.sort(te))
        for i, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y, groups))
    ]


@validate_params(FOLD_PARAMS)
def validation_folds(
    data: Accounts,
    *,
    scheme: Literal["auto", "time", "group"] = "auto",
    k: int = 5,
    seed: int = 0,
    test_from: str | None = None,
) -> list[Fold]:
    """The folds a comparison runs on: out-of-time when possible, else grouped K-fold.

    ``scheme="auto"`` uses one out-of-time split when the data has at least two snapshot dates,
    and ``k`` grouped folds otherwise.
    """
    has_time = "snapshot_date" in data.frame and data.frame["snapshot_date"].nunique() >= 2
    if scheme == "time" or (scheme == "auto" and has_time):
        return [out_of_time_split(data, test_from=test_from)]
    return grouped_folds(data, k=k, seed=seed)
