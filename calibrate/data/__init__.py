"""Input: account snapshots read from files, frames and databases, checked against the data contract; raw-signal transforms; the bundled sample data sets.

``load`` reads and refuses bad data; ``sql`` reads a database query; ``transforms`` maps raw columns to 0–100
sub-scores; ``datasets`` holds the bundled books. Depends on :mod:`calibrate.config` only.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["datasets"],
    submod_attrs={
        "load": ["Accounts", "DataSpec", "load_accounts", "DEFAULT_DIMENSIONS"],
        "sql": ["read_sql", "redact_url"],
        "transforms": ["RawDimension", "RawSpec", "read_raw_spec", "fit_transform", "fit_transforms", "apply_spec", "attach_transforms"],
    },
)
