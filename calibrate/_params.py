"""Parameter validation in the spirit of scikit-learn's ``validate_params``: constraints as data, one message.

A public function declares what each option may be, next to its signature::

    @validate_params({"method": [Options("simplex", "logit")], "n_boot": [Interval(int, 2, None)]})
    def fit_weights(data, *, method="simplex", n_boot=500): ...

and a bad value is refused before the function runs, always in the same words::

    ParameterError: The 'method' parameter of fit_weights must be one of {'simplex', 'logit'}. Got 'foo' instead.

A constraint is :class:`Options` (a fixed set of values), :class:`Interval` (an int or a float in a
range; NaN and ±inf never are), :class:`MappingOf` (a mapping whose values meet a constraint) or
``None`` (the value may be None). A parameter passes when it
satisfies any of its constraints. :func:`check_params` checks a mapping of values the same way, for
estimators (their options live in ``get_params()``) and for options known only at run time (the
band names a ``red_band`` may take).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from calibrate.errors import ParameterError

__all__ = ["Options", "Interval", "MappingOf", "Constraint", "validate_params", "check_params", "describe"]

F = TypeVar("F", bound=Callable[..., Any])


class Options:
    """The value is one of a fixed set (compared by type and value, so ``1`` is not ``'1'``)."""

    def __init__(self, *values: Any) -> None:
        self.values = values

    def is_satisfied_by(self, value: Any) -> bool:
        return any(value is v or (isinstance(value, type(v)) and value == v) for v in self.values)

    def __str__(self) -> str:
        if len(self.values) == 1:
            return repr(self.values[0])
        return "one of {" + ", ".join(repr(v) for v in self.values) + "}"


class Interval:
    """The value is a finite int (or float, ints included) between ``left`` and ``right``; ``None`` is unbounded.

    ``closed`` says which ends belong to the range: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.
    Booleans are not numbers here.
    """

    def __init__(
        self, kind: type[int] | type[float], left: float | None, right: float | None, *,
        closed: Literal["both", "left", "right", "neither"] = "both",
    ) -> None:
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value: Any) -> bool:
        number = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, number) or not math.isfinite(value):
            return False
        if self.left is not None and (value < self.left or (value == self.left and self.closed in ("right", "neither"))):
            return False
        return self.right is None or not (value > self.right or (value == self.right and self.closed in ("left", "neither")))

    def __str__(self) -> str:
        lo = "-inf" if self.left is None else f"{self.left:g}"
        hi = "inf" if self.right is None else f"{self.right:g}"
        left = "[" if self.left is not None and self.closed in ("both", "left") else "("
        right = "]" if self.right is not None and self.closed in ("both", "right") else ")"
        return f"{'an int' if self.kind is int else 'a float'} in the range {left}{lo}, {hi}{right}"


class MappingOf:
    """The value is a mapping (name → value) whose every value satisfies ``values``."""

    def __init__(self, values: Options | Interval) -> None:
        self.values = values

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(self.values.is_satisfied_by(v) for v in value.values())

    def __str__(self) -> str:
        return f"a mapping to {self.values}"


Constraint = Options | Interval | MappingOf | None


def describe(constraints: Sequence[Constraint]) -> str:
    """What a parameter may be, in words: ``"one of {'a', 'b'}"``, ``"an int in the range [1, inf) or None"``."""
    words = ["None" if c is None else str(c) for c in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _satisfies(value: Any, constraints: Sequence[Constraint]) -> bool:
    return any(value is None if c is None else c.is_satisfied_by(value) for c in constraints)


def check_params(caller: str, values: Mapping[str, Any], constraints: Mapping[str, Sequence[Constraint]]) -> None:
    """Refuse the first value of ``values`` that breaks its constraints (names without a value are skipped).

    Raises
    ------
    ParameterError
        ``The '<name>' parameter of <caller> must be <constraints>. Got <value!r> instead.``
    """
    for name, allowed in constraints.items():
        if name in values and not _satisfies(values[name], allowed):
            raise ParameterError(
                f"The {name!r} parameter of {caller} must be {describe(allowed)}. Got {values[name]!r} instead."
            )


def validate_params(constraints: Mapping[str, Sequence[Constraint]]) -> Callable[[F], F]:
    """Decorate a function so that its arguments are checked against ``constraints`` before it runs.

    Only the arguments a call passes are checked (the defaults are checked once, when the function
    is decorated). A constrained name that is not a parameter is looked up in the function's
    ``**kwargs``. The constraints stay readable as ``func.__param_constraints__``.
    """

    def decorate(func: F) -> F:
        sig = inspect.signature(func)
        var_kw = next((p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD), None)
        unknown = sorted(set(constraints) - set(sig.parameters))
        if unknown and var_kw is None:
            raise TypeError(f"{func.__qualname__} has no parameter(s) {unknown} to constrain")
        defaults = {n: p.default for n, p in sig.parameters.items() if p.default is not p.empty}
        check_params(func.__name__, defaults, constraints)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                given = sig.bind_partial(*args, **kwargs).arguments
            except TypeError:  # a wrong call: let Python say so in its own words
                return func(*args, **kwargs)
            if var_kw is not None and var_kw in given:
                given = {**given, **given[var_kw]}
            check_params(func.__name__, given, constraints)
            return func(*args, **kwargs)

        wrapper.__param_constraints__ = dict(constraints)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
