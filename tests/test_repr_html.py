"""Every public result and data object renders in Jupyter: ``_repr_html_`` gives escaped, non-empty HTML.

Each object is built through the real API on a small seeded book. ``test_every_result_class_is_covered``
fails when a public class with ``to_frame`` or ``summary`` is added without a builder here.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import calibrate as cb
from calibrate.data import datasets

LEAD_OWNED = {"RunResult"}  # rendered by the lead's recalibrate.py
DATA_OBJECTS = {"Accounts", "WeightConfig"}  # no to_frame/summary, but what a notebook shows most


@functools.cache
def _base() -> SimpleNamespace:
    from calibrate.drift.detect import fit_reference_config

    book = datasets.make_book(n_accounts=400, seed=1)
    data = cb.load_accounts(book)
    config = fit_reference_config(data, train_until="2025-06-30", n_boot=100)
    tree_fit = cb.systems.fit_metric_tree(data)
    return SimpleNamespace(book=book, data=data, config=config, validation=cb.validate(data, config, n_boot=100),
                           tree_fit=tree_fit)


def _equal(config: cb.WeightConfig) -> cb.WeightConfig:
    w = 1 / len(config.dimensions)
    return config.model_copy(update={"dimensions": [d.model_copy(update={"weight": w}) for d in config.dimensions]})


BUILDERS: dict[str, Callable[[SimpleNamespace], Any]] = {
    "Accounts": lambda b: b.data,
    "WeightConfig": lambda b: b.config,
    "FitResult": lambda b: cb.fit_weights(b.data),
    "LogitResult": lambda b: cb.fit_logit(b.data),
    "WeightIntervals": lambda b: cb.bootstrap_weights(b.data, n_boot=20),
    "Validation": lambda b: b.validation,
    "GateResult": lambda b: cb.check(b.validation),
    "RedBook": lambda b: b.validation.red,
    "CsmJudgment": lambda b: b.validation.csm,
    "DriftReport": lambda b: cb.detect_drift(b.data, b.config, n_boot=50, weight_drift=False, n_sim=100),
    "Leaderboard": lambda b: cb.leaderboard(b.data, n_boot=50),
    "ChampionChallenger": lambda b: cb.champion_challenger(b.data, b.config, _equal(b.config), n_boot=50),
    "ConfigDiff": lambda b: cb.publish.diff_configs(_equal(b.config), b.config, data=b.data),
    "RuleValidation": lambda b: cb.systems.validate_tree(b.data, "seed_001", n_boot=50),
    "TreeTuning": lambda b: cb.systems.tune_tree(b.data, "seed_001", n_boot=50, grid=5, passes=1),
    "MetricTreeFit": lambda b: b.tree_fit,
    "Explanation": lambda b: cb.systems.explain(b.tree_fit, b.book, b.book["account_id"].iloc[0]),
    "ActionList": lambda b: cb.systems.action_list(b.tree_fit, b.book),
    "Playbook": lambda b: cb.systems.red_playbook(b.tree_fit, b.book),
    "PostMortem": lambda b: cb.systems.post_mortem(b.tree_fit, b.book),
    "TierResult": lambda b: cb.systems.activity_tiers(b.data, n_boot=50),
    "DirectionReport": lambda b: cb.systems.direction_checks(b.data, columns=["usage", "nps"], n_boot=50),
    "SystemComparison": lambda b: cb.systems.compare_systems(b.data, b.config, tune=False, n_boot=50),
}


STAGES = ("config", "data", "score", "fit", "validation", "compare", "drift", "systems", "publish", "report")


def _public_classes() -> dict[str, type]:
    """Every public class of the root and of the stage subpackages, by name."""
    out = {}
    for module in (cb, *(getattr(cb, stage) for stage in STAGES)):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                out[name] = obj
    return out


def _needs_html() -> set[str]:
    names = {n for n, obj in _public_classes().items() if hasattr(obj, "to_frame") or hasattr(obj, "summary")}
    return (names | DATA_OBJECTS) - LEAD_OWNED


def test_every_result_class_is_covered():
    missing = _needs_html() - set(BUILDERS)
    assert not missing, f"add a builder for {sorted(missing)} in tests/test_repr_html.py"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_repr_html(name: str):
    obj = BUILDERS[name](_base())
    assert type(obj) is _public_classes()[name]
    out = obj._repr_html_()
    assert isinstance(out, str) and len(out) > 40
    assert "<table" in out or "<pre>" in out
    assert out.count("<table") == out.count("</table>")
    assert "\n" not in repr(obj)  # the one-line repr beside it


def test_data_objects_show_aggregates_and_escape_the_headline():
    b = _base()
    out = b.data._repr_html_()
    assert out.startswith("<p><b>&lt;Accounts 1,706 rows")  # the repr, escaped
    usage = b.data.frame["usage"].to_numpy()
    assert f"{usage.mean():.3f}" in out and f"{np.std(usage, ddof=1):.3f}" in out
    assert b.data.frame["account_id"].iloc[0] not in out  # aggregates, never raw rows
    cfg = b.config._repr_html_()
    assert [m for m in re.findall(r"<td>(0\.\d{3})</td>", cfg)][:4] == [f"{d.weight:.3f}" for d in b.config.dimensions]
    assert "CS_HEALTH_GREEN" in cfg


def test_result_html_uses_the_summary_headline():
    red = _base().validation.red
    assert red._repr_html_().startswith(f"<p><b>{red.summary().splitlines()[0].replace('<', '&lt;')}</b></p>")
