"""Simplex-constrained maximum likelihood, checked against statsmodels and known truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from calibrate import DataSpec, FitError, fit_weights, load_accounts
from calibrate.fit.weights import STABILITY_GRID
from calibrate.fit.bootstrap import bootstrap_weights
from conftest import DIMS, TRUE_W, logistic_book


def test_interior_optimum_equals_normalised_statsmodels_logit():
    book = logistic_book(20_000, seed=11)
    fit = fit_weights(load_accounts(book))
    x = sm.add_constant(book[list(DIMS)].to_numpy() / 100.0)
    ref = sm.Logit(book["renewed"].to_numpy(), x).fit(disp=0, tol=1e-12)
    coef = ref.params[1:]
    assert (coef > 0).all()  # the unconstrained optimum is inside the simplex
    for name, c in zip(DIMS, coef / coef.sum()):
        assert fit.weights[name] == pytest.approx(c, abs=1e-4)
    assert fit.slope * 100 == pytest.approx(coef.sum(), rel=1e-4)
    assert fit.intercept == pytest.approx(ref.params[0], abs=1e-3)
    assert fit.log_likelihood == pytest.approx(ref.llf, abs=1e-6)
    assert sum(fit.weights.values()) == pytest.approx(1.0, abs=1e-12)


def test_zero_true_weight_lands_on_the_boundary_unlike_clipping():
    truth = {"usage": 0.6, "engagement": 0.4, "support": 0.0, "commercial": 0.0}
    book = logistic_book(30_000, seed=3, weights=truth)
    fit = fit_weights(load_accounts(book))
    assert fit.weights["usage"] == pytest.approx(0.6, abs=0.03)
    assert fit.weights["engagement"] == pytest.approx(0.4, abs=0.03)
    assert min(fit.weights.values()) >= 0.0
    # KKT: at the optimum no zero-weight dimension can improve the likelihood
    assert fit.weights["support"] < 0.03 and fit.weights["commercial"] < 0.03


def test_recovers_the_true_weights_on_a_known_model():
    fit = fit_weights(load_accounts(logistic_book(50_000, seed=5)))
    for name, w in TRUE_W.items():
        assert fit.weights[name] == pytest.approx(w, abs=0.03)


def test_fit_is_deterministic_and_row_order_free():
    book = logistic_book(5_000, seed=9)
    a = fit_weights(load_accounts(book))
    b = fit_weights(load_accounts(book.sample(frac=1, random_state=4)))
    for name in DIMS:
        assert a.weights[name] == pytest.approx(b.weights[name], abs=1e-7)
    assert fit_weights(load_accounts(book)).weights == a.weights


def test_constant_dimension_is_refused():
    book = logistic_book(3_000, seed=1).assign(support=55.0)
    with pytest.raises(FitError, match=r"dimension\(s\) \['support'\] are constant in the training data"):
        fit_weights(load_accounts(book))


def test_perfect_separation_is_refused():
    book = logistic_book(3_000, seed=2)
    book["renewed"] = (book["usage"] > 60).astype(int)
    with pytest.raises(FitError, match=r"perfectly separated by the score; check for leakage"):
        fit_weights(load_accounts(book))


def test_train_until_uses_earlier_snapshots_only():
    book = logistic_book(2_000, seed=4, snapshots=4)
    fit = fit_weights(load_accounts(book), train_until="2025-04-30")
    assert fit.n == 4_000
    with pytest.raises(FitError, match="--train-until needs a snapshot_date column"):
        fit_weights(load_accounts(book.drop(columns=["snapshot_date", "renewal_date"])), train_until="2025-01-01")


def test_unknown_method_message():
    with pytest.raises(ValueError, match=r"^The 'method' parameter of fit_weights must be one of \{'simplex', 'logit'\}\. "
                                         r"Got 'magic' instead\.$"):
        fit_weights(load_accounts(logistic_book(500, seed=1)), method="magic")


# --- floors, caps, fixed weights: checked against a brute-force grid --------------------------------

def _grid_best(x01: np.ndarray, y: np.ndarray, lo, hi, step: float = 0.01):
    """Brute force: for every (w1, w2, w3) on a simplex grid within the bounds, the best (a, b) by Newton."""
    ticks = np.round(np.arange(0, 1 + step / 2, step), 10)
    grid = np.array([(a, b, round(1 - a - b, 10)) for a in ticks for b in ticks if a + b <= 1 + 1e-12])
    grid = grid[np.all((grid >= np.array(lo) - 1e-9) & (grid <= np.array(hi) + 1e-9), axis=1)]
    s = x01 @ grid.T  # n × G composite scores
    a = np.full(len(grid), np.log(y.mean() / (1 - y.mean())))
    b = np.zeros(len(grid))
    for _ in range(30):  # Newton on the 2-parameter logistic, all grid points at once
        p = 1 / (1 + np.exp(-(a + b * s)))
        r = y[:, None] - p
        ww = p * (1 - p)
        g = np.array([r.sum(0), (r * s).sum(0)])
        h = np.array([[ww.sum(0), (ww * s).sum(0)], [(ww * s).sum(0), (ww * s * s).sum(0)]])
        det = h[0, 0] * h[1, 1] - h[0, 1] ** 2
        a = a + (h[1, 1] * g[0] - h[0, 1] * g[1]) / det
        b = b + (h[0, 0] * g[1] - h[0, 1] * g[0]) / det
    eta = a + b * s
    ll = (y[:, None] * eta - np.logaddexp(0, eta)).sum(0)
    return grid[np.argmax(ll)], ll.max()


THREE = ("usage", "engagement", "support")


@pytest.fixture(scope="module")
def three_dims():
    book = logistic_book(2500, seed=17, weights={"usage": 0.65, "engagement": 0.3, "support": 0.05})
    return book, load_accounts(book, spec=DataSpec(dimensions=THREE))


@pytest.mark.parametrize(
    ("options", "lo", "hi"),
    [
        ({"floor": 0.15}, [0.15] * 3, [1] * 3),
        ({"cap": 0.5}, [0] * 3, [0.5] * 3),
        ({"floor": {"support": 0.2}, "cap": {"usage": 0.55}}, [0, 0, 0.2], [0.55, 1, 1]),
        ({"fixed": {"engagement": 0.4}}, [0, 0.4, 0], [1, 0.4, 1]),
    ],
)
def test_bounded_fit_is_the_brute_force_optimum(three_dims, options, lo, hi):
    book, data = three_dims
    fit = fit_weights(data, **options)
    w = np.array([fit.weights[d] for d in THREE])
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (w >= np.array(lo) - 1e-8).all() and (w <= np.array(hi) + 1e-8).all()
    x01 = book[list(THREE)].to_numpy() / 100
    best_w, best_ll = _grid_best(x01, book["renewed"].to_numpy(dtype=float), lo, hi)
    assert fit.log_likelihood >= best_ll - 1e-7  # no grid point inside the bounds beats the solver
    assert np.abs(w - best_w).max() <= 0.015  # and the solver sits next to the grid's best point
    if "fixed" in options:
        assert fit.weights["engagement"] == 0.4 and fit.flags["engagement"] == "fixed at 0.4"


def test_every_weight_fixed_is_exact_and_quiet(three_dims):
    """All weights fixed: the fit keeps them exactly, with no 0/0 warning from sharing the rest among no free one."""
    import warnings

    _, data = three_dims
    fixed = {"usage": 0.5, "engagement": 0.3, "support": 0.2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_weights(data, fixed=fixed)
    assert fit.weights == fixed


def test_binding_bounds_are_flagged_by_name(three_dims):
    _, data = three_dims
    fit = fit_weights(data, floor=0.15, cap=0.6)
    assert fit.weights["support"] == pytest.approx(0.15, abs=1e-8)
    assert fit.flags["support"].startswith("at its floor 0.15")
    assert fit.weights["usage"] == pytest.approx(0.6, abs=1e-8)
    assert fit.flags["usage"].startswith("at its cap 0.6")
    assert fit.options["floor"] == 0.15 and fit.options["solver"] == "newton"
    assert "support" in fit.summary() and "at its floor" in fit.summary()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"floor": 0.4}, r"floors and fixed weights sum to 1\.2 > 1; lower the floors"),
        ({"cap": 0.3}, r"caps \(and fixed weights\) sum to 0\.9 < 1, so the weights cannot sum to 1"),
        ({"floor": {"usage": 0.5}, "cap": {"usage": 0.4}}, r"floor 0\.5 of 'usage' is above its cap 0\.4"),
        ({"fixed": {"usage": 0.7, "support": 0.5}}, r"floors and fixed weights sum to 1\.2 > 1"),
        ({"floor": {"nps": 0.1}}, r"floor names \['nps'\] are not dimensions"),
        ({"cap": 1.5}, r"cap for \['usage', 'engagement', 'support'\] must lie in \[0, 1\]"),
    ],
)
def test_infeasible_bounds_are_refused(three_dims, options, message):
    with pytest.raises(FitError, match=message):
        fit_weights(three_dims[1], **options)


def test_floors_converge_at_scale_with_many_dimensions():
    rng = np.random.default_rng(8)
    names = tuple(f"d{j}" for j in range(12))
    truth = dict(zip(names, rng.dirichlet(np.ones(12))))
    book = logistic_book(20_000, seed=8, weights=truth)
    fit = fit_weights(load_accounts(book, spec=DataSpec(dimensions=names)), floor=0.03, cap=0.3)
    assert fit.converged and min(fit.weights.values()) >= 0.03 - 1e-8 and max(fit.weights.values()) <= 0.3 + 1e-8


# --- stability penalty ---------------------------------------------------------------------------

def test_stability_pulls_toward_current_as_lambda_grows():
    book = logistic_book(5000, seed=19)
    data = load_accounts(book)
    current = {"usage": 0.25, "engagement": 0.25, "support": 0.25, "commercial": 0.25}
    distances = []
    for lam in (0.0, 0.01, 0.1, 1.0, 10.0, 1e4):
        fit = fit_weights(data, current=current, stability=lam)
        distances.append(np.linalg.norm([fit.weights[d] - current[d] for d in DIMS]))
    assert distances[0] == pytest.approx(np.linalg.norm([fit_weights(data).weights[d] - 0.25 for d in DIMS]), abs=1e-6)
    assert all(a >= b - 1e-9 for a, b in zip(distances, distances[1:])), distances
    assert distances[0] > 0.1 and distances[-1] < 1e-3


def test_stability_penalised_optimum_beats_its_neighbours():
    """The penalised objective at the solution is no larger than at nearby feasible points (convex ⇒ global)."""
    book = logistic_book(3000, seed=23)
    data = load_accounts(book)
    current = dict.fromkeys(DIMS, 0.25)
    base = fit_weights(data)
    fit = fit_weights(data, current=current, stability=0.5)
    x01 = book[list(DIMS)].to_numpy() / 100
    y = book["renewed"].to_numpy(dtype=float)
    scale = base.slope * 100
    t = np.full(4, 0.25)

    def objective(a, v):
        eta = a + x01 @ v
        d = v - v.sum() * t
        return np.mean(np.logaddexp(0, eta) - y * eta) + 0.5 * d @ d / scale**2

    v_hat = np.array([fit.weights[d] for d in DIMS]) * fit.slope * 100
    f_hat = objective(fit.intercept, v_hat)
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = np.maximum(v_hat + rng.normal(0, 0.05, 4), 0)
        assert objective(fit.intercept + rng.normal(0, 0.02), v) >= f_hat - 1e-10


def test_stability_auto_chooses_lambda_out_of_time():
    book = logistic_book(3000, seed=29, snapshots=4)
    data = load_accounts(book)
    current = {"usage": 0.4, "engagement": 0.25, "support": 0.2, "commercial": 0.15}  # the truth
    fit = fit_weights(data, current=current, stability="auto")
    grid = fit.options["stability_grid"]
    assert set(grid) == {repr(x) for x in STABILITY_GRID}
    assert grid[repr(fit.options["stability_lambda"])] == min(grid.values())
    assert fit.options["stability_lambda"] > 0  # pulling toward the truth helps out of time
    with pytest.raises(FitError, match="pulls toward the current weights; pass --current"):
        fit_weights(data, stability=1.0)
    single = load_accounts(logistic_book(3000, seed=29))
    with pytest.raises(FitError, match="needs at least 2 snapshot dates"):
        fit_weights(single, current=current, stability="auto")


# --- bootstrap intervals -------------------------------------------------------------------------

def test_bootstrap_resamples_accounts_not_rows():
    """Repeating each account's row 3 times must not narrow account-level intervals at all."""
    book = logistic_book(1500, seed=31)
    triple = pd.concat([book.assign(snapshot_date=book["snapshot_date"] + pd.Timedelta(days=91 * k),
                                    renewal_date=book["renewal_date"] + pd.Timedelta(days=91 * k))
                        for k in range(3)], ignore_index=True)
    one = bootstrap_weights(load_accounts(book), n_boot=40, seed=3)
    three = bootstrap_weights(load_accounts(triple), n_boot=40, seed=3)
    assert one.draws == pytest.approx(three.draws, abs=2e-5)
    assert one.n_accounts == three.n_accounts == 1500


