"""The what-if explorer: a local page where weights and cut-points move and validation's figures follow.

Above the report and the pipeline, below the CLI (``calibrate explore``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "session": ["Explorer", "ExploreError"],
        "server": ["make_server"],
    },
)
