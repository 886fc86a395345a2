"""Rule trees as data: classify accounts with a yes/no decision tree and validate its outcome classes.

A rule tree (seed 001) is a JSON file: ``questions`` (each asks whether one or more signals pass a
comparison with a threshold, combined with ``any``/``all``, and names its ``yes`` and ``no``
edges), ``outcomes`` (the leaves, least healthy first, each with label, colour and code), an
``entry`` question and the ``red_outcome`` the spread is measured against. The seed's tree ships
as ``calibrate/systems/trees/seed_001.json`` (``read_tree("seed_001")``).

A tree is checked when loaded: every edge must lead to a question or an outcome, no path may
loop, every node must be reachable from the entry. A signal missing from the data is refused at
classification. :func:`classify` is vectorised over rows (one boolean vector per question, then
the rows flow through the questions in topological order). :func:`validate_tree` validates the
outcome classes with :func:`calibrate.validation.separation.validate_classes`. Tuning lives in
:mod:`calibrate.systems.rules_tune`.
"""

from __future__ import annotations

import json
import operator
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calibrate.errors import ConfigError, DataError
from calibrate.data.load import Accounts
from calibrate.validation.separation import Validation, validate_classes

__all__ = [
    "Condition", "Question", "Outcome", "RuleTree", "read_tree", "builtin_trees", "classify",
    "RuleValidation", "validate_tree", "Check", "check_lines",
]

TREES_DIR = Path(__file__).parent / "trees"

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
        "!=": operator.ne}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Frozen):
    """``signal op threshold``, e.g. ``adoption_pct > 60``."""

    signal: str
    op: Literal[">", ">=", "<", "<=", "==", "!="]
    threshold: float

    def __str__(self) -> str:
        return f"{self.signal} {self.op} {self.threshold:g}"


class Question(_Frozen):
    """A yes/no question: its conditions combined with ``any`` (or) / ``all`` (and), and its edges.

    ``if_missing`` is the answer when a signal value is missing (``"error"`` refuses the data);
    ``warning`` names the answer that is a warning sign (used by the post-mortem).
    """

    text: str = ""
    conditions: list[Condition] = Field(min_length=1)
    combine: Literal["any", "all"] = "any"
    yes: str
    no: str
    if_missing: Literal["yes", "no", "error"] = "error"
    warning: Literal["yes", "no"] | None = None


class Outcome(_Frozen):
    """A leaf of the tree: an outcome class with label, colour and code."""

    name: str
    label: str
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    code: str
    description: str = ""


class RuleTree(_Frozen):
    """A rule tree: questions, outcome classes (least healthy first), entry and red outcome."""

    kind: Literal["rule_tree"] = "rule_tree"
    schema_version: Literal["1.0"] = "1.0"
    name: str
    version: int = 1
    title: str = ""
    source: str = ""
    entry: str
    questions: dict[str, Question] = Field(min_length=1)
    outcomes: list[Outcome] = Field(min_length=2)
    red_outcome: str

    @property
    def signals(self) -> list[str]:
        """Every signal column the tree reads, in question order."""
        seen: dict[str, None] = {}
        for q in self.questions.values():
            for c in q.conditions:
                seen.setdefault(c.signal, None)
        return list(seen)

    @property
    def thresholds(self) -> dict[str, float]:
        """``"Q1.0"`` (question id, condition number) → threshold."""
        return {f"{qid}.{i}": c.threshold for qid, q in self.questions.items() for i, c in enumerate(q.conditions)}

    def with_thresholds(self, thresholds: dict[str, float]) -> RuleTree:
        """A copy with some thresholds replaced (keys as in :attr:`thresholds`)."""
        questions = {}
        for qid, q in self.questions.items():
            conds = [c.model_copy(update={"threshold": float(thresholds.get(f"{qid}.{i}", c.threshold))})
                     for i, c in enumerate(q.conditions)]
            questions[qid] = q.model_copy(update={"conditions": conds})
        return self.model_copy(update={"questions": questions})

    def to_json(self) -> str:
        """The tree as a JSON document (what :func:`read_tree` reads)."""
        return json.dumps(self.model_dump(mode="json", exclude_defaults=False), indent=2) + "\n"

    def topological_order(self) -> list[str]:
        """Question ids, each after every question that can lead to it."""
        return _check_graph(self, f"rule tree {self.name!r}")

    def __repr__(self) -> str:
        return f"<RuleTree {self.name} v{self.version}: {len(self.questions)} questions, {len(self.outcomes)} outcomes>"


