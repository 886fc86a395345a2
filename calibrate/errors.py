"""The exceptions calibrate raises on purpose.

Every message is one line that says what is wrong, where (file, column, rows) and what to do.
The command line maps any :class:`CalibrateError` to exit code 2 ("could not run"); a failed
check is a value in a result, never an exception.

::

    CalibrateError
    ├── DataError            bad input data (file, column, rows)
    │   └── LeakageError     an outcome decided before the snapshot it is predicted from
    ├── ConfigError          a weight config that is malformed, tampered with or unknown
    │   └── VersionExistsError  an attempt to overwrite a published config version
    ├── FitError             the data cannot support a fit (separation, constant dimension, too few events)
    └── ParameterError       an option outside what it may be (also a ValueError, as in scikit-learn)
"""

from __future__ import annotations

__all__ = [
    "CalibrateError",
    "DataError",
    "LeakageError",
    "ConfigError",
    "VersionExistsError",
    "FitError",
    "ParameterError",
]


class CalibrateError(Exception):
    """Root of every error calibrate raises deliberately; the CLI exits 2 on it."""


class DataError(CalibrateError):
    """The account data cannot be used as given (missing column, bad values, empty file...)."""


class LeakageError(DataError):
    """A row's outcome was decided on or before the date its sub-scores were measured."""


class ConfigError(CalibrateError):
    """A weight config (or policy/spec file) is malformed, hand-edited, or of an unknown schema."""


class VersionExistsError(ConfigError):
    """The config version to publish already exists; published versions are immutable."""


class FitError(CalibrateError):
    """The data cannot support the requested fit; the message says what to change."""


class ParameterError(CalibrateError, ValueError):
    """An option of a public function is outside what it may be (:mod:`calibrate._params` words the message)."""
