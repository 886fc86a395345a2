"""Validation: do the bands separate renewal rates? Band table with intervals, spread, AUC, calibration, the red book, and the CI gate (:class:`Policy`, :func:`check`).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "separation": ["BandStat", "Validation", "validate"],
        "groups": ["validate_groups"],
        "baseline": ["validation_baseline"],
        "gate": ["Check", "GateResult", "Policy", "check", "read_policy"],
        "redbook": ["RedBook", "CsmJudgment", "red_book", "red_book_shares", "csm_judgment"],
    },
)
