"""Exact account-level multinomial draws behind :mod:`calibrate._stats.bootstrap` (private).

:class:`_AccountSampler` draws Multinomial(n_groups, 1/n_groups) account counts by Poissonisation
with completion; :class:`_CellDesign` turns them (or, with few distinct account profiles, a
multinomial over profiles) into per-cell bootstrap totals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from scipy import stats as _st

from calibrate._stats._common import one_blas_thread

try:  # scipy's own kernel for y += A·X (A in CSC), used to accumulate without allocating
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
except ImportError:  # pragma: no cover - private module moved; fall back to public products
    _csc_matvecs = None


# ----------------------------------------------------------------------------------------------
# account-level bootstrap: exact fast multinomial counts
# ----------------------------------------------------------------------------------------------
_U16 = 1 << 16
_CHUNK_ELEMS = 20_000_000  # rows × resamples handled at once (bounds memory)


@functools.lru_cache(maxsize=32)
def _poisson4_table(lam: float) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Lookup table: a uniform 16-bit integer → four iid Poisson(lam) counts (float32 ×4 packed
    in one complex128).

    Each outcome gets ``floor(p·2¹⁶)`` table cells; a draw landing in the remaining cells is
    resolved from the residual distribution with a float64 uniform, so the mixture is exactly the
    4-fold Poisson law (support truncated at 24 per count, i.e. below double precision).
    """
    kmax = 24
    pmf = _st.poisson.pmf(np.arange(kmax + 1), lam) if lam > 0 else np.eye(1, kmax + 1)[0]
    p4 = (pmf[:, None, None, None] * pmf[None, :, None, None] * pmf[None, None, :, None] * pmf[None, None, None, :])
    p4 = p4.ravel()
    keep = np.flatnonzero(p4 > 0)
    p = p4[keep]
    grid = np.stack(np.unravel_index(keep, (kmax + 1,) * 4), axis=1).astype(np.float32)
    codes = np.ascontiguousarray(grid).view(np.complex128).reshape(-1)
    floors = np.floor(p * _U16).astype(np.int64)
    n_pure = int(floors.sum())
    table = np.zeros(_U16, dtype=np.complex128)
    table[:n_pure] = np.repeat(codes, floors)
    resid = p - floors / _U16
    sel = np.flatnonzero(resid > 0)
    sel = sel[np.argsort(-resid[sel], kind="stable")]  # likely outcomes first: searches stay in cache
    cdf = np.cumsum(resid[sel])
    if cdf.size:
        cdf /= cdf[-1]
    table.flags.writeable = False
    return table, n_pure, codes[sel], cdf


