"""What changes between two configs, and — on real accounts — who moves between bands.

:func:`diff_configs` answers the CS leader's question before a new config goes live: which
weights and band edges change, how many accounts and how much ARR move from each band to each
other band (the *band migration matrix*), and how the red book (accounts in the red band and
every band below it) grows or shrinks. Both configs score the data with
:func:`calibrate.score.scorer.score_frame`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from calibrate.config.model import WeightConfig
from calibrate.data.load import Accounts
from calibrate.score.scorer import score_frame

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ConfigDiff", "diff_configs", "red_book_mask"]


def red_book_mask(band_idx: np.ndarray, config: WeightConfig) -> np.ndarray:
    """Rows in the config's red band or any band below it (the "red book")."""
    return (band_idx >= 0) & (band_idx <= config.band_names.index(config.red_band))


@dataclass(frozen=True)
class ConfigDiff:
    """The difference between two configs, with the band migration when data was given.

    Attributes
    ----------
    old, new : WeightConfig
    weights : DataFrame
        One row per dimension (union of both): ``old``, ``new``, ``change`` (absent = 0).
    bands : DataFrame
        One row per band name: old and new ``min``/``max``/``code`` and ``changed``.
    other_changes : list of str
        Other fields that differ (missing rule, directions, columns, calibration, red band).
    accounts : DataFrame or None
        Migration matrix: rows = old band, columns = new band, cells = accounts (each at its latest
        snapshot by default).
    arr : DataFrame or None
        The same matrix summing ARR (None without an ``arr`` column).
    red_book : dict or None
        ``old``/``new`` accounts, share and ARR in the red book, and their changes.
    source : str or None
        Where the data came from.
    """

    old: WeightConfig
    new: WeightConfig
    weights: pd.DataFrame
    bands: pd.DataFrame
    other_changes: list[str]
    accounts: pd.DataFrame | None = None
    arr: pd.DataFrame | None = None
    red_book: dict[str, float] | None = None
    source: str | None = None

    @property
    def moved(self) -> int | None:
        """Accounts whose band name changes (None without data)."""
        if self.accounts is None:
            return None
        m = self.accounts
        same = sum(int(m.loc[b, b]) for b in m.index if b in m.columns)
        return int(m.to_numpy().sum()) - same

    def to_frame(self) -> pd.DataFrame:
        """Long migration table (``from_band``, ``to_band``, ``accounts``, ``share``, ``arr``) with data;
        the weight table (``dimension``, ``old``, ``new``, ``change``) without."""
        if self.accounts is None:
            return self.weights.reset_index(names="dimension")
        long = self.accounts.stack().rename("accounts").rename_axis(["from_band", "to_band"]).reset_index()
        long["share"] = long["accounts"] / max(int(long["accounts"].sum()), 1)
        if self.arr is not None:
            long["arr"] = self.arr.stack().to_numpy()
        return long

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe diff (``calibrate diff --json``)."""
        def matrix(m: pd.DataFrame | None) -> Any:
            return None if m is None else [[float(x) for x in row] for row in m.to_numpy()]

        return {
            "old": {"name": self.old.name, "version": self.old.version},
            "new": {"name": self.new.name, "version": self.new.version},
            "weights": [{"dimension": d, **{k: float(v) for k, v in row.items()}} for d, row in self.weights.iterrows()],
            "bands": self.bands.to_dict(orient="records"),
            "other_changes": list(self.other_changes),
            "migration": None if self.accounts is None else {
                "from_bands": list(self.accounts.index), "to_bands": list(self.accounts.columns),
                "accounts": [[int(x) for x in row] for row in self.accounts.to_numpy()],
                "arr": matrix(self.arr), "moved": self.moved, "source": self.source,
            },
            "red_book": None if self.red_book is None else dict(self.red_book),
        }

    def summary(self) -> str:
        """Text for the terminal: weight and band changes, then the migration and red book."""
        lines = [f"{self.old.name} v{self.old.version} -> {self.new.name} v{self.new.version}", "weights:"]
        for d, row in self.weights.iterrows():
            lines.append(f"  {d:<14} {row['old']:6.3f} -> {row['new']:6.3f}  ({row['change']:+.3f})")
        changed = self.bands[self.bands["changed"]]
        lines.append("bands: unchanged" if changed.empty else "bands changed: " + ", ".join(
            f"{r['band']} [{r['old_min']}, {r['old_max']}) -> [{r['new_min']}, {r['new_max']})" for _, r in changed.iterrows()))
        lines += [f"also: {c}" for c in self.other_changes]
        if self.accounts is not None and self.red_book is not None:
            n = int(self.accounts.to_numpy().sum())
            lines.append(f"on {n:,} accounts from {self.source}, each at its latest snapshot: {self.moved:,} "
                         f"({self.moved / max(n, 1):.1%}) change band")
            lines.append("migration of accounts (rows: old band, columns: new band):")
            lines += ["  " + line for line in self.accounts.to_string().splitlines()]
            rb = self.red_book
            lines.append(
                f"red book (accounts red or below at their latest snapshot): {rb['old_accounts']:,.0f} -> "
                f"{rb['new_accounts']:,.0f} accounts ({rb['old_share']:.1%} -> {rb['new_share']:.1%}, "
                f"{100 * rb['change_share']:+.1f} pts)"
                + (f"; ARR ${rb['old_arr']:,.0f} -> ${rb['new_arr']:,.0f} ({rb['change_arr']:+,.0f})" if "old_arr" in rb else "")
            )
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, *, value: str = "accounts") -> Axes:
        """Heatmap of the migration matrix (``value`` "accounts" or "arr"); weight bars without data."""
        from calibrate.plots import plot_band_migration, plot_weights

        if self.accounts is None:
            return plot_weights({f"v{self.old.version}": self.old.weights, f"v{self.new.version}": self.new.weights}, ax=ax)
        matrix = self.arr if value == "arr" and self.arr is not None else self.accounts
        return plot_band_migration(matrix, ax=ax, value="ARR" if matrix is self.arr else "accounts")

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(self.summary())}</pre>"

    def __repr__(self) -> str:
        moved = "" if self.moved is None else f", {self.moved:,} accounts change band"
        return f"<ConfigDiff {self.old.name} v{self.old.version} -> v{self.new.version}{moved}>"


def _weights(old: WeightConfig, new: WeightConfig) -> pd.DataFrame:
    dims = list(old.weights) + [d for d in new.weights if d not in old.weights]
    frame = pd.DataFrame({"old": [old.weights.get(d, 0.0) for d in dims],
                          "new": [new.weights.get(d, 0.0) for d in dims]}, index=pd.Index(dims, name=None))
    frame["change"] = frame["new"] - frame["old"]
    return frame


def _bands(old: WeightConfig, new: WeightConfig) -> pd.DataFrame:
    o, n = {b.name: b for b in old.bands}, {b.name: b for b in new.bands}
    rows = []
    for name in list(o) + [b for b in n if b not in o]:
        a, b = o.get(name), n.get(name)
        rows.append({
            "band": name,
            "old_min": a.min if a else None, "old_max": a.max if a else None,
            "new_min": b.min if b else None, "new_max": b.max if b else None,
            "old_code": a.code if a else None, "new_code": b.code if b else None,
            "changed": a is None or b is None or (a.min, a.max, a.code) != (b.min, b.max, b.code),
        })
    return pd.DataFrame(rows)


def _other(old: WeightConfig, new: WeightConfig) -> list[str]:
    out = []
    for field in ("missing", "red_band", "calibration"):
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            show = (lambda c: None if c is None else f"{c.intercept:.4f} + {c.slope:.5f}*score") if field == "calibration" else str
            out.append(f"{field}: {show(a)} -> {show(b)}")
    od, nd = {d.name: d for d in old.dimensions}, {d.name: d for d in new.dimensions}
    for name in od.keys() & nd.keys():
        for attr in ("column", "direction"):
            if getattr(od[name], attr) != getattr(nd[name], attr):
                out.append(f"{name}.{attr}: {getattr(od[name], attr)} -> {getattr(nd[name], attr)}")
    return sorted(out)


def diff_configs(
    old: WeightConfig,
    new: WeightConfig,
    *,
    data: Accounts | str | os.PathLike[str] | pd.DataFrame | None = None,
    query: str | None = None,
    latest: bool = True,
) -> ConfigDiff:
    """Compare two configs; with ``data``, the band migration and the red-book change.

    Parameters
    ----------
    old, new : WeightConfig
    data : Accounts, path, database URL or DataFrame, optional
        Account snapshots holding the columns both configs read (no outcome needed). Loaded with
        :func:`calibrate.publish.export.load_for_scoring` unless already :class:`~calibrate.data.load.Accounts`
        (then read by dimension name).
    query : str, optional
        SQL for a database URL.
    latest : bool, default True
        With a ``snapshot_date`` column, count each account once, at its latest snapshot (the
        book as it stands); ``False`` counts every snapshot row.

    Returns
    -------
    ConfigDiff
    """
    result: dict[str, Any] = {"weights": _weights(old, new), "bands": _bands(old, new), "other_changes": _other(old, new)}
    if data is not None:
        from calibrate.publish.export import load_for_scoring

        acc = data if isinstance(data, Accounts) else load_for_scoring(data, old, new, query=query)
        frame = acc.frame
        if latest and "snapshot_date" in frame:
            frame = frame.sort_values(["account_id", "snapshot_date"]).drop_duplicates("account_id", keep="last")
        a = score_frame(frame, old, by="name", contributions=False)
        b = score_frame(frame, new, by="name", contributions=False)
        old_names = pd.Categorical(a["band"], categories=old.band_names)
        new_names = pd.Categorical(b["band"], categories=new.band_names)
        counts = pd.crosstab(old_names, new_names, dropna=False).astype(int)
        counts = counts.reindex(index=old.band_names, columns=new.band_names, fill_value=0)
        counts.index.name, counts.columns.name = f"v{old.version}", f"v{new.version}"
        arr = None
        rb_old, rb_new = red_book_mask(a["band_index"].to_numpy(), old), red_book_mask(b["band_index"].to_numpy(), new)
        n = len(frame)
        red = {"old_accounts": float(rb_old.sum()), "new_accounts": float(rb_new.sum()),
               "old_share": float(rb_old.mean()) if n else 0.0, "new_share": float(rb_new.mean()) if n else 0.0}
        red["change_accounts"] = red["new_accounts"] - red["old_accounts"]
        red["change_share"] = red["new_share"] - red["old_share"]
        if "arr" in frame:
            money = frame["arr"].fillna(0.0).to_numpy()
            arr = pd.crosstab(old_names, new_names, values=money, aggfunc="sum", dropna=False)
            arr = arr.reindex(index=old.band_names, columns=new.band_names).fillna(0.0)
            arr.index.name, arr.columns.name = counts.index.name, counts.columns.name
            red |= {"old_arr": float(money[rb_old].sum()), "new_arr": float(money[rb_new].sum()),
                    "total_arr": float(money.sum())}
            red["change_arr"] = red["new_arr"] - red["old_arr"]
        result |= {"accounts": counts, "arr": arr, "red_book": red, "source": acc.source}
    return ConfigDiff(old=old, new=new, **result)