def _check_graph(tree: RuleTree, where: str) -> list[str]:
    """Check edges, cycles and reachability; return the questions in topological order."""
    outcomes = [o.name for o in tree.outcomes]
    both = set(outcomes) & set(tree.questions)
    if both:
        raise ConfigError(f"{where}: {sorted(both)} name both a question and an outcome; rename one of them")
    if len(set(outcomes)) != len(outcomes):
        raise ConfigError(f"{where}: outcome names must be unique; rename the duplicates")
    if tree.red_outcome not in outcomes:
        raise ConfigError(f"{where}: red_outcome {tree.red_outcome!r} is not one of the outcomes {outcomes}")
    if tree.entry not in tree.questions:
        raise ConfigError(f"{where}: entry {tree.entry!r} is not a question; set entry to one of {list(tree.questions)}")
    for qid, q in tree.questions.items():
        for edge in ("yes", "no"):
            target = getattr(q, edge)
            if target not in tree.questions and target not in outcomes:
                raise ConfigError(
                    f"{where}: question {qid} '{edge}' leads to {target!r}, which is neither a question nor an "
                    "outcome; point it at an existing node"
                )
    # depth-first search from the entry: a back edge is a cycle; postorder reversed is topological
    state: dict[str, int] = {}
    order: list[str] = []
    stack: list[tuple[str, int]] = [(tree.entry, 0)]
    path: list[str] = []
    while stack:
        node, i = stack.pop()
        if i == 0:
            state[node] = 1
            path.append(node)
        q = tree.questions[node]
        children = [c for c in (q.yes, q.no) if c in tree.questions]
        if i < len(children):
            stack.append((node, i + 1))
            child = children[i]
            if state.get(child) == 1:
                loop = " -> ".join(path[path.index(child):] + [child])
                raise ConfigError(f"{where}: the questions form a cycle {loop}; every path must end in an outcome")
            if child not in state:
                stack.append((child, 0))
        else:
            state[node] = 2
            path.pop()
            order.append(node)
    reached = set(state) | {getattr(q, e) for qid, q in tree.questions.items() if qid in state for e in ("yes", "no")}
    lost = [n for n in list(tree.questions) + outcomes if n not in reached]
    if lost:
        raise ConfigError(
            f"{where}: node(s) {lost} cannot be reached from entry {tree.entry!r}; link them from a question "
            "or remove them"
        )
    return order[::-1]


def builtin_trees() -> list[str]:
    """Names of the tree files shipped with calibrate (rule trees and metric trees), e.g. ``seed_001``."""
    return sorted(p.stem for p in TREES_DIR.glob("*.json"))


def read_document(source: str | os.PathLike[str] | dict[str, Any], what: str) -> tuple[dict[str, Any], str]:
    """Read a JSON/YAML tree file, a built-in tree name, or take a dict; return it and where it came from."""
    if isinstance(source, dict):
        return source, f"<{what}>"
    path = Path(source)
    if not path.exists() and (TREES_DIR / f"{source}.json").exists():
        path = TREES_DIR / f"{source}.json"
    where = str(path)
    if not path.exists():
        raise ConfigError(f"{where}: no such {what} file; give a path or one of the built-ins {builtin_trees()}")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            return yaml.safe_load(text), where
        return json.loads(text), where
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not a readable {what} ({str(exc).splitlines()[0]}); fix the JSON") from None


def parse_document(model: type[BaseModel], doc: Any, where: str) -> Any:
    """Validate a document against a pydantic model; the first problem becomes a one-line ConfigError."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{where}: {loc or 'document'}: {err['msg']}; fix that field") from None


def read_tree(source: str | os.PathLike[str] | dict[str, Any] | RuleTree) -> RuleTree:
    """Read and check a rule tree.

    Parameters
    ----------
    source : path, built-in name, dict or RuleTree
        A JSON (or YAML) file, the name of a built-in tree (``"seed_001"``), or the document itself.

    Returns
    -------
    RuleTree

    Raises
    ------
    ConfigError
        Unreadable file, wrong shape, an edge to nowhere, a cycle or an unreachable node.
    """
    if isinstance(source, RuleTree):
        doc, where = source.model_dump(), f"rule tree {source.name!r}"
    else:
        doc, where = read_document(source, "rule tree")
    tree = parse_document(RuleTree, doc, where)
    _check_graph(tree, where)
    return tree


def _answers(frame: pd.DataFrame, tree: RuleTree) -> dict[str, np.ndarray]:
    """Each question's answer for every row (boolean vector), missing values resolved."""
    absent = [s for s in tree.signals if s not in frame.columns]
    if absent:
        first = next(qid for qid, q in tree.questions.items() if any(c.signal in absent for c in q.conditions))
        raise DataError(
            f"rule tree {tree.name!r}: signal column(s) {absent} (first asked in {first}) not in the data; "
            "add the column or edit the tree's signal names"
        )
    out = {}
    for qid, q in tree.questions.items():
        results, missing = [], np.zeros(len(frame), dtype=bool)
        for c in q.conditions:
            try:
                x = frame[c.signal].to_numpy(dtype=float, na_value=np.nan)
            except (TypeError, ValueError):
                raise DataError(f"rule tree {tree.name!r}: signal column {c.signal!r} is not numeric; "
                                "clean the column or map a numeric one") from None
            missing |= np.isnan(x)
            results.append(_OPS[c.op](x, c.threshold))
        ans = np.logical_or.reduce(results) if q.combine == "any" else np.logical_and.reduce(results)
        if missing.any():
            if q.if_missing == "error":
                rows = ", ".join(str(i + 1) for i in np.flatnonzero(missing)[:5])
                raise DataError(
                    f"rule tree {tree.name!r}: question {qid} has missing signal values (rows {rows}); fill them "
                    "or set the question's if_missing to 'yes' or 'no'"
                )
            ans = np.where(missing, q.if_missing == "yes", ans)
        out[qid] = ans
    return out


