"""The simplex solvers behind :func:`calibrate.fit.weights.fit_weights` (arrays in, arrays out).

Model: ``logit P(renew) = a + x @ v`` with ``x`` the sub-scores on 0–1 and ``v = b·w ≥ 0``
(``b = Σv`` the slope, ``w = v / b`` the weights on the simplex). The negative log-likelihood is
convex in ``(a, v)``; every option below keeps it convex:

- **floor / cap / fixed** on ``w`` are *linear* constraints on ``v``:
  ``floorᵢ·Σv ≤ vᵢ ≤ capᵢ·Σv`` and ``vᵢ = fixedᵢ·Σv``. They are solved by SLSQP with the analytic
  gradient (linear constraints with constant Jacobians); the plain case stays on L-BFGS-B.
- **stability** ``λ`` adds ``λ·‖v − (Σv)·w₀‖² / b̂²`` where ``w₀`` are the current weights and
  ``b̂`` a fixed reference slope (the unpenalised fit's). This equals ``λ·(b/b̂)²·‖w − w₀‖²``: the
  requested ``λ·‖w − w₀‖²`` wherever the slope is the unpenalised one, and a convex quadratic in
  ``v`` everywhere (``‖w − w₀‖²`` itself is not convex in ``v``). As ``λ → ∞`` the weights tend
  to ``w₀`` exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from calibrate.errors import FitError

__all__ = ["Bounds", "constraint_rows", "initial_theta", "penalty_terms", "quadratic_step", "resolve_bounds",
           "simplex_mle", "solve_simplex"]


@dataclass(frozen=True)
class Bounds:
    """Per-dimension weight bounds ``lo ≤ w ≤ hi``; ``fixed`` marks ``lo == hi`` set by the user."""

    lo: np.ndarray
    hi: np.ndarray
    fixed: np.ndarray

    @property
    def plain(self) -> bool:
        """No bound binds beyond ``0 ≤ w ≤ 1``: the L-BFGS-B case."""
        return bool(np.all(self.lo <= 0.0) and np.all(self.hi >= 1.0) and not self.fixed.any())


def _per_dim(value: float | Mapping[str, float] | None, names: tuple[str, ...], default: float, what: str) -> np.ndarray:
    if value is None:
        return np.full(len(names), default)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise FitError(f"{what} names {unknown} are not dimensions {list(names)}; fix the {what} mapping")
        out = np.array([float(value.get(n, default)) for n in names])
    else:
        out = np.full(len(names), float(value))
    bad = [n for n, x in zip(names, out) if not (0.0 <= x <= 1.0)]
    if bad:
        raise FitError(f"{what} for {bad} must lie in [0, 1]; got {[float(x) for n, x in zip(names, out) if n in bad]}")
    return out


def resolve_bounds(
    names: tuple[str, ...],
    *,
    floor: float | Mapping[str, float] | None = None,
    cap: float | Mapping[str, float] | None = None,
    fixed: Mapping[str, float] | None = None,
) -> Bounds:
    """Combine floors, caps and fixed weights into bounds, refusing an infeasible combination.

    A fixed weight overrides that dimension's floor and cap. Feasible iff every ``lo ≤ hi`` and
    ``Σ lo ≤ 1 ≤ Σ hi``.

    Raises
    ------
    FitError
        Unknown names, values outside [0, 1], or bounds no weight vector on the simplex satisfies.
    """
    lo = _per_dim(floor, names, 0.0, "floor")
    hi = _per_dim(cap, names, 1.0, "cap")
    fixed_mask = np.zeros(len(names), dtype=bool)
    if fixed:
        fx = _per_dim(dict(fixed), names, 0.0, "fixed")
        fixed_mask = np.array([n in fixed for n in names])
        lo = np.where(fixed_mask, fx, lo)
        hi = np.where(fixed_mask, fx, hi)
    crossed = [n for n, a, b in zip(names, lo, hi) if a > b + 1e-12]
    if crossed:
        j = names.index(crossed[0])
        raise FitError(
            f"infeasible weight bounds: floor {lo[j]:g} of {crossed[0]!r} is above its cap {hi[j]:g}; "
            "lower the floor or raise the cap"
        )
    if lo.sum() > 1.0 + 1e-9:
        raise FitError(
            f"infeasible weight bounds: floors and fixed weights sum to {lo.sum():.4g} > 1; "
            "lower the floors or the fixed weights"
        )
    if hi.sum() < 1.0 - 1e-9:
        raise FitError(
            f"infeasible weight bounds: caps (and fixed weights) sum to {hi.sum():.4g} < 1, so the weights "
            "cannot sum to 1; raise the caps"
        )
    return Bounds(lo=lo, hi=hi, fixed=fixed_mask)


def _loss_function(
    x: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    penalty: tuple[float, np.ndarray, float] | None,
):
    from scipy.special import expit

    total = float(len(y) if sample_weight is None else sample_weight.sum())

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        v = theta[1:]
        eta = theta[0] + x @ v
        nll = np.logaddexp(0.0, eta)
        nll -= y * eta
        resid = expit(eta)
        resid -= y
        if sample_weight is not None:
            resid *= sample_weight
            f = float(sample_weight @ nll) / total
        else:
            f = float(nll.sum()) / total
        grad = np.empty_like(theta)
        grad[0] = resid.sum() / total
        grad[1:] = (x.T @ resid) / total
        if penalty is not None and penalty[0] > 0:
            pf, pg, _ = penalty_terms(v, penalty)
            f += pf
            grad[1:] += pg
        return f, grad

    return loss


def penalty_terms(v: np.ndarray, penalty: tuple[float, np.ndarray, float]) -> tuple[float, np.ndarray, np.ndarray]:
    """Value, gradient and Hessian in ``v`` of the stability penalty ``λ·‖v − (Σv)·w₀‖² / b̂²``.

    ``penalty`` is ``(λ, w₀, b̂)`` (module docstring). The penalty is quadratic in ``v``: its Hessian is exact
    and constant, so a Newton step (the engine fit, the one-step bootstrap) adds it as it stands.
    """
    lam, target, scale = penalty
    k = v.shape[0]
    m = np.eye(k) - np.outer(target, np.ones(k))
    c = lam / scale**2
    d = v - v.sum() * target
    return c * float(d @ d), 2.0 * c * (d - float(target @ d)), 2.0 * c * (m.T @ m)


def initial_theta(ybar: float, k: int, bounds: Bounds | None = None) -> np.ndarray:
    """The start ``(a, v)`` of every simplex solver: the intercept of the base rate and ``v = 0.1`` each, or with
    binding bounds the midpoint weights shifted inside them at slope ``max(Σv, 1)`` (feasible by construction)."""
    theta = np.concatenate(([np.log(ybar / (1 - ybar))], np.full(k, 0.1)))
    if bounds is not None and not bounds.plain:
        w0 = np.clip(np.where(bounds.fixed, bounds.lo, np.clip(1.0 / k, bounds.lo, bounds.hi)), bounds.lo, bounds.hi)
        theta[1:] = _feasible_weights(w0, bounds) * max(theta[1:].sum(), 1.0)
    return theta


def constraint_rows(bounds: Bounds | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The weight bounds as homogeneous linear constraints on ``θ = (a, v)``: ``E θ = 0`` (fixed weights,
    ``vⱼ − fixedⱼ·Σv``) and ``A θ ≥ 0`` (floors ``vⱼ − loⱼ·Σv``, caps ``hiⱼ·Σv − vⱼ``), intercept column 0.
    ``v ≥ 0`` is not among them (a box bound to the solvers)."""
    ones = np.ones(k)
    eq, ineq = [], []
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1.0
        if bounds is None:
            continue
        if bounds.fixed[j]:
            eq.append(e - bounds.lo[j] * ones)
            continue
        if bounds.lo[j] > 0:
            ineq.append(e - bounds.lo[j] * ones)
        if bounds.hi[j] < 1:
            ineq.append(bounds.hi[j] * ones - e)

    def rows(r: list[np.ndarray]) -> np.ndarray:
        return np.column_stack([np.zeros(len(r)), np.array(r)]) if r else np.zeros((0, k + 1))

    return rows(eq), rows(ineq)