def test_bootstrap_se_matches_the_delta_method():
    """Bootstrap SE of each weight vs the delta-method SE from statsmodels' covariance of w = c / Σc."""
    book = logistic_book(4000, seed=37)
    boot = bootstrap_weights(load_accounts(book), n_boot=300, seed=1)
    x = sm.add_constant(book[list(DIMS)].to_numpy() / 100.0)
    ref = sm.Logit(book["renewed"].to_numpy(), x).fit(disp=0)
    c, cov = ref.params[1:], ref.cov_params()[1:, 1:]
    s = c.sum()
    jac = (np.eye(4) * s - c[:, None]) / s**2  # d(c_i / Σc) / dc_j
    se_delta = np.sqrt(np.diag(jac @ cov @ jac.T))
    se_boot = boot.to_frame()["se"].to_numpy()
    assert se_boot == pytest.approx(se_delta, rel=0.2)
    for name in DIMS:
        assert boot.low[name] < boot.weights[name] < boot.high[name]
    assert boot.to_dict()["method"] == "percentile bootstrap over accounts"
    again = bootstrap_weights(load_accounts(book), n_boot=300, seed=1)
    assert (again.draws == boot.draws).all()


# --- directions ----------------------------------------------------------------------------------

def test_lower_is_healthier_dimension_is_flipped_before_fitting():
    book = logistic_book(20_000, seed=41)
    flipped = book.assign(support=100 - book["support"])
    fit = fit_weights(load_accounts(flipped), directions={"support": "lower_is_healthier"})
    ref = fit_weights(load_accounts(book))
    assert fit.weights == pytest.approx(ref.weights, abs=1e-6)
    assert fit.directions["support"] == "lower_is_healthier"


