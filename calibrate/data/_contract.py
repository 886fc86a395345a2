"""The data contract's refusal messages (contract.md §1), one function per rule.

The pandas loader (:mod:`calibrate.data.load`) and the engines' aggregate checks
(:mod:`calibrate.data.engine_checks`) raise the same one-line messages: ``where`` is the source,
``at`` says which rows (``"rows 3, 7"`` in a file; ``"4 rows (account 'A1' first)"`` on an engine).
"""

from __future__ import annotations

from typing import Any

RENEWED_LABELS = frozenset({"1", "1.0", "true", "yes", "y", "renewed", "t"})
CHURNED_LABELS = frozenset({"0", "0.0", "false", "no", "n", "churned", "f"})


def no_rows(where: str) -> str:
    return f"{where}: no data rows; export the account snapshots again"


def missing_columns(where: str, missing: list[str], have: list[str]) -> str:
    return (f"{where}: missing column(s) {missing}; the file has {have[:12]} — "
            "rename nothing, map them with --dimensions / a data spec")


def empty_id(where: str, column: str, at: str) -> str:
    return f"{where}: column {column!r}: empty account id at {at}; fill it"


def non_numeric(where: str, column: str, value: Any, at: str) -> str:
    return f"{where}: column {column!r}: non-numeric value {value!r} at {at}; sub-scores must be numbers 0-100"


def out_of_range(where: str, column: str, value: float, at: str) -> str:
    return (f"{where}: column {column!r}: value {value:g} out of range 0-100 at {at}; "
            "rescale the sub-score to 0-100 (or declare a transform)")


def missing_sub_score(where: str, column: str, at: str) -> str:
    return (f"{where}: column {column!r}: missing sub-score at {at}; fill it, or choose "
            "DataSpec(on_missing='median') (imputation, reported) or 'keep' (a config that redistributes weight)")


def unit_scale(where: str, columns: list[str]) -> str:
    return (f"{where}: sub-scores {columns} all lie in [0, 1] — looks like a 0–1 scale; multiply by 100 or declare a "
            "transform (DataSpec(allow_unit_scale=True) if they really are 0–100 scores this low)")


def duplicate_snapshot(where: str, at: str, account: str) -> str:
    return (f"{where}: duplicate (account_id, snapshot_date) at {at} "
            f"(account {account!r}); keep one snapshot per account and date")


def leakage(where: str, column: str, at: str) -> str:
    return (f"{where}: column {column!r}: renewal on or before the snapshot at "
            f"{at} — the outcome was known when the sub-scores were measured (leakage); "
            "drop those rows or use the snapshot taken before the renewal")


def one_class(where: str, column: str, only: str) -> str:
    return (f"{where}: column {column!r}: every row is {only}; calibrating needs both renewals and "
            "churns — widen the period or check the outcome mapping")


def missing_outcome(where: str, column: str, at: str) -> str:
    return (f"{where}: column {column!r}: missing outcome at {at}; drop rows whose renewal is "
            "not decided yet, or fill the outcome")


def bad_outcome(where: str, column: str, value: Any, at: str) -> str:
    return (f"{where}: column {column!r}: outcome '{value}' at {at} is not 0/1, true/false "
            "or yes/no; map the labels to 0/1")


def bad_arr(where: str, column: str, at: str) -> str:
    return f"{where}: column {column!r}: ARR must be a number >= 0; bad at {at}"
