"""The CI gate: does the score still predict churn? (issue 4, contract.md §3)

:func:`check` turns a :class:`~calibrate.validation.separation.Validation` and a :class:`Policy` (thresholds
a team versions in a YAML or JSON file, :func:`read_policy`) into a :class:`GateResult`: one
:class:`Check` per rule, each ``pass``, ``fail`` or ``inconclusive``.

A threshold check on a figure with an interval (spread, AUC, red multiple) *passes* when the
interval's lower bound reaches the threshold, *fails* when the point estimate is at or below it, and
is *inconclusive* in between — the data are too few to decide; the check then says how many accounts
would narrow the interval enough (half-width shrinks as 1/√n). An estimate exactly *at* the threshold
fails: no number of accounts would lift the interval above it. Inconclusive counts as failed
unless the policy allows it.

The red share (bands at or below red) is held to the seeds' guideline (``red_share_guideline``,
10 %): above it the check *warns* (status ``warn``, not blocking) and points to band tuning;
``max_red_share`` makes the share blocking (``fail`` above it). :meth:`GateResult.to_junit` writes
one JUnit test case per check.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree as ET

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from calibrate.config.policy_file import read_policy_section
from calibrate.errors import ConfigError
from calibrate.validation.redbook import RED_SHARE_GUIDELINE
from calibrate.validation.separation import Validation

__all__ = ["Policy", "Check", "GateResult", "check", "read_policy"]

Status = Literal["pass", "fail", "inconclusive", "warn"]

BAND_TUNING_HINT = "tune the band cut-points (calibrate.tune_bands, docs/comparisons.md)"


class Policy(BaseModel):
    """Thresholds of the gate; ``None`` switches a check off.

    Defaults are contract §4's "predictive": the spread's interval above 0, renewal rates monotone
    across the ordered bands (a fall counts only where the intervals separate) and the ordered trend
    significant at 5 %. The red share is held to the seeds' guideline as a warning
    (``red_share_guideline``); ``max_red_share`` makes it a blocking check.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str | None = Field(None, description="The team's policy version (free text; numbers become text).")
    min_spread: float | None = Field(0.0, ge=-1.0, le=1.0, description="Lower bound of the spread's interval.")
    min_auc: float | None = Field(None, ge=0.0, le=1.0, description="Lower bound of the AUC's interval.")
    min_red_multiple: float | None = Field(None, ge=0.0, description="Red churn / base churn, lower bound.")
    require_monotone: bool = Field(True, description="No separated fall of renewal rate across bands (contract §4).")
    max_trend_p: float | None = Field(0.05, gt=0.0, lt=1.0, description="One-sided Cochran-Armitage p-value (account-level bootstrap variance).")
    max_red_share: float | None = Field(None, gt=0.0, le=1.0, description="Share of the book in red or below, at most this (blocking).")
    red_share_guideline: float | None = Field(RED_SHARE_GUIDELINE, gt=0.0, le=1.0, description="Share of the book in red or below above which the check warns (not blocking).")
    allow_inconclusive: bool = Field(False, description="Let inconclusive checks pass (reported as such).")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def read_policy(path: str | os.PathLike[str]) -> Policy:
    """Read the gate's thresholds from a policy file (``.yaml``/``.yml`` or ``.json``; its ``drift:`` part is
    :func:`calibrate.drift.read_drift_policy`'s).

    Raises
    ------
    ConfigError
        Unreadable file, unknown key or bad value; the message names the file and the key.
    """
    return read_policy_section(path, Policy)