def quadratic_step(theta: np.ndarray, grad: np.ndarray, hess: np.ndarray, bounds: Bounds | None = None,
                   *, max_iter: int = 500) -> np.ndarray:
    """Minimiser of the quadratic model ``gᵀδ + ½ δᵀHδ`` over ``θ + δ`` with ``v ≥ 0`` and the weight bounds.

    A primal active-set method (Nocedal & Wright 2006, Algorithm 16.3) from the feasible point ``theta``: each
    step solves the KKT system of the constraints held active (least squares, so a singular ``H`` — collinear
    dimensions — takes the minimum-norm step), moves to the first constraint it would cross, and frees the
    constraint with the most negative multiplier once the step vanishes. Exact at a bound (a weight lands on 0,
    a floor or a cap, not near it). The constrained Newton step of the engine fit
    (:mod:`calibrate.fit.engine`) and the one-step bootstrap's box QP (:mod:`calibrate.fit.bootstrap`).
    """
    k = theta.shape[0] - 1
    eq, ineq = constraint_rows(bounds, k)
    fixed = np.zeros(k, dtype=bool) if bounds is None else bounds.fixed
    box = np.eye(k + 1)[1:][~fixed]  # v ≥ 0 (a fixed weight's vⱼ follows Σv)
    rows = np.vstack([eq, ineq, box])
    n_eq, n_box = eq.shape[0], eq.shape[0] + ineq.shape[0]
    box_dims = np.flatnonzero(~fixed)
    t = np.array(theta, dtype=float)
    scale = 1e-12 * max(1.0, float(np.abs(t).max()))
    work: list[int] = list(range(n_eq))
    for i in range(n_eq, rows.shape[0]):  # the constraints active at the start, independent of those held
        if abs(rows[i] @ t) <= scale and np.linalg.matrix_rank(rows[work + [i]]) == len(work) + 1:
            work.append(i)
    for _ in range(max_iter):
        a_w = rows[work]
        m = len(work)
        kkt = np.block([[hess, -a_w.T], [a_w, np.zeros((m, m))]])
        rhs = np.concatenate((-(grad + hess @ (t - theta)), np.zeros(m)))
        sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
        p, lam = sol[: k + 1], sol[k + 1 :]
        if np.abs(p).max() <= 1e-13 * max(1.0, float(np.abs(t).max())):
            free = [(lam[j], j) for j in range(n_eq, m)]
            if not free or min(free)[0] >= -1e-12:
                t[1:] = np.maximum(t[1:], 0.0)  # a weight on its bound is 0, not 1e-17 off either side
                return t
            work.pop(min(free)[1])
            continue
        alpha, block = 1.0, None
        for i in range(n_eq, rows.shape[0]):
            ap = rows[i] @ p
            if i not in work and ap < -1e-15:
                step = max(-(rows[i] @ t) / ap, 0.0)
                if step < alpha:
                    alpha, block = step, i
        t = t + alpha * p
        if block is not None:
            work.append(block)
        held = [box_dims[i - n_box] for i in work if i >= n_box]
        t[1 + np.array(held, dtype=int)] = 0.0  # exactly on v ≥ 0, not rounding error off
    raise FitError("the constrained Newton step did not settle (active-set iterations exhausted); "
                   "loosen the floors/caps or report this data")