def _poisson_codes(rng: np.random.Generator, table_info, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``u`` that fell in the residual part of the table, and their resolved codes."""
    _, n_pure, rcodes, rcdf = table_info
    if n_pure >= _U16:
        return np.empty(0, dtype=np.intp), rcodes[:0]
    hit = np.flatnonzero(u.reshape(-1) >= n_pure)
    j = np.searchsorted(rcdf, rng.random(hit.size), side="right")
    return hit, rcodes[np.minimum(j, rcdf.size - 1)]


def _chunk_width(n_rows: int) -> int:
    """Resamples per full chunk: a multiple of 4 with chunk × n_rows ≤ 2·10⁷ (4 ≤ k ≤ 256)."""
    return int(min(256, max(4, (_CHUNK_ELEMS // max(n_rows, 1)) // 4 * 4)))


def _chunk_sizes(n_boot: int, n_rows: int) -> list[int]:
    """Resamples per chunk (multiples of 4; depends only on n_boot and n_rows)."""
    k = _chunk_width(n_rows)
    n_pad = -(-n_boot // 4) * 4
    sizes = [k] * (n_pad // k)
    if n_pad % k:
        sizes.append(n_pad % k)
    return sizes


class _AccountSampler:
    """Exact Multinomial(n_groups, 1/n_groups) account counts, in chunks of resamples.

    Poissonisation: iid Poisson(λ) counts conditioned on their total ``S`` are
    Multinomial(S, uniform); for ``S <= n_groups`` adding ``n_groups − S`` further uniform draws
    gives Multinomial(n_groups, uniform) exactly. Resamples with ``S > n_groups`` (probability
    ≈ 0.1 % at λ = 1 − 3/√n_groups) are redrawn. Four Poisson counts come from one 16-bit draw
    and a table lookup (:func:`_poisson4_table`), so a count costs about a quarter of a random
    16-bit integer (Devroye 1986, ch. X–XI: Poisson and multinomial generation).

    With a ``profile`` (cells × accounts, CSC), each block of counts is multiplied into the cell
    totals while still in cache; otherwise the counts themselves are returned. Both modes consume
    the random stream identically. ``vectors`` (accounts × m) are per-account quantities whose
    count-weighted totals are returned as well (row 0: number of accounts drawn).
    """

    def __init__(self, n_groups: int, n_rows: int, *, profile: sp.csc_array | None = None,
                 vectors: np.ndarray | None = None, dtype: type = np.float32):
        self.n_groups = n_groups
        self.n_rows = n_rows
        self.table = _poisson4_table(max(0.0, 1.0 - 3.0 / math.sqrt(n_groups)))
        k = _chunk_width(n_rows)
        self.block = max(64, (1 << 18) // k)  # accounts per block: ~1 MB of float32 counts
        ones = np.ones((n_groups, 1), dtype=dtype)
        self.vectors = ones if vectors is None else np.ascontiguousarray(
            np.column_stack([ones, vectors]), dtype=dtype)
        self.profile = profile
        self.bounds = [(s, min(s + self.block, n_groups)) for s in range(0, n_groups, self.block)]
        if profile is not None:
            self.rows = profile.T.tocsr()  # accounts × cells, for the completion draws
            ip = profile.indptr
            self.parts = [
                (ip[s : e + 1] - ip[s], profile.indices[ip[s] : ip[e]], profile.data[ip[s] : ip[e]],
                 None if _csc_matvecs is not None else profile[:, s:e])
                for s, e in self.bounds
            ]

    def _pass(self, rng: np.random.Generator, kk: int) -> tuple[np.ndarray, np.ndarray]:
        """Poisson counts for ``kk`` (multiple of 4) resamples → (result, vector totals)."""
        table = self.table[0]
        q = kk // 4
        u = rng.integers(0, _U16, size=(self.n_groups, q), dtype=np.uint16)
        hit, codes = _poisson_codes(rng, self.table, u)
        cut = np.searchsorted(hit, np.array([s for s, _ in self.bounds] + [self.n_groups]) * q)
        sums = np.zeros((self.vectors.shape[1], kk))
        if self.profile is None:
            res = np.empty((self.n_groups, kk), dtype=np.float32)
        else:
            res = np.zeros((self.profile.shape[0], kk), dtype=self.profile.dtype)
        for i, (s, e) in enumerate(self.bounds):
            packed = table[u[s:e]]
            if cut[i + 1] > cut[i]:
                packed.reshape(-1)[hit[cut[i] : cut[i + 1]] - s * q] = codes[cut[i] : cut[i + 1]]
            c = packed.view(np.float32)  # (e - s, kk) counts, exact small integers
            sums += self.vectors[s:e].T @ c
            if self.profile is None:
                res[s:e] = c
                continue
            ap, ai, ax, sub = self.parts[i]
            c = c if c.dtype == res.dtype else c.astype(res.dtype)
            if sub is None:
                _csc_matvecs(res.shape[0], e - s, kk, ap, ai, ax, c.reshape(-1), res.reshape(-1))
            else:  # pragma: no cover - fallback if scipy's kernel is not importable
                res += sub @ c
        return res, sums

    def _chunk(self, rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
        g = self.n_groups
        res, sums = self._pass(rng, k)
        bad = np.flatnonzero(sums[0] > g)
        while bad.size:
            r2, s2 = self._pass(rng, -(-bad.size // 4) * 4)
            ok = s2[0, : bad.size] <= g
            res[:, bad[ok]] = r2[:, : bad.size][:, ok]
            sums[:, bad[ok]] = s2[:, : bad.size][:, ok]
            bad = bad[~ok]
        deficit = np.rint(g - sums[0]).astype(np.int64)
        n_extra = int(deficit.sum())
        if n_extra:
            acc = rng.integers(0, g, size=n_extra)
            col = np.repeat(np.arange(k), deficit)
            np.add.at(sums.T, col, self.vectors[acc])
            if self.profile is None:
                np.add.at(res.reshape(-1), acc * k + col, np.float32(1.0))
            else:
                ip = self.rows.indptr
                length = np.diff(ip)[acc]
                owner = np.repeat(np.arange(n_extra), length)
                ent = np.repeat(ip[acc] - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
                np.add.at(res.reshape(-1), self.rows.indices[ent].astype(np.int64) * k + col[owner],
                          self.rows.data[ent])
        return res, sums

    def chunks(self, n_boot: int, seed) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(result, totals)`` per chunk, ``n_boot`` resamples (columns) in all."""
        rng = np.random.default_rng(seed)
        left = n_boot
        for k in _chunk_sizes(n_boot, self.n_rows):
            with one_blas_thread():  # the small (m × block) @ (block × k) products spin-wait on more BLAS threads
                res, sums = self._chunk(rng, k)
            take = min(k, left)
            left -= take
            if take < k:
                res, sums = np.ascontiguousarray(res[:, :take]), np.ascontiguousarray(sums[:, :take])
            yield res, sums


class _CellDesign:
    """Accounts × cells count matrix and a generator of bootstrap cell totals.

    ``types=True`` merges accounts with identical profiles when few distinct profiles exist and
    draws the multinomial over profiles (same law, different stream); otherwise the account-level
    :class:`_AccountSampler` stream is used.
    """

    def __init__(self, row_group: np.ndarray, n_groups: int, cells: np.ndarray, n_cells: int, *,
                 types: bool, vectors: np.ndarray | None = None):
        n_rows = row_group.shape[0]
        biggest = int(np.bincount(row_group).max()) if n_rows else 0
        use = cells >= 0
        acc = sp.coo_array(
            (np.ones(int(use.sum())), (row_group[use], cells[use])), shape=(n_groups, n_cells)
        ).tocsr()
        self._setup(acc, n_rows, biggest, types=types, vectors=vectors)

    @classmethod
    def from_matrix(cls, account_by_cell: sp.csr_array, *, n_rows: int, biggest: int, types: bool,
                    vectors: np.ndarray | None = None) -> _CellDesign:
        """The design of an accounts × cells count matrix already aggregated (by an engine): the same draws as
        the row-level constructor on the rows it counts (``n_rows`` rows, at most ``biggest`` per account)."""
        design = cls.__new__(cls)
        design._setup(sp.csr_array(account_by_cell), n_rows, biggest, types=types, vectors=vectors)
        return design

    def _setup(self, acc: sp.csr_array, n_rows: int, biggest: int, *, types: bool,
               vectors: np.ndarray | None) -> None:
        self.n_rows = n_rows
        n_groups = self.n_groups = acc.shape[0]
        # float32 sums are exact while every total stays below 2**24 (largest resample: the
        # biggest account drawn n_groups times)
        self.dtype = np.float32 if n_groups * biggest < (1 << 24) else np.float64
        acc = acc.astype(self.dtype)
        acc.sum_duplicates()
        self.account_by_cell = acc
        self.vectors = vectors
        found = _profile_types(acc, n_groups) if types else None
        if found is None:
            self.sampler: _AccountSampler | None = _AccountSampler(
                n_groups, self.n_rows, profile=acc.T.tocsc(), vectors=vectors, dtype=self.dtype)
        else:
            first, self.multiplicity = found
            self.sampler = None
            self.type_profile = acc[first].T.tocsc()
            ones = np.ones((first.shape[0], 1))
            self.type_vectors = ones if vectors is None else np.column_stack([ones, vectors[first]])

    def cell_totals(self) -> np.ndarray:
        """Rows per cell of the data (the matrix's column sums: exact integers)."""
        return np.rint(np.asarray(self.account_by_cell.sum(axis=0, dtype=np.float64)).ravel()).astype(np.int64)

    def draws(self, n_boot: int, seed) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(cell totals (n_cells, k), vector totals (1 + m, k))``, n_boot columns in all."""
        if self.sampler is not None:
            yield from self.sampler.chunks(n_boot, seed)
            return
        rng = np.random.default_rng(seed)
        pvals = self.multiplicity / self.multiplicity.sum()
        left = n_boot
        while left:
            k = min(left, 4096)
            left -= k
            counts = np.ascontiguousarray(rng.multinomial(self.n_groups, pvals, size=k).T, dtype=self.dtype)
            yield self.type_profile @ counts, self.type_vectors.T @ counts


def _profile_types(acc: sp.csr_array, n_groups: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Group accounts with identical cell profiles; None when that would not pay off.

    Accounts with equal profiles are exchangeable, so Multinomial over accounts aggregated to
    profiles is Multinomial(n_groups, multiplicity / n_groups) over profiles (same law).
    """
    nnz_row = np.diff(acc.indptr)
    width = int(nnz_row.max()) if nnz_row.size else 0
    limit = max(64, n_groups // 20)  # a multinomial category costs ~20 accounts of the sampler
    if width == 0 or np.count_nonzero(np.bincount(acc.indices, minlength=acc.shape[1])) / width > limit:
        return None
    max_count = int(acc.data.max())
    base = acc.shape[1] * (max_count + 1) + 1
    if width * math.log2(base) >= 62:
        return None
    code = acc.indices.astype(np.int64) * (max_count + 1) + acc.data.astype(np.int64) + 1
    key = np.zeros(n_groups, dtype=np.int64)
    if width == 1:  # one cell per account (one snapshot each, say): its code is the key
        key[nnz_row > 0] = code
    else:
        rows = np.repeat(np.arange(n_groups), nnz_row)
        pos = np.arange(acc.indices.shape[0]) - np.repeat(acc.indptr[:-1], nnz_row)
        np.add.at(key, rows, code * base ** pos.astype(np.int64))
    if key.max() < max(4 * n_groups, 1 << 16):  # small keys (one cell per account, say): counted in O(n), not sorted
        mult = np.bincount(key)
        present = np.flatnonzero(mult)
        any_of = np.empty(mult.shape[0], dtype=np.intp)
        any_of[key] = np.arange(n_groups)  # an account of each key (which: immaterial; equal keys, equal profiles)
        first, mult = any_of[present], mult[present]
    else:
        _, first, mult = np.unique(key, return_index=True, return_counts=True)
    if first.shape[0] > limit:
        return None
    return first, mult.astype(np.float64)