# --- calibrate fit (CLI) -------------------------------------------------------------------------

def test_cli_fit_logit_invert_writes_a_config_with_provenance(workdir, capsys):
    pytest.importorskip("calibrate._stats")  # validation's statistics (merged from another branch)
    from calibrate import read_config
    from calibrate.cli import main

    path = workdir / "wrong_way.csv"
    logistic_book(4000, seed=5, weights={"usage": 0.5, "engagement": 0.35, "support": 0.1, "commercial": -0.25},
                  intercept=-1.0).to_csv(path, index=False)
    with pytest.raises(SystemExit) as info:
        main(["fit", "--data", str(path), "--method", "logit", "--on-negative", "invert", "--n-boot", "1000", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert info.value.code == 0 and set(out) >= {"config_path", "version", "weights", "report_path", "mlflow_run_id"}
    cfg = read_config(out["config_path"])
    assert {d.name: d.direction for d in cfg.dimensions}["commercial"] == "lower_is_healthier"
    assert cfg.provenance.method == "logit" and cfg.provenance.options["on_negative"] == "invert"
    assert "commercial" in cfg.provenance.options["flagged"]
    # the simplex with a floor and a stability pull toward that config, as a second version
    with pytest.raises(SystemExit) as info:
        main(["fit", "--data", str(path), "--floor", "0.05", "--current", out["config_path"], "--stability", "0.1",
              "--n-boot", "1000", "--json"])
    second = json.loads(capsys.readouterr().out)
    cfg2 = read_config(second["config_path"])
    assert info.value.code == 0 and cfg2.version == 2
    assert cfg2.provenance.options["floor"] == 0.05 and cfg2.provenance.options["stability_lambda"] == 0.1
    assert min(cfg2.weights.values()) >= 0.05 - 1e-9
    assert {d.name: d.direction for d in cfg2.dimensions}["commercial"] == "lower_is_healthier"


def test_cli_fit_refuses_infeasible_bounds_with_exit_2(workdir, capsys):
    from calibrate.cli import main

    with pytest.raises(SystemExit) as info:
        main(["fit", "--floor", "0.3"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "floors and fixed weights sum to 1.2 > 1" in err
    assert not (workdir / "configs").exists()


# -- issue 18 items 3 and 7: what the data cannot tell, said so ------------------------------------
def _scaled_condition(info: np.ndarray) -> float:
    """Reference: the slopes' information with the intercept profiled out, scaled to unit diagonal."""
    s = info[1:, 1:] - np.outer(info[1:, 0], info[0, 1:]) / info[0, 0]
    d = np.sqrt(np.diag(s))
    return float(np.linalg.cond(s / np.outer(d, d)))


def test_information_matrix_and_its_condition_number_match_statsmodels():
    from calibrate.fit.information import collinear_groups, information_matrix

    book = logistic_book(3000, seed=7)
    fit = fit_weights(load_accounts(book))
    x = book[list(DIMS)].to_numpy() / 100.0
    v = np.array([fit.weights[d] for d in DIMS]) * fit.slope * 100.0
    info = information_matrix(x, book["renewed"].to_numpy(float), v, fit.intercept)
    hessian = sm.Logit(book["renewed"], sm.add_constant(x)).hessian(np.r_[fit.intercept, v])
    np.testing.assert_allclose(info, -hessian, rtol=1e-10)
    assert fit.condition_number == pytest.approx(_scaled_condition(-hessian), rel=1e-8)
    assert fit.condition_number < 10 and fit.collinear == ()
    assert collinear_groups(info, DIMS) == (pytest.approx(fit.condition_number), ())


def test_collinear_dimensions_are_not_identifiable_and_their_intervals_say_so():
    """A dimension twice under two names: the fit can only split their total weight arbitrarily (0.188 each);
    the bootstrap kept that split in every resample, claiming [0.153, 0.227] (issue 18 item 3). Now the fit
    flags both and the intervals are widened to every split of the total."""
    from calibrate.fit.information import COLLINEARITY_CONDITION

    book = logistic_book(3000, seed=7)
    book["twin"] = book["usage"]
    data = load_accounts(book, spec=DataSpec(dimensions=(*DIMS, "twin")))
    fit = fit_weights(data)
    x = book[[*DIMS, "twin"]].to_numpy() / 100.0
    v = np.array([fit.weights[d] for d in (*DIMS, "twin")]) * fit.slope * 100.0
    reference = _scaled_condition(-sm.Logit(book["renewed"], sm.add_constant(x)).hessian(np.r_[fit.intercept, v]))
    assert reference > COLLINEARITY_CONDITION and fit.condition_number > COLLINEARITY_CONDITION
    assert fit.collinear == (("usage", "twin"),)
    total = fit.weights["usage"] + fit.weights["twin"]
    assert fit.flags["usage"].startswith("not identifiable: collinear with twin")
    assert f"only their total weight {total:.3f} is determined" in fit.flags["twin"]
    assert "not identifiable" in fit.summary() and fit.to_dict()["collinear"] == [["usage", "twin"]]
    iv = bootstrap_weights(data, n_boot=100, seed=0)
    total_hi = np.quantile(iv.draws[:, [0, 4]].sum(axis=1), 0.975)
    for d in ("usage", "twin"):
        assert (iv.low[d], iv.high[d]) == (0.0, pytest.approx(total_hi))
        assert iv.high[d] > total  # any split of the total, up to its upper bound
    assert iv.not_identified == (("usage", "twin"),) and "not identifiable (collinear)" in iv.summary()
    assert iv.high["engagement"] - iv.low["engagement"] < 0.2  # the others keep their percentile intervals


def test_a_zero_weight_says_whether_it_points_the_wrong_way_or_shows_nothing():
    """support works against renewal, commercial has no effect: both fit to weight 0, and the flag now tells
    them apart by Rao's score test given the positive dimensions (statsmodels GLM.score_test; item 7)."""
    book = logistic_book(3000, seed=3, weights={"usage": 0.5, "engagement": 0.3, "support": -0.2, "commercial": 0.0},
                         intercept=-1.0)
    fit = fit_weights(load_accounts(book))
    assert fit.weights["support"] == 0.0 and fit.weights["commercial"] == 0.0
    y = book["renewed"].to_numpy(float)
    x = book[list(DIMS)].to_numpy() / 100.0
    restricted = sm.GLM(y, sm.add_constant(x[:, :2]), family=sm.families.Binomial()).fit()
    p = {d: float(restricted.score_test(exog_extra=x[:, [j]]).pvalue[0]) for j, d in enumerate(DIMS) if j >= 2}
    assert p["support"] < 1e-6 and p["commercial"] > 0.9
    assert fit.flags["support"].startswith("weight 0: points the wrong way given the other dimensions (score test z = -")
    assert f"p = {p['support']:.2g}" in fit.flags["support"]
    assert fit.flags["commercial"] == (f"weight 0: no detectable association with renewal given the other dimensions "
                                       f"(score test p = {p['commercial']:.2g})")


def test_zero_weight_test_with_repeated_accounts_is_the_clustered_sandwich():
    """Robust variant: with one row per account it is statsmodels' HC0 score test; with an account's rows
    duplicated it stays that (a duplicate adds no evidence), where the model-based one would double z²."""
    from calibrate.fit.information import zero_weight_tests

    book = logistic_book(2000, seed=3, weights={"usage": 0.5, "engagement": 0.3, "support": -0.2, "commercial": 0.0},
                         intercept=-1.0)
    y = book["renewed"].to_numpy(float)
    x = book[list(DIMS)].to_numpy() / 100.0
    restricted = sm.GLM(y, sm.add_constant(x[:, :2]), family=sm.families.Binomial()).fit()
    v = np.r_[np.asarray(restricted.params)[1:], 0.0, 0.0]
    zero = np.array([False, False, True, True])
    robust = zero_weight_tests(x, y, v, float(restricted.params[0]), zero, robust=True)
    for j in (2, 3):
        hc0 = restricted.score_test(exog_extra=x[:, [j]], cov_type="HC0")
        assert robust[j][0] ** 2 == pytest.approx(float(hc0.statistic), rel=1e-6)
    twice = zero_weight_tests(np.r_[x, x], np.r_[y, y], v, float(restricted.params[0]), zero, robust=True,
                              groups=np.r_[np.arange(len(y)), np.arange(len(y))])
    once = zero_weight_tests(x, y, v, float(restricted.params[0]), zero)
    plain = zero_weight_tests(np.r_[x, x], np.r_[y, y], v, float(restricted.params[0]), zero)
    for j in (2, 3):
        assert once[j][0] ** 2 == pytest.approx(float(restricted.score_test(exog_extra=x[:, [j]]).statistic[0]), rel=1e-6)
        assert twice[j][0] == pytest.approx(robust[j][0], rel=1e-3)
        assert plain[j][0] ** 2 == pytest.approx(2 * once[j][0] ** 2, rel=1e-9)


def test_cli_fit_weight_by_arr_records_it(workdir, capsys):
    from calibrate import read_config
    from calibrate.cli import main

    path = workdir / "book.csv"
    book = logistic_book(3000, seed=7)
    book.to_csv(path, index=False)
    with pytest.raises(SystemExit) as info:
        main(["fit", "--data", str(path), "--weight-by", "arr", "--n-boot", "1000", "--json"])
    out = json.loads(capsys.readouterr().out)
    cfg = read_config(out["config_path"])
    reference = fit_weights(load_accounts(book), weight_by="arr")
    assert info.value.code == 0 and cfg.provenance.options["weight_by"] == "arr"
    assert cfg.weights == pytest.approx(reference.weights, abs=1e-9)
    assert reference.weights != pytest.approx(fit_weights(load_accounts(book)).weights, abs=1e-3)
    with pytest.raises(FitError, match="weight_by='arr' needs an arr column"):
        fit_weights(load_accounts(book.drop(columns="arr")), weight_by="arr")


def test_cli_fit_logit_prints_the_coefficient_table(workdir, capsys):
    """SE, interval, p and odds ratio per 10 points in words; coefficients equal statsmodels' Logit on the same rows."""
    import re

    from calibrate.cli import main

    path = workdir / "book.csv"
    book = logistic_book(4000, seed=9)
    book.to_csv(path, index=False)
    with pytest.raises(SystemExit) as info:
        main(["fit", "--data", str(path), "--method", "logit", "--n-boot", "1000"])
    out = capsys.readouterr().out
    assert info.value.code == 0
    assert "coefficient per point  standard error  " in out and "odds ratio per 10 points (95 % interval)" in out
    dims = ["usage", "engagement", "support", "commercial"]
    ref = sm.Logit(book["renewed"], sm.add_constant(book[dims])).fit(disp=0)
    for d in dims:
        row = re.search(rf"^  {d} +([+-]\d\.\d{{4}}) +(\d\.\d{{4}}) .* (\d+\.\d\d) \((\d+\.\d\d)–(\d+\.\d\d)\) ", out, re.M)
        assert row, d
        assert float(row.group(1)) == pytest.approx(ref.params[d], abs=1e-4)
        assert float(row.group(3)) == pytest.approx(np.exp(10 * ref.params[d]), abs=0.006)


def test_information_matrix_in_row_blocks_equals_the_dense_product():
    """Above one row block (65,536 rows) the information is summed block by block; it equals X₁ᵀ diag(w) X₁."""
    from calibrate.fit.information import information_matrix

    rng = np.random.default_rng(4)
    x, v, a = rng.random((150_000, 3)), np.array([0.5, 1.0, 0.0]), -0.3
    y = (rng.random(150_000) < 0.6).astype(float)
    sw = rng.uniform(0.5, 2.0, 150_000)
    p = 1 / (1 + np.exp(-(a + x @ v)))
    x1 = np.column_stack([np.ones(len(x)), x])
    dense = x1.T @ (x1 * (sw * p * (1 - p))[:, None])
    np.testing.assert_allclose(information_matrix(x, y, v, a, sample_weight=sw), dense, rtol=1e-10)


@pytest.mark.parametrize("start, floor", [
    ("optimum", None),  # the warm start drift uses: the same optimum
    ("saturating", None),  # a hand-edited config's link: p ~ 1 everywhere, nothing for Newton to descend
    ("nan", None),
    ("optimum", 0.1),  # floors: a start is not checked against them, so the fit starts cold
])
def test_fit_arrays_start_reaches_the_cold_optimum_or_is_ignored(start, floor):
    from calibrate.fit.simplex import link_theta
    from calibrate.fit.weights import fit_arrays

    book = logistic_book(4000, seed=31)
    x, y = book[list(DIMS)].to_numpy(dtype=float), book["renewed"].to_numpy(dtype=float)
    cold = fit_arrays(x, y, DIMS, floor=floor)
    theta = {"optimum": link_theta(cold.intercept, cold.slope, [cold.weights[d] for d in DIMS]),
             "saturating": link_theta(40.0, 0.001, [0.0, 0.0, 0.0, 1.0]),
             "nan": np.full(len(DIMS) + 1, np.nan)}[start]
    if floor is not None:  # an infeasible start for the floor
        theta = link_theta(-1.0, 0.03, [1.0, 0.0, 0.0, 0.0])
    warm = fit_arrays(x, y, DIMS, floor=floor, start=theta)
    assert warm.weights == pytest.approx(cold.weights, abs=1e-8)
    assert warm.intercept == pytest.approx(cold.intercept, abs=1e-7)
    if floor is not None:
        assert min(warm.weights.values()) >= floor - 1e-12