@dataclass(frozen=True)
class Check:
    """One rule of the gate (a failed check is a value, not an exception); ``warn`` passes but is flagged."""

    name: str
    status: Status
    passed: bool
    value: float | None
    threshold: float | None
    message: str
    ci_low: float | None = None
    ci_high: float | None = None
    n_needed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; contract.md §3 keys ``name, passed, value, threshold, message``."""
        return asdict(self)


def _num(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _interval_check(name: str, label: str, value: float | None, ci: tuple[float | None, float | None],
                    threshold: float, n_accounts: int, allow: bool, fmt: str) -> Check:
    """Pass when the lower bound reaches the threshold; fail when the estimate is at or below it; else inconclusive."""
    value, lo, hi = _num(value), _num(ci[0]), _num(ci[1])
    show = lambda x: format(x, fmt)  # noqa: E731
    if value is None:
        return Check(name, "fail", False, None, threshold, f"{label} not computable on these data (a class or band is empty)")
    if lo is not None and lo >= threshold:
        return Check(name, "pass", True, value, threshold,
                     f"{label} {show(value)} [{show(lo)}, {show(hi)}] >= {show(threshold)}", lo, hi)
    if value <= threshold or lo is None:  # at the threshold exactly, more accounts cannot lift the interval above it
        t = show(threshold)
        why = (f"is below the threshold {t}" if value < threshold else
               f"is exactly at the threshold {t}: more accounts would not lift the interval above it"
               if value == threshold else f"has no interval to hold against the threshold {t}")
        return Check(name, "fail", False, value, threshold, f"{label} {show(value)} {why}", lo, hi)
    # estimate above the threshold, interval reaching below it: too few accounts to decide
    need = math.ceil(n_accounts * ((value - lo) / (value - threshold)) ** 2)
    status: Status = "inconclusive"
    return Check(name, status, allow, value, threshold,
                 f"{label} {show(value)} [{show(lo)}, {show(hi)}]: interval too wide for the threshold "
                 f"{show(threshold)} — inconclusive; about {need:,} accounts needed (have {n_accounts:,})",
                 lo, hi, need)


def check(validation: Validation, policy: Policy | None = None, **overrides: Any) -> GateResult:
    """Run the gate's checks on a validation.

    Parameters
    ----------
    validation : Validation
    policy : Policy, optional
        Thresholds (default :class:`Policy`); ``overrides`` (e.g. ``min_auc=0.7``) replace its fields,
        ``None`` values are ignored.

    Returns
    -------
    GateResult
    """
    policy = policy or Policy()
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        try:
            policy = Policy.model_validate({**policy.model_dump(), **given})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ConfigError(f"threshold {'.'.join(map(str, err['loc']))}: {err['msg']}; got {err['input']!r}") from None
    v, allow, checks = validation, policy.allow_inconclusive, []
    if policy.min_spread is not None:
        checks.append(_interval_check("spread", f"spread {v.top_band} - {v.red_band}", v.spread, v.spread_ci,
                                      policy.min_spread, v.n_accounts, allow, "+.3f"))
    if policy.min_auc is not None:
        checks.append(_interval_check("auc", "AUC", v.auc, v.auc_ci, policy.min_auc, v.n_accounts, allow, ".3f"))
    if policy.min_red_multiple is not None:
        red = v.red
        value, ci = (red.red_multiple, red.red_multiple_ci) if red else (None, (None, None))
        checks.append(_interval_check("red_multiple", "red churn / base churn", value, ci,
                                      policy.min_red_multiple, v.n_accounts, allow, ".2f"))
    if policy.require_monotone:
        bad = len(v.violations)
        text = ("renewal rates rise across the bands (no separated violation)" if not bad else
                "renewal rate falls where the intervals separate: "
                + ", ".join(f"{lo} > {hi}" for lo, hi in v.violations))
        checks.append(Check("monotone", "pass" if not bad else "fail", not bad, float(bad), 0.0, text))
    if policy.max_trend_p is not None:
        p = _num(v.trend_p_accounts)  # account-level variance: snapshots of one account are not independent
        ok = p is not None and p <= policy.max_trend_p
        checks.append(Check("trend", "pass" if ok else "fail", ok, p, policy.max_trend_p,
                            f"ordered trend (Cochran-Armitage, one-sided) p={p if p is None else format(p, '.3g')} "
                            f"{'<=' if ok else '>'} {policy.max_trend_p}"))
    if policy.max_red_share is not None or policy.red_share_guideline is not None:
        checks.append(_red_share_check(_num(v.red.share_red_or_below) if v.red else None, policy))
    return GateResult(checks=tuple(checks), policy=policy, n=v.n, n_accounts=v.n_accounts)


def _red_share_check(share: float | None, policy: Policy) -> Check:
    """Fail above ``max_red_share``; else warn above ``red_share_guideline``; else pass."""
    cap, guide = policy.max_red_share, policy.red_share_guideline
    what = "share of the book in red or below"
    if share is None:
        status: Status = "fail" if cap is not None else "warn"
        return Check("red_share", status, status == "warn", None, cap if cap is not None else guide,
                     f"{what} not computable (no red band in these data)")
    if cap is not None and share > cap:
        return Check("red_share", "fail", False, share, cap,
                     f"{what} {share:.1%} > {cap:.0%} (max_red_share); {BAND_TUNING_HINT}")
    if guide is not None and share > guide:
        return Check("red_share", "warn", True, share, guide,
                     f"{what} {share:.1%} > the guideline {guide:.0%} (a warning; max_red_share makes it "
                     f"blocking); {BAND_TUNING_HINT}")
    limit = cap if cap is not None else guide
    return Check("red_share", "pass", True, share, limit, f"{what} {share:.1%} <= {limit:.0%}")


@dataclass(frozen=True)
class GateResult:
    """Every check of the gate; :attr:`passed` when all hold."""

    checks: tuple[Check, ...]
    policy: Policy
    n: int
    n_accounts: int

    @property
    def passed(self) -> bool:
        """Every check holds (inconclusive ones only when the policy allows them)."""
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that did not hold."""
        return tuple(c for c in self.checks if not c.passed)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The checks that hold with a warning (status ``warn``: past a guideline, not blocking)."""
        return tuple(c for c in self.checks if c.status == "warn")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; contract.md §3 keys ``passed`` and ``checks``."""
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks],
                "policy": self.policy.model_dump(), "n": self.n, "n_accounts": self.n_accounts}

    def to_frame(self) -> pd.DataFrame:
        """One row per check."""
        return pd.DataFrame([c.to_dict() for c in self.checks])

    def summary(self) -> str:
        """One line per check, then the verdict."""
        lines = [f"{c.status.upper():<13}{c.name:<14}{c.message}" for c in self.checks]
        failed = ", ".join(c.name for c in self.failed)
        warned = f" (warning: {', '.join(c.name for c in self.warnings)})" if self.warnings else ""
        lines.append(("PASSED: every check holds" if self.passed else f"FAILED: {failed}") + warned)
        return "\n".join(lines)

    def to_junit(self, *, suite: str = "calibrate check") -> str:
        """JUnit XML: one ``testcase`` per check; failed and inconclusive checks carry a ``failure``
        (inconclusive ones allowed by the policy a ``skipped``)."""
        failures = sum(not c.passed for c in self.checks)
        skipped = sum(c.passed and c.status == "inconclusive" for c in self.checks)
        root = ET.Element("testsuites", name="calibrate", tests=str(len(self.checks)), failures=str(failures))
        ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(self.checks)), failures=str(failures),
                           errors="0", skipped=str(skipped))
        for c in self.checks:
            case = ET.SubElement(ts, "testcase", classname="calibrate.check", name=c.name)
            if not c.passed:
                ET.SubElement(case, "failure", message=c.message, type=c.status).text = json.dumps(c.to_dict())
            elif c.status == "inconclusive":
                ET.SubElement(case, "skipped", message=c.message)
            ET.SubElement(case, "system-out").text = c.message
        ET.indent(root)
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def write_junit(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_junit` to ``path`` (atomically); returns the path."""
        from calibrate.config.model import atomic_write_text

        target = Path(path)
        atomic_write_text(target, self.to_junit())
        return target

    def plot(self, ax: Any = None) -> Any:
        """Each check's value against its threshold; returns the Axes."""
        from calibrate.plots import plot_checks

        return plot_checks(self, ax=ax)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)

    def __repr__(self) -> str:
        state = "passed" if self.passed else "FAILED " + ",".join(c.name for c in self.failed)
        return f"<GateResult {len(self.checks)} checks {state}>"
