"""Seeded synthetic customer-success book with a known true renewal model.

Everything here is generated from ``numpy.random.default_rng(seed)`` only, in a fixed
order that never depends on dict ordering or hash seeds, so the same arguments always
give the same :class:`pandas.DataFrame`. See ``data/README.md`` (the data card) for the
meaning of every column and the numbers of the true model.

The book is simulated as a stationary population: a pool of accounts joins at a constant
rate during a burn-in of :data:`_BURN_IN` quarters before the first recorded snapshot, so
the accounts present at period 0 already carry the survival selection that a real book
has. The accounts that appear in the recorded window are then thinned to exactly
``n_accounts`` by a simple random sample, which keeps every per-period distribution
unchanged in expectation. With ``drift=False`` nothing changes over time except noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.special import expit

__all__ = [
    "DIMENSIONS",
    "SEGMENTS",
    "TRUE_WEIGHTS",
    "DRIFTED_WEIGHTS",
    "DRIFT_DIMENSION",
    "DRIFT_START_PERIOD",
    "DRIFT_SHIFT",
    "SLOPE",
    "SEGMENT_INTERCEPTS",
    "COLUMNS",
    "make_book",
    "make_logistic_sample",
    "truth",
]

# --------------------------------------------------------------------------------------
# Ground truth (public)
# --------------------------------------------------------------------------------------
DIMENSIONS: tuple[str, ...] = ("usage", "engagement", "support", "commercial")
SEGMENTS: tuple[str, ...] = ("SMB", "Mid-Market", "Enterprise")

TRUE_WEIGHTS: dict[str, float] = {"usage": 0.40, "engagement": 0.25, "support": 0.20, "commercial": 0.15}
DRIFTED_WEIGHTS: dict[str, float] = {"usage": 0.30, "engagement": 0.25, "support": 0.30, "commercial": 0.15}
DRIFT_DIMENSION: str = "engagement"
DRIFT_START_PERIOD: int = 6  # 0-based; with the default 8 snapshots the drift covers periods 6 and 7
DRIFT_SHIFT: float = -12.0  # points added to the drift dimension (before clipping to 0-100)

SLOPE: float = 0.85  # log-odds per 10 points of health score
SCORE_CENTER: float = 50.0
SCORE_SCALE: float = 10.0
SEGMENT_INTERCEPTS: dict[str, float] = {"SMB": 0.6, "Mid-Market": 1.0, "Enterprise": 1.5}
SEGMENT_SHARES: dict[str, float] = {"SMB": 0.55, "Mid-Market": 0.30, "Enterprise": 0.15}
ARR_MEDIAN: dict[str, float] = {"SMB": 12_000.0, "Mid-Market": 60_000.0, "Enterprise": 250_000.0}
ARR_SIGMA: float = 0.5  # log-scale spread of ARR within a segment
SEAT_PRICE: dict[str, float] = {"SMB": 800.0, "Mid-Market": 700.0, "Enterprise": 600.0}  # ARR per seat

# csm_red: P(flag) = sigmoid(c0 + c1 * (50 - score) / 10 + c2 * (1 - renewed)), score with TRUE_WEIGHTS
CSM_RED_COEF: dict[str, float] = {"intercept": -2.0, "per_10_points_below_50": 1.0, "if_churns": 1.3}

COLUMNS: tuple[str, ...] = (
    "account_id",
    "segment",
    "snapshot_date",
    "renewal_date",
    "renewed",
    "arr",
    *DIMENSIONS,
    "licensed_seats",
    "adoption_pct",
    "days_since_login",
    "nps",
    "csm_contacts_per_month",
    "open_tickets",
    "oldest_ticket_age_days",
    "days_to_renewal",
    "csm_red",
)

# Decimal places of every float column (make_book rounds to these; write_book prints them).
FLOAT_DECIMALS: dict[str, int] = {
    "arr": 2,
    **{d: 2 for d in DIMENSIONS},
    "adoption_pct": 1,
    "csm_contacts_per_month": 1,
}

# --------------------------------------------------------------------------------------
# Private generator settings
# --------------------------------------------------------------------------------------
# Dimension i at (account, quarter): s = clip(100 - GAP_i * exp(SCALE * x) + shift, 0, 100), where
# x is a stationary Gaussian AR(1) across quarters with cross-dimension correlation _DIM_CORR.
# The exponential gives the left tail (accounts in trouble) that populates red and critical.
_DIM_GAP: dict[str, float] = {"usage": 25.0, "engagement": 27.0, "support": 24.0, "commercial": 28.0}
_DIM_SCALE = 0.75
_DIM_CORR = 0.35
_AR_RHO = 0.75
_BURN_IN = 16  # quarters simulated before period 0 (not recorded)
_POOL_FACTOR = 2.0  # pool size / n_accounts on the first attempt (about 61 % of the pool appears)
_DAYS_TO_RENEWAL = (30, 90)

# make_logistic_sample: correlated normal scores, clipped to 0-100
_SAMPLE_MEAN = 60.0
_SAMPLE_SD = 20.0
_SAMPLE_CORR = 0.3
_SAMPLE_DATE = "2024-01-01"


def _check_weights(weights: Mapping[str, float], *, names: tuple[str, ...] | None = None) -> dict[str, float]:
    if not isinstance(weights, Mapping) or len(weights) == 0:
        raise ValueError("weights must be a non-empty mapping of dimension name -> weight")
    if names is not None and set(weights) != set(names):
        raise ValueError(f"weights must have exactly the keys {list(names)}; got {sorted(weights)}")
    out: dict[str, float] = {}
    for key, value in weights.items():
        if not isinstance(key, str):
            raise ValueError(f"weight names must be strings; got {key!r}")
        v = float(value)
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"weight {key!r} must be a finite number >= 0; got {value!r}")
        out[key] = v
    return out


def _drifted(weights: dict[str, float]) -> dict[str, float]:
    """Apply the default drift's relative change (usage x0.75, support x1.5) and keep the total."""
    if weights == TRUE_WEIGHTS:
        return dict(DRIFTED_WEIGHTS)
    raw = {d: weights[d] * DRIFTED_WEIGHTS[d] / TRUE_WEIGHTS[d] for d in DIMENSIONS}
    total, new = sum(weights[d] for d in DIMENSIONS), sum(raw.values())
    return {d: (raw[d] * total / new if new > 0 else 0.0) for d in DIMENSIONS}


