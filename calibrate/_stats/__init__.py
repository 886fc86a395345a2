"""Statistical primitives (numpy / scipy only); being split into focused modules."""

from calibrate._stats.bootstrap import *  # noqa: F403
from calibrate._stats.bootstrap import __all__  # noqa: F401