def classify(frame: pd.DataFrame, tree: RuleTree, *, answers: bool = False) -> pd.DataFrame:
    """Run every row through the tree.

    Parameters
    ----------
    frame : DataFrame
        Holds the tree's signal columns (e.g. ``Accounts.frame``).
    tree : RuleTree
    answers : bool, default False
        Also return each question's answer (``True``/``False``, ``<NA>`` where not asked).

    Returns
    -------
    DataFrame
        Same index: ``outcome``, ``code``, ``label``, ``class_index`` (0 = least healthy), and the answers.

    Examples
    --------
    >>> import pandas as pd
    >>> t = read_tree("seed_001")
    >>> df = pd.DataFrame({"adoption_pct": [80, 20], "days_since_login": [3, 40], "nps": [9, 3],
    ...                    "open_tickets": [0, 5], "oldest_ticket_age_days": [0, 30], "days_to_renewal": [200, 30]})
    >>> classify(df, t)["outcome"].tolist()
    ['HEALTHY', 'CRITICAL']
    """
    order = tree.topological_order()
    ans = _answers(frame, tree)
    names = list(tree.questions) + [o.name for o in tree.outcomes]
    pos = {n: i for i, n in enumerate(names)}
    at = np.full(len(frame), pos[tree.entry])
    asked = {}
    for qid in order:
        here = at == pos[qid]
        q = tree.questions[qid]
        at[here] = np.where(ans[qid][here], pos[q.yes], pos[q.no])
        asked[qid] = here
    class_index = at - len(tree.questions)
    outcomes = tree.outcomes
    out = pd.DataFrame(
        {
            "outcome": np.array([o.name for o in outcomes], dtype=object)[class_index],
            "code": np.array([o.code for o in outcomes], dtype=object)[class_index],
            "label": np.array([o.label for o in outcomes], dtype=object)[class_index],
            "class_index": class_index,
        },
        index=frame.index,
    )
    if answers:
        for qid in tree.questions:
            out[qid] = pd.array(np.where(asked[qid], ans[qid], False), dtype="boolean")
            out.loc[~asked[qid], qid] = pd.NA
    return out


@dataclass(frozen=True)
class Check:
    """One named check of a gate-able result."""

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    message: str


def class_checks(v: Validation, *, min_spread: float = 0.0) -> tuple[Check, ...]:
    """Spread lower bound above ``min_spread``, monotone renewal rates, and the ordered trend (one-sided)."""
    from calibrate import _stats

    k = [b.renewed for b in v.bands]
    n = [b.n for b in v.bands]
    trend = _stats.cochran_armitage(k, n, alternative="increasing")
    lo = v.spread_ci[0]
    return (
        Check("spread", bool(np.isfinite(lo) and lo > min_spread), _finite(lo), min_spread,
              f"spread {v.top_band} - {v.red_band} lower bound {lo:+.1%} (needs > {min_spread:+.1%})"),
        Check("monotone", v.monotone, None, None, "renewal rates rise with every class" if v.monotone
              else "renewal rates do not rise with the class order"),
        Check("trend", bool(trend.pvalue < 0.05), _finite(trend.pvalue), 0.05,
              f"Cochran-Armitage trend across classes: z = {trend.z:.2f}, one-sided p = {trend.pvalue:.2g}"),
    )


def check_lines(checks: tuple[Check, ...]) -> list[str]:
    """``[ok] name: message`` / ``[FAIL] name: message`` lines of a result's summary."""
    return [f"[{'ok' if c.passed else 'FAIL'}] {c.name}: {c.message}" for c in checks]