def _stationary(theta: np.ndarray, grad: np.ndarray, *, tol: float = 1e-6) -> bool:
    """KKT check for ``v ≥ 0``: L-BFGS-B may stop on an "abnormal" line search while already at the
    optimum (the loss cannot fall further in floating point); accept that when the projected gradient vanishes."""
    g = np.array(grad, dtype=float)
    at_bound = np.concatenate(([False], theta[1:] <= 0.0))
    g[at_bound] = np.minimum(g[at_bound], 0.0)  # a positive gradient at v = 0 pushes outward: optimal there
    return bool(np.max(np.abs(g)) < tol)


_BLAS_CONTROLLER = None


def _one_blas_thread():
    """``threadpool_limits(1, user_api="blas")`` from a cached controller (scanning the loaded
    libraries costs ~2 ms, which a bootstrap of hundreds of small refits would pay every time)."""
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()  # after scipy.optimize is imported: both OpenBLAS are loaded
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def solve_simplex(
    x: np.ndarray,
    y: np.ndarray,
    *,
    sample_weight: np.ndarray | None = None,
    bounds: Bounds | None = None,
    stability: float = 0.0,
    target: np.ndarray | None = None,
    slope_scale: float = 1.0,
    theta0: np.ndarray | None = None,
) -> tuple[np.ndarray, float, bool, str]:
    """Maximum likelihood of ``logit P(y=1) = a + x @ v``, ``v ≥ 0``, under weight bounds and a stability penalty.

    Parameters
    ----------
    x : ndarray (n, k)
        Sub-scores scaled to 0–1 (healthier = higher).
    y : ndarray (n,)
        1 = renewed.
    sample_weight : ndarray (n,), optional
        Row weights (the bootstrap's resample counts).
    bounds : Bounds, optional
        From :func:`resolve_bounds`; ``None`` is the plain simplex.
    stability, target, slope_scale :
        Penalty ``stability·‖v − (Σv)·target‖² / slope_scale²`` (see the module docstring).
    theta0 : ndarray (k + 1,), optional
        Warm start ``(a, v)``.

    Returns
    -------
    v, a, converged, solver
    """
    from scipy.optimize import minimize

    k = x.shape[1]
    penalty = (float(stability), np.asarray(target, dtype=float), float(slope_scale)) if stability > 0 else None
    loss = _loss_function(x, y, sample_weight, penalty)
    bounded = bounds is not None and not bounds.plain
    theta = (initial_theta(float(np.average(y, weights=sample_weight)), k, bounds) if theta0 is None
             else np.array(theta0, dtype=float))
    box = [(None, None)] + [(0.0, None)] * k
    with _one_blas_thread():
        if not bounded:
            res = minimize(loss, theta, jac=True, method="L-BFGS-B", bounds=box,
                           options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20})
            return res.x[1:], float(res.x[0]), bool(res.success) or _stationary(res.x, res.jac), "L-BFGS-B"
        eq, ineq = constraint_rows(bounds, k)
        constraints = [{"type": "eq", "fun": (lambda t, r=r: r @ t), "jac": (lambda t, r=r: r)} for r in eq]
        if ineq.shape[0]:
            constraints.append({"type": "ineq", "fun": lambda t: ineq @ t, "jac": lambda t: ineq})
        res = minimize(loss, theta, jac=True, method="SLSQP", bounds=box, constraints=constraints,
                       options={"maxiter": 1000, "ftol": 1e-14})
        return np.maximum(res.x[1:], 0.0), float(res.x[0]), bool(res.success), "SLSQP"


def _feasible_weights(w: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Shift ``w`` inside ``[lo, hi]`` until it sums to 1 (bisection on a common offset)."""
    lo_t, hi_t = -1.0, 1.0
    for _ in range(100):
        t = 0.5 * (lo_t + hi_t)
        if np.clip(w + t, bounds.lo, bounds.hi).sum() > 1.0:
            hi_t = t
        else:
            lo_t = t
    return np.clip(w + 0.5 * (lo_t + hi_t), bounds.lo, bounds.hi)


def simplex_mle(
    x: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None, theta0: np.ndarray | None = None
) -> tuple[np.ndarray, float, bool]:
    """Maximum likelihood of ``logit P(y=1) = a + x @ v`` with ``v ≥ 0`` (x scaled to 0–1).

    Returns ``(v, a, converged)``. Solved by L-BFGS-B with an analytic gradient, BLAS threads
    pinned to one (numpy's and scipy's OpenBLAS otherwise compete on small machines).
    """
    v, a, converged, _ = solve_simplex(x, y, sample_weight=weights, theta0=theta0)
    return v, a, converged
