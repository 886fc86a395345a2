"""One parameter check, worded one way; one direction flip; one missing-dimension rule.

Every public function with constrained options refuses a bad value before it runs, with
scikit-learn's message shape ("The 'method' parameter of fit_weights must be one of {...}. Got
'foo' instead."), as a :class:`ParameterError` — a :class:`CalibrateError` (CLI exit 2) and a
``ValueError`` (what scikit-learn users catch).
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import re
import typing

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import calibrate
from calibrate import CalibrateError, load_accounts
from calibrate._params import Interval, MappingOf, Options, validate_params
from calibrate.config.direction import healthy
from calibrate.config.model import Dimension, WeightConfig, default_bands
from calibrate.errors import ParameterError
from calibrate.fit.estimator import HealthScoreClassifier
from calibrate.fit.result import FIT_PARAMS
from conftest import DIMS, logistic_book

SHAPE = re.compile(r"^The '(?P<name>\w+)' parameter of (?P<caller>\w+) must be (?P<what>.+)\. Got (?P<got>.+) instead\.$",
                   re.DOTALL)

PENDING: dict[str, str] = {}
"""Literal-typed options not yet behind validate_params (none at present)."""


# ---------------------------------------------------------------------------------------------
# the public functions and the options they constrain
# ---------------------------------------------------------------------------------------------
def _public_functions() -> dict[str, typing.Callable]:
    """Every function listed in the ``__all__`` of a public calibrate module, by dotted name."""
    out = {}
    for info in pkgutil.walk_packages(calibrate.__path__, "calibrate."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj.__module__ == module.__name__:
                out[f"{module.__name__}.{name}"] = obj
    return out


def _literal_options(func: typing.Callable) -> dict[str, set]:
    """Parameters annotated ``Literal[...]`` (or ``Literal[...] | None``): name → allowed values."""
    out = {}
    target = inspect.unwrap(func)
    for name, annotation in inspect.get_annotations(target).items():
        if name == "return":
            continue
        try:  # an annotation naming a TYPE_CHECKING-only class is not a Literal alias
            hint = eval(annotation, target.__globals__) if isinstance(annotation, str) else annotation
        except NameError:
            continue
        args = typing.get_args(hint) if typing.get_origin(hint) is not typing.Literal else (hint,)
        literals = [a for a in args if typing.get_origin(a) is typing.Literal]
        if typing.get_origin(hint) is typing.Literal or literals:
            values = {v for lit in literals for v in typing.get_args(lit)}
            out[name] = values | ({None} if type(None) in args else set())
    return out


PUBLIC = _public_functions()
CONSTRAINED = {q: f for q, f in PUBLIC.items() if hasattr(f, "__param_constraints__")}
CASES = [(q, p) for q, f in CONSTRAINED.items() for p in f.__param_constraints__]


def test_the_pipeline_verbs_are_all_constrained():
    expected = {"calibrate.fit.weights.fit_weights", "calibrate.fit.logit.fit_logit", "calibrate.fit.logit.logit_arrays",
                "calibrate.fit.bootstrap.bootstrap_weights", "calibrate.fit.bands.tune_bands",
                "calibrate.fit.folds.validation_folds", "calibrate.validation.separation.validate",
                "calibrate.validation.separation.validate_classes", "calibrate.drift.detect.detect_drift",
                "calibrate.compare.methods.leaderboard", "calibrate.compare.champion.champion_challenger",
                "calibrate.score.scorer.score_frame", "calibrate.score.scorer.weighted_score",
                "calibrate.data.transforms.fit_transform"}
    assert expected <= set(CONSTRAINED), expected - set(CONSTRAINED)


@pytest.mark.parametrize("qualname", sorted(PUBLIC))
def test_every_literal_option_is_checked_against_the_same_values(qualname):
    func = PUBLIC[qualname]
    constraints = getattr(func, "__param_constraints__", {})
    for name, values in _literal_options(func).items():
        if PENDING.get(qualname) == name:
            continue
        assert name in constraints, f"{qualname}: option {name!r} is typed Literal but not validated"
        allowed = {v for c in constraints[name] for v in ((None,) if c is None else getattr(c, "values", ()))}
        assert allowed == values, f"{qualname}: {name!r} allows {allowed}, its annotation says {values}"


# ---------------------------------------------------------------------------------------------
# the property: any value outside the constraints is refused, in the one message shape
# ---------------------------------------------------------------------------------------------
def _allowed(value, constraints) -> bool:
    """Reference for the constraint semantics, written apart from calibrate._params."""
    for c in constraints:
        if c is None:
            ok = value is None
        elif isinstance(c, Options):
            ok = any(value is o or (isinstance(value, type(o)) and value == o) for o in c.values)
        elif isinstance(c, MappingOf):
            ok = isinstance(value, dict) and all(_allowed(v, [c.values]) for v in value.values())
        else:
            number = int if c.kind is int else (int, float)
            ok = (isinstance(value, number) and not isinstance(value, bool) and math.isfinite(value)
                  and (c.left is None or value > c.left or (value == c.left and c.closed in ("both", "left")))
                  and (c.right is None or value < c.right or (value == c.right and c.closed in ("both", "right"))))
        if ok:
            return True
    return False


OPTION_WORDS = sorted({v for f in CONSTRAINED.values() for cs in f.__param_constraints__.values() for c in cs
                       if isinstance(c, Options) for v in c.values if isinstance(v, str)})
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(OPTION_WORDS + ["bogus", "SIMPLEX", "l3"]),
    st.dictionaries(st.sampled_from(list(DIMS)), st.sampled_from(OPTION_WORDS + ["up"]), max_size=2),
)


def _assert_refusal(info: pytest.ExceptionInfo, name: str, caller: str, value, constraints) -> None:
    assert isinstance(info.value, ValueError) and isinstance(info.value, CalibrateError)
    m = SHAPE.match(str(info.value))
    assert m, str(info.value)
    assert (m["name"], m["caller"], m["got"]) == (name, caller, repr(value))
    for c in constraints:  # the message names what each constraint allows
        inner = c.values if isinstance(c, MappingOf) else c
        words = ["None"] if c is None else ["in the range"] if isinstance(inner, Interval) else map(repr, inner.values)
        for word in words:
            assert word in m["what"], (word, m["what"])


@pytest.mark.parametrize(("qualname", "name"), CASES, ids=[f"{q.rsplit('.', 1)[1]}-{p}" for q, p in CASES])
@settings(max_examples=40, deadline=None)
@given(value=VALUES)
def test_a_bad_value_is_refused_before_the_function_runs(qualname, name, value):
    func = CONSTRAINED[qualname]
    constraints = func.__param_constraints__[name]
    assume(not _allowed(value, constraints))
    required = [p for p in inspect.signature(func).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    with pytest.raises(ParameterError) as info:  # placeholders: the check comes before any use of the data
        func(*[None] * len(required), **{name: value})
    _assert_refusal(info, name, func.__name__, value, constraints)


@pytest.fixture(scope="module")
def sample():
    book = logistic_book(600, seed=5)
    return book[list(DIMS)], book["renewed"].to_numpy()


@pytest.mark.parametrize("name", sorted(set(FIT_PARAMS) & set(HealthScoreClassifier().get_params())))
@settings(max_examples=15, deadline=None)
@given(value=VALUES)
def test_the_estimator_refuses_a_bad_option_in_fit(sample, name, value):
    constraints = FIT_PARAMS[name]
    assume(not _allowed(value, constraints))
    est = HealthScoreClassifier(**{name: value})  # scikit-learn: __init__ stores, fit validates
    with pytest.raises(ParameterError) as info:
        est.fit(*sample)
    _assert_refusal(info, name, "HealthScoreClassifier", value, constraints)


# ---------------------------------------------------------------------------------------------
# the messages, in full, on real calls
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    return load_accounts(logistic_book(800, seed=11))


def _config(**kw) -> WeightConfig:
    dims = [Dimension(name=d, column=d, weight=0.25, direction="lower_is_healthier" if d == "support" else
                      "higher_is_healthier") for d in DIMS]
    return WeightConfig(dimensions=dims, bands=default_bands(), **kw)


def test_full_messages_on_real_calls(data, sample):
    from calibrate import bootstrap_weights, champion_challenger, detect_drift, fit_logit, fit_weights, leaderboard, \
        validate
    from calibrate.fit import tune_bands

    cases = [
        (lambda: fit_weights(data, method="foo"),
         "The 'method' parameter of fit_weights must be one of {'simplex', 'logit'}. Got 'foo' instead."),
        (lambda: fit_weights(data, stability=-0.5),
         "The 'stability' parameter of fit_weights must be 'auto', a float in the range [0, inf) or None. "
         "Got -0.5 instead."),
        (lambda: fit_weights(data, directions={"support": "down"}),
         "The 'directions' parameter of fit_weights must be a mapping to one of "
         "{'higher_is_healthier', 'lower_is_healthier'} or None. Got {'support': 'down'} instead."),
        (lambda: fit_logit(data, penalty="l3"),
         "The 'penalty' parameter of fit_logit must be one of {None, 'l1', 'l2'}. Got 'l3' instead."),
        (lambda: fit_logit(data, alpha=1.0),
         "The 'alpha' parameter of fit_logit must be a float in the range (0, 1). Got 1.0 instead."),
        (lambda: bootstrap_weights(data, method="logit"),
         "The 'method' parameter of bootstrap_weights must be 'simplex'. Got 'logit' instead."),
        (lambda: bootstrap_weights(data, n_boot=1),
         "The 'n_boot' parameter of bootstrap_weights must be an int in the range [2, inf). Got 1 instead."),
        (lambda: validate(data, _config(), by="region"),
         "The 'by' parameter of validate must be one of {'segment', 'period', None}. Got 'region' instead."),
        (lambda: detect_drift(data, _config(), recent_periods=0),
         "The 'recent_periods' parameter of detect_drift must be an int in the range [1, inf). Got 0 instead."),
        (lambda: leaderboard(data, scheme="random"),
         "The 'scheme' parameter of leaderboard must be one of {'auto', 'time', 'group'}. Got 'random' instead."),
        (lambda: champion_challenger(data, _config(), _config(), k=1),
         "The 'k' parameter of champion_challenger must be an int in the range [2, inf). Got 1 instead."),
        (lambda: tune_bands(np.array([50.0]), np.array([1]), default_bands(), red_band="crimson"),
         "The 'red_band' parameter of tune_bands must be one of {'critical', 'red', 'amber', 'green'}. Got 'crimson' instead."),
        (lambda: HealthScoreClassifier(on_negative="zero").fit(*sample),
         "The 'on_negative' parameter of HealthScoreClassifier must be one of {'drop', 'invert', 'floor'}. "
         "Got 'zero' instead."),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            call()
        with pytest.raises(CalibrateError):
            call()


def test_a_bad_option_on_the_command_line_is_exit_2_with_one_line(capsys, workdir):
    from calibrate.cli import main

    with pytest.raises(SystemExit) as info:
        main(["fit", "--stability", "-1", "--quiet"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1, err
    assert err == ("calibrate: error: The 'stability' parameter of fit_weights must be 'auto', a float in the range "
                   "[0, inf) or None. Got -1.0 instead.\n")
    assert list(workdir.iterdir()) == []


def test_defaults_and_unknown_names_are_checked_when_a_function_is_decorated():
    with pytest.raises(ParameterError, match=r"^The 'n' parameter of f must be an int in the range \[1, inf\)\. "
                                             r"Got 0 instead\.$"):
        @validate_params({"n": [Interval(int, 1, None)]})
        def f(*, n: int = 0) -> int:
            return n
    with pytest.raises(TypeError, match=r"g has no parameter\(s\) \['m'\] to constrain"):
        @validate_params({"m": [None]})
        def g(*, n: int = 0) -> int:
            return n


def test_a_wrong_call_keeps_pythons_own_error():
    from calibrate import fit_weights

    with pytest.raises(TypeError, match="unexpected keyword argument 'methd'"):
        fit_weights(None, methd="simplex")


# ---------------------------------------------------------------------------------------------
# the direction flip and the missing-dimension rule: one function each, every scorer through them
# ---------------------------------------------------------------------------------------------
@settings(max_examples=50)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100), st.floats(0, 100)), min_size=1, max_size=20),
       st.lists(st.booleans(), min_size=3, max_size=3))
def test_healthy_is_100_minus_s_on_inverted_columns_only(rows, flips):
    x = np.array(rows)
    dirs = ["lower_is_healthier" if f else "higher_is_healthier" for f in flips]
    by_hand = np.array([[100.0 - v if f else v for v, f in zip(row, flips)] for row in rows])
    assert (healthy(x, dirs) == by_hand).all()
    assert (healthy(x / 100.0, dirs, top=1.0) == np.array([[1.0 - v / 100.0 if f else v / 100.0
                                                             for v, f in zip(row, flips)] for row in rows])).all()
    same = x.copy()
    assert healthy(same, dirs, inplace=True) is same and (same == by_hand).all()
    assert healthy(x, ["higher_is_healthier"] * 3) is x  # nothing inverted: no copy


def test_the_estimator_scores_exactly_as_the_reference_scorer(sample):
    from calibrate.fit.draft import build_config

    X, y = sample
    est = HealthScoreClassifier(method="logit", on_negative="invert").fit(X.assign(support=100 - X["support"]), y)
    assert est.fit_.directions["support"] == "lower_is_healthier"  # the flipped column comes back inverted
    book = X.assign(support=100 - X["support"], renewed=y, account_id=[f"A{i}" for i in range(len(y))])
    config = build_config(est.fit_, load_accounts(book))
    assert (est.score_values(book[list(DIMS)]) == calibrate.score_frame(book, config)["score"].to_numpy()).all()


def test_missing_rule_in_one_place():
    from calibrate.score.scorer import weighted_score

    values = np.array([[80.0, np.nan, 40.0], [np.nan, np.nan, np.nan]])
    w = np.array([0.5, 0.3, 0.2])
    score, contrib = weighted_score(values, w, missing="redistribute", columns=["a", "b", "c"])
    assert score[0] == pytest.approx((0.5 * 80 + 0.2 * 40) / 0.7) and np.isnan(score[1])
    assert contrib[0].sum() == pytest.approx(score[0]) and contrib[0, 1] == 0
    with pytest.raises(CalibrateError, match=r"^column 'b': missing sub-score \(first at row 0\); fill it"):
        weighted_score(values, w, columns=["a", "b", "c"])
    frame = pd.DataFrame(values, columns=["a", "b", "c"])
    cfg = WeightConfig(dimensions=[Dimension(name=n, column=n, weight=v) for n, v in zip("abc", w)],
                       bands=default_bands(), missing="redistribute")
    assert np.array_equal(calibrate.score_frame(frame, cfg)["score"].to_numpy(), score, equal_nan=True)


@pytest.mark.parametrize(("by", "drop", "column"), [("segment", "segment", "segment"),
                                                    ("period", "snapshot_date", "snapshot_date")])
def test_validate_by_names_the_missing_column(by, drop, column):
    from calibrate import validate

    data = load_accounts(logistic_book(300, seed=2).drop(columns=[drop, "renewal_date"]))
    with pytest.raises(CalibrateError, match=rf"^validate by {by}: the data have no '{column}' column; "
                                             r"map one or drop --by$"):
        validate(data, _config(), by=by, n_boot=10)
