"""Drift: population (PSI/CSI, KS, Wasserstein), performance per period, trend, label-free estimate and weight drift, judged against a :class:`DriftPolicy`; the same on an engine (DuckDB, Spark) from aggregate queries.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "detect": ["DriftReport", "Finding", "detect_drift", "build_reference", "load_drift_data"],
        "policy": ["DriftPolicy", "read_drift_policy", "VERDICTS", "WEIGHT_BOOT_ACCOUNTS"],
        "engine": ["detect_drift_engine", "population_engine"],
    },
)
