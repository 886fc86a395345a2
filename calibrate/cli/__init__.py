"""The command line: ``calibrate <command>``, a thin layer over the same API the notebooks use.

:mod:`calibrate.cli.options` holds the group and the shared options, one module per command group
(``run``, ``fit``, ``validate`` …) holds its commands and no logic, and :mod:`calibrate.cli.main` is the
console script's entry point and error boundary.
"""

from calibrate.cli.main import cli, main

__all__ = ["cli", "main"]
