"""The weight config: the versioned, sealed JSON that every scorer reads (pydantic model, JSON Schema, read/write).

The lowest stage: it depends on nothing in calibrate but :mod:`calibrate.errors`.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "segments": ["SegmentWeights"],
        "model": ["Band", "Calibration", "Dimension", "Transform", "WeightConfig", "default_bands", "json_schema", "read_config", "write_config", "next_version", "config_path", "SCHEMA_VERSION"],
        "seal": ["check_seal", "read_document"],
    },
)