class ClassResultMixin:
    """Plot and HTML of a result that holds a ``validation`` of ordered classes and a ``to_frame``."""

    validation: Validation

    def plot(self, ax: Any = None) -> Any:
        """Renewal rate per class with its interval; returns the Axes."""
        return self.validation.plot(ax=ax)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")  # type: ignore[attr-defined]


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@dataclass(frozen=True)
class RuleValidation(ClassResultMixin):
    """A rule tree's outcome classes validated against renewals.

    Attributes
    ----------
    tree : RuleTree
    validation : Validation
        Renewal rate per class (Wilson), spread of the healthiest non-empty class over the red
        class (account bootstrap), AUC of the class order (DeLong).
    empty_classes : tuple of str
        Outcomes no row reached (left out of the spread; listed in the summary).
    checks : tuple of Check
    """

    tree: RuleTree
    validation: Validation
    empty_classes: tuple[str, ...]
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        """Every check holds."""
        return all(c.passed for c in self.checks)

    def to_frame(self) -> pd.DataFrame:
        """One row per outcome class, least healthy first (empty classes included with n = 0)."""
        rows = {b.name: b for b in self.validation.bands}
        table = []
        for o in self.tree.outcomes:
            b = rows.get(o.name)
            table.append({"outcome": o.name, "label": o.label, "code": o.code, "n": b.n if b else 0,
                          "renewed": b.renewed if b else 0, "renewal_rate": b.renewal_rate if b else None,
                          "ci_low": b.ci_low if b else None, "ci_high": b.ci_high if b else None,
                          "share": b.share if b else 0.0})
        return pd.DataFrame(table)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures: the validation keys plus tree, thresholds, empty classes and checks."""
        d = self.validation.to_dict()
        d.update(tree=self.tree.name, thresholds=self.tree.thresholds, empty_classes=list(self.empty_classes),
                 classes=self.to_frame().to_dict(orient="records"), passed=self.passed,
                 checks=[c.__dict__ for c in self.checks])
        return d

    def summary(self) -> str:
        """The class table, headline figures and checks as text."""
        lines = [f"rule tree {self.tree.name} v{self.tree.version} on {self.validation.n:,} rows",
                 self.validation.summary()]
        if self.empty_classes:
            lines.append(f"no row reaches {list(self.empty_classes)} (left out of the spread)")
        lines += check_lines(self.checks)
        return "\n".join(lines)

    def __repr__(self) -> str:
        v = self.validation
        return (f"<RuleValidation {self.tree.name}: spread {v.spread:+.1%} [{v.spread_ci[0]:+.1%}, "
                f"{v.spread_ci[1]:+.1%}], AUC {v.auc:.3f}, {'passed' if self.passed else 'failed'}>")


def validate_class_index(frame: pd.DataFrame, index: np.ndarray, classes: list[Any], *, red: str,
                         n_boot: int, seed: int) -> tuple[Validation, tuple[str, ...]]:
    """Validate an ordered classification whose top classes may be empty.

    The classes above the healthiest non-empty one are dropped before :func:`validate_classes`,
    so the spread compares the healthiest class the rows actually reach with ``red``.
    """
    counts = np.bincount(index, minlength=len(classes))
    top = int(np.flatnonzero(counts)[-1])
    kept = classes[: top + 1]
    if red not in [c.name for c in kept]:
        kept = classes  # the red class is above every reached class: report it as empty
    empty = tuple(c.name for c, n in zip(classes, counts) if n == 0)
    v = validate_classes(frame, index, kept, red_band=red, score=index.astype(float), n_boot=n_boot, seed=seed)
    return v, empty


def validate_tree(
    data: Accounts,
    tree: RuleTree | str | os.PathLike[str],
    *,
    min_spread: float = 0.0,
    n_boot: int = 2000,
    seed: int = 0,
) -> RuleValidation:
    """Classify the data with a rule tree and validate its outcome classes against renewals.

    Parameters
    ----------
    data : Accounts
        Loaded snapshots with the tree's signal columns.
    tree : RuleTree, path or built-in name
    min_spread : float, default 0
        The spread's lower bound must exceed this.
    n_boot, seed : int
        Account-level bootstrap for the spread interval.

    Returns
    -------
    RuleValidation
    """
    tree = read_tree(tree)
    idx = classify(data.frame, tree)["class_index"].to_numpy()
    v, empty = validate_class_index(data.frame, idx, list(tree.outcomes), red=tree.red_outcome,
                                    n_boot=n_boot, seed=seed)
    return RuleValidation(tree=tree, validation=v, empty_classes=empty, checks=class_checks(v, min_spread=min_spread))