def _ordered_names(weights: Mapping[str, float]) -> tuple[str, ...]:
    """Standard dimensions in their canonical order, then any other names sorted."""
    std = [d for d in DIMENSIONS if d in weights]
    return (*std, *sorted(k for k in weights if k not in DIMENSIONS))


def _equicorrelated_chol(k: int, rho: float) -> np.ndarray:
    return np.linalg.cholesky(np.full((k, k), rho) + (1.0 - rho) * np.eye(k))


def _quarter_dates(start: str, n: int) -> np.ndarray:
    try:
        t0 = pd.Timestamp(start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"start must be a date like '2024-01-01'; got {start!r}") from exc
    if pd.isna(t0):
        raise ValueError(f"start must be a date like '2024-01-01'; got {start!r}")
    t0 = t0.normalize().tz_localize(None) if t0.tzinfo else t0.normalize()
    return np.array([(t0 + pd.DateOffset(months=3 * k)).to_datetime64() for k in range(n)], dtype="datetime64[D]")


def _account_ids(n: int) -> np.ndarray:
    width = max(5, len(str(n)))
    return np.array([f"ACC-{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _arr_and_seats(rng: np.random.Generator, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z_arr = rng.standard_normal(seg.size)
    z_price = rng.standard_normal(seg.size)
    median = np.array([ARR_MEDIAN[s] for s in SEGMENTS])[seg]
    arr = np.round(median * np.exp(ARR_SIGMA * z_arr), 2)
    price = np.array([SEAT_PRICE[s] for s in SEGMENTS])[seg] * np.exp(0.25 * z_price)
    seats = np.maximum(3, np.rint(arr / price)).astype(np.int64)
    return arr, seats


def _simulate_pool(
    rng: np.random.Generator,
    m: int,
    n_snapshots: int,
    w_true: np.ndarray,
    w_drift: np.ndarray,
    drift: bool,
    drift_start: int,
) -> dict[str, np.ndarray]:
    """Simulate ``m`` pool accounts over burn-in + recorded quarters (all arrays m x P)."""
    p = _BURN_IN + n_snapshots
    seg = rng.choice(len(SEGMENTS), size=m, p=[SEGMENT_SHARES[s] for s in SEGMENTS])
    join = rng.integers(0, p, size=m)
    arr, seats = _arr_and_seats(rng, seg)

    # Dimensions: stationary AR(1) latent, correlated across dimensions.
    chol = _equicorrelated_chol(len(DIMENSIONS), _DIM_CORR)
    eps = rng.standard_normal((m, p, len(DIMENSIONS))) @ chol.T
    x = np.empty_like(eps)
    x[:, 0] = eps[:, 0]
    innov = math.sqrt(1.0 - _AR_RHO**2)
    for t in range(1, p):
        x[:, t] = _AR_RHO * x[:, t - 1] + innov * eps[:, t]
    gap = np.array([_DIM_GAP[d] for d in DIMENSIONS])
    dims = 100.0 - gap * np.exp(_DIM_SCALE * x)
    drift_mask = np.zeros(p, dtype=bool)
    if drift:
        drift_mask[_BURN_IN + drift_start :] = True
        dims[:, drift_mask, DIMENSIONS.index(DRIFT_DIMENSION)] += DRIFT_SHIFT
    dims = np.round(np.clip(dims, 0.0, 100.0), FLOAT_DECIMALS["usage"])

    # Outcome: exactly the stated logistic model, per row, on the rounded dimensions.
    w_row = np.where(drift_mask[:, None], w_drift[None, :], w_true[None, :])  # P x 4
    model_score = np.einsum("mpk,pk->mp", dims, w_row)
    intercept = np.array([SEGMENT_INTERCEPTS[s] for s in SEGMENTS])[seg]
    p_renew = expit(intercept[:, None] + SLOPE * (model_score - SCORE_CENTER) / SCORE_SCALE)
    renewed = (rng.random((m, p)) < p_renew).astype(np.int64)

    # Raw signals and the CSM flag, drawn on the whole grid so that every row's values depend
    # only on that row (drift=False then changes nothing in the pre-drift periods).
    usage, engagement, support = dims[..., 0], dims[..., 1], dims[..., 2]
    p_active = np.clip(0.04 + 0.92 * usage / 100.0 + 0.06 * rng.standard_normal((m, p)), 0.0, 1.0)
    active_seats = rng.binomial(np.broadcast_to(seats[:, None], (m, p)), p_active)
    adoption_pct = np.round(100.0 * active_seats / seats[:, None], 1)
    days_since_login = np.floor(np.exp(3.7 - 0.042 * usage + 0.6 * rng.standard_normal((m, p)))).astype(np.int64)
    nps = np.clip(np.rint(1.0 + 0.09 * engagement + 1.3 * rng.standard_normal((m, p))), 0, 10).astype(np.int64)
    contacts = np.round(np.exp(0.1 + 0.022 * (100.0 - support) + 0.35 * rng.standard_normal((m, p))), 1)
    open_tickets = rng.poisson(np.exp(-1.2 + 0.03 * (100.0 - support))).astype(np.int64)
    age = np.maximum(1.0, np.rint(np.exp(1.6 + 0.025 * (100.0 - support) + 0.6 * rng.standard_normal((m, p)))))
    oldest_ticket_age = np.where(open_tickets > 0, age, 0.0).astype(np.int64)
    lo, hi = _DAYS_TO_RENEWAL
    days_to_renewal = rng.integers(lo, hi + 1, size=(m, p)).astype(np.int64)
    health = dims @ w_true
    c = CSM_RED_COEF
    below = (SCORE_CENTER - health) / SCORE_SCALE
    p_red = expit(c["intercept"] + c["per_10_points_below_50"] * below + c["if_churns"] * (1 - renewed))
    csm_red = (rng.random((m, p)) < p_red).astype(np.int64)

    # Life cycle: an account is present from its join quarter until (and including) the
    # first quarter whose renewal fails.
    t_idx = np.arange(p)[None, :]
    joined = t_idx >= join[:, None]
    churn = joined & (renewed == 0)
    churned_before = (np.cumsum(churn, axis=1) - churn) > 0
    present = joined & ~churned_before
    present[:, :_BURN_IN] = False
    return {
        "seg": seg, "join": join, "arr": arr, "seats": seats, "present": present, "dims": dims,
        "renewed": renewed, "adoption_pct": adoption_pct, "days_since_login": days_since_login, "nps": nps,
        "csm_contacts_per_month": contacts, "open_tickets": open_tickets,
        "oldest_ticket_age_days": oldest_ticket_age, "days_to_renewal": days_to_renewal, "csm_red": csm_red,
    }  # fmt: skip


def make_book(
    *,
    n_accounts: int = 3500,
    n_snapshots: int = 8,
    seed: int = 20261125,
    weights: dict[str, float] | None = None,
    drift: bool = True,
    start: str = "2024-01-01",
) -> pd.DataFrame:
    """Generate the synthetic customer-success book (quarterly account snapshots).

    Parameters
    ----------
    n_accounts : int, default 3500
        Number of distinct accounts in the book (exact).
    n_snapshots : int, default 8
        Number of quarterly snapshot dates (quarter starts from ``start``).
    seed : int, default 20261125
        Seed for :func:`numpy.random.default_rng`; the only source of randomness.
    weights : dict of str to float, optional
        True weights of ``usage``, ``engagement``, ``support``, ``commercial`` in the outcome
        model before the drift (default :data:`TRUE_WEIGHTS`). With ``drift=True`` the drifted
        weights apply the default relative change (usage x0.75, support x1.5, same total);
        for the default weights that is exactly :data:`DRIFTED_WEIGHTS`.
    drift : bool, default True
        In the last two snapshot periods (periods 6 and 7 with the default 8 snapshots,
        :data:`DRIFT_START_PERIOD`), shift ``engagement`` by :data:`DRIFT_SHIFT` points and
        switch the true weights to the drifted ones. ``drift=False`` keeps everything stationary
        and, for the same seed, leaves every row of the earlier periods unchanged.
    start : str, default "2024-01-01"
        First snapshot date (ISO date).

    Returns
    -------
    pandas.DataFrame
        One row per (account, snapshot), sorted by ``account_id`` then ``snapshot_date``, with the
        columns of :data:`COLUMNS`: ``account_id`` (str), ``segment`` (str), ``snapshot_date`` and
        ``renewal_date`` (datetime64[ns]), ``renewed`` (int 0/1), ``arr`` (float), the four
        dimensions (float 0-100), the raw signals and ``csm_red`` (int 0/1).

    Notes
    -----
    ``P(renewed=1) = sigmoid(a_segment + SLOPE * (sum_i w_i * s_i - 50) / 10)`` holds exactly
    for every row, with ``s_i`` the row's own (rounded) dimensions. The raw signals are noisy
    monotone functions of one dimension each and are *not* in the outcome model; ``csm_red``
    is drawn after the outcome from the health score and the outcome (see :func:`truth`).
    """
    n_accounts, n_snapshots, seed = int(n_accounts), int(n_snapshots), int(seed)
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be >= 1; got {n_accounts}")
    if n_snapshots < 1:
        raise ValueError(f"n_snapshots must be >= 1; got {n_snapshots}")
    if drift and n_snapshots < 3:
        raise ValueError("drift=True needs n_snapshots >= 3 (the drift covers the last two periods)")
    w = dict(TRUE_WEIGHTS) if weights is None else _check_weights(weights, names=DIMENSIONS)
    w_true = np.array([w[d] for d in DIMENSIONS])
    w_drift = np.array([_drifted(w)[d] for d in DIMENSIONS])
    drift_start = n_snapshots - 2
    dates = _quarter_dates(start, n_snapshots)

    factor = _POOL_FACTOR
    while True:
        rng = np.random.default_rng(seed)
        m = int(math.ceil(n_accounts * factor * (_BURN_IN + n_snapshots) / (_BURN_IN + 8)))
        pool = _simulate_pool(rng, m, n_snapshots, w_true, w_drift, drift, drift_start)
        appear = np.flatnonzero(pool["present"].any(axis=1))
        if appear.size >= n_accounts:
            break
        factor *= 1.5
    keep = np.sort(rng.choice(appear, size=n_accounts, replace=False))
    keep = keep[np.lexsort((keep, pool["join"][keep]))]  # ids in order of joining, then pool order
    ids = _account_ids(n_accounts)

    present = pool["present"][keep]
    acc, col = np.nonzero(present)  # row-major: by account, then quarter
    period = col - _BURN_IN
    a = keep[acc]
    snap = dates[period]
    dtr = pool["days_to_renewal"][a, col]
    data: dict[str, object] = {
        "account_id": pd.array(ids[acc], dtype="str"),
        "segment": pd.array(np.array(SEGMENTS, dtype=object)[pool["seg"][a]], dtype="str"),
        "snapshot_date": snap.astype("datetime64[ns]"),
        "renewal_date": (snap + dtr.astype("timedelta64[D]")).astype("datetime64[ns]"),
        "renewed": pool["renewed"][a, col],
        "arr": pool["arr"][a],
    }
    for i, d in enumerate(DIMENSIONS):
        data[d] = pool["dims"][a, col, i]
    data["licensed_seats"] = pool["seats"][a]
    for name in ("adoption_pct", "days_since_login", "nps", "csm_contacts_per_month", "open_tickets",
                 "oldest_ticket_age_days"):  # fmt: skip
        data[name] = pool[name][a, col]
    data["days_to_renewal"] = dtr
    data["csm_red"] = pool["csm_red"][a, col]
    return pd.DataFrame(data, columns=list(COLUMNS))


def make_logistic_sample(
    *,
    n: int,
    weights: dict[str, float],
    slope: float,
    intercept: float,
    seed: int,
) -> pd.DataFrame:
    """Draw a simple sample whose outcome follows a known logistic model exactly.

    One snapshot per account, no segment effect, no drift, no raw signals. Scores are
    correlated normals (mean 60, sd 20, pairwise correlation 0.3) clipped to 0-100 and
    rounded to 2 decimals; then ``P(renewed=1) = sigmoid(intercept + slope * sum_i w_i * s_i / 100)``.

    Parameters
    ----------
    n : int
        Number of rows (= accounts).
    weights : dict of str to float
        Dimension name -> weight (>= 0). The keys name the dimension columns; the standard
        dimensions come first in their canonical order, any other names follow sorted.
    slope : float
        Log-odds per 100 points of the weighted score ``sum_i w_i s_i`` (scores on 0-100).
    intercept : float
        Log-odds at a weighted score of 0.
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    pandas.DataFrame
        Columns ``account_id``, ``segment``, ``snapshot_date``, ``renewal_date``, ``renewed``,
        ``arr`` and the dimension columns. ``segment`` (and the segment-dependent ``arr``) are
        independent of the outcome. Per-point logit coefficients are ``slope * w_i / 100``.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    slope, intercept = float(slope), float(intercept)
    if not (math.isfinite(slope) and math.isfinite(intercept)):
        raise ValueError("slope and intercept must be finite numbers")
    w = _check_weights(weights)
    names = _ordered_names(w)
    rng = np.random.default_rng(int(seed))
    seg = rng.choice(len(SEGMENTS), size=n, p=[SEGMENT_SHARES[s] for s in SEGMENTS])
    arr, _ = _arr_and_seats(rng, seg)
    chol = _equicorrelated_chol(len(names), _SAMPLE_CORR)
    z = rng.standard_normal((n, len(names))) @ chol.T
    dims = np.round(np.clip(_SAMPLE_MEAN + _SAMPLE_SD * z, 0.0, 100.0), 2)
    score = dims @ np.array([w[k] for k in names])
    renewed = (rng.random(n) < expit(intercept + slope * score / 100.0)).astype(np.int64)
    lo, hi = _DAYS_TO_RENEWAL
    dtr = rng.integers(lo, hi + 1, size=n)
    snap = np.full(n, np.datetime64(_SAMPLE_DATE, "D"))
    data: dict[str, object] = {
        "account_id": pd.array(_account_ids(n), dtype="str"),
        "segment": pd.array(np.array(SEGMENTS, dtype=object)[seg], dtype="str"),
        "snapshot_date": snap.astype("datetime64[ns]"),
        "renewal_date": (snap + dtr.astype("timedelta64[D]")).astype("datetime64[ns]"),
        "renewed": renewed,
        "arr": arr,
    }
    for i, k in enumerate(names):
        data[k] = dims[:, i]
    return pd.DataFrame(data)


def truth() -> dict:
    """Ground truth of the default book (``make_book()``), as plain JSON-able Python values.

    Returns
    -------
    dict
        ``weights``, ``drifted_weights``, ``slope`` (log-odds per 10 score points),
        ``score_center``, ``score_scale``, ``segment_intercepts``, ``model`` (the formula),
        ``per_point_coefficients`` (the same model as ``a'_segment + sum_i b_i s_i``),
        ``drift`` (dimension, start period, periods, mean shift, weights before/after),
        ``csm_red`` (the flag's generating model), ``segment_shares``, ``arr_median``,
        ``defaults`` (make_book's default arguments) and ``bands`` (the default band edges).
    """
    n_snapshots = 8
    return {
        "dimensions": list(DIMENSIONS),
        "weights": dict(TRUE_WEIGHTS),
        "drifted_weights": dict(DRIFTED_WEIGHTS),
        "slope": SLOPE,
        "score_center": SCORE_CENTER,
        "score_scale": SCORE_SCALE,
        "segment_intercepts": dict(SEGMENT_INTERCEPTS),
        "model": "P(renewed=1) = sigmoid(a_segment + slope * (sum_i w_i * s_i - 50) / 10), s_i on 0-100",
        "per_point_coefficients": {
            "coefficients": {d: round(SLOPE * w / SCORE_SCALE, 6) for d, w in TRUE_WEIGHTS.items()},
            "drifted_coefficients": {d: round(SLOPE * w / SCORE_SCALE, 6) for d, w in DRIFTED_WEIGHTS.items()},
            "segment_intercepts": {
                s: round(a - SLOPE * SCORE_CENTER / SCORE_SCALE, 6) for s, a in SEGMENT_INTERCEPTS.items()
            },
        },
        "drift": {
            "dimension": DRIFT_DIMENSION,
            "start_period": DRIFT_START_PERIOD,
            "periods": list(range(DRIFT_START_PERIOD, n_snapshots)),
            "mean_shift": DRIFT_SHIFT,
            "weights_before": dict(TRUE_WEIGHTS),
            "weights_after": dict(DRIFTED_WEIGHTS),
            "description": (
                f"From period {DRIFT_START_PERIOD} (0-based) on, {DRIFT_DIMENSION} is shifted by "
                f"{DRIFT_SHIFT:+g} points before clipping, and the true weights become the drifted "
                "weights (support matters more, usage less)."
            ),
        },
        "csm_red": {
            "model": "P(csm_red=1) = sigmoid(intercept + per_10_points_below_50 * (50 - score) / 10 "
            "+ if_churns * (1 - renewed)), score = sum_i TRUE_WEIGHTS_i * s_i",
            **CSM_RED_COEF,
        },
        "segment_shares": dict(SEGMENT_SHARES),
        "arr_median": dict(ARR_MEDIAN),
        "arr_sigma": ARR_SIGMA,
        "defaults": {"n_accounts": 3500, "n_snapshots": n_snapshots, "seed": 20261125, "start": "2024-01-01"},
        "bands": {"green": [75.0, 100.0], "amber": [50.0, 75.0], "red": [25.0, 50.0], "critical": [0.0, 25.0]},
    }
