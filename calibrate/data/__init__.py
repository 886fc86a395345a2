"""Input: account snapshots read from files, frames and databases, checked against the data contract; raw-signal transforms; the bundled sample data sets.

``load`` reads and refuses bad data; ``sql`` reads a database query; ``transforms`` maps raw columns to 0–100
sub-scores; ``spec`` is the project spec (``calibrate.yaml``), ``spec_load`` reads a raw export through it and
``profile`` profiles an export's signals (``calibrate init``); ``datasets`` holds the bundled books; ``engines`` holds snapshots on DuckDB or Spark for aggregate queries. Depends on :mod:`calibrate.config` only.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["datasets"],
    submod_attrs={
        "load": ["Accounts", "DataSpec", "load_accounts", "DEFAULT_DIMENSIONS"],
        "sql": ["read_sql", "redact_url"],
        "engines": ["Engine", "open_engine"],
        "spec": ["Spec", "Signal", "Keys", "Outcome", "read_spec", "render_spec", "find_spec"],
        "spec_load": ["load_with_spec", "RawInput"],
        "profile": ["profile_export", "shape_test", "assess_signals"],
        "transforms": ["RawDimension", "RawSpec", "read_raw_spec", "fit_transform", "fit_transforms", "apply_spec", "attach_transforms"],
    },
)
