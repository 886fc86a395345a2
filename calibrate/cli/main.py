"""The ``calibrate`` console script: registers the commands and maps errors to exit codes.

Exit codes (contract.md §3): 0 ran and every check holds; 1 ran and a check failed; 2 could not
run (bad usage, input or config — message on stderr, nothing written). One error boundary,
:func:`main`, maps :class:`~calibrate.errors.CalibrateError` to 2; a real bug keeps its traceback.
Command modules import only click at start-up; each imports what it needs when it runs.
"""

from __future__ import annotations

import sys

import click

from calibrate.cli import compare, drift, export, fit, init, registry, run, systems, validate  # noqa: F401  (register commands)
from calibrate.cli.options import cli
from calibrate.errors import CalibrateError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: runs :data:`cli` and maps errors to exit codes."""
    try:
        code = cli.main(args=argv, prog_name="calibrate", standalone_mode=False)
    except CalibrateError as exc:
        click.echo(f"calibrate: error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("calibrate: aborted", err=True)
        sys.exit(2)
    except click.UsageError as exc:  # also BadParameter, NoSuchOption, MissingParameter
        where = exc.ctx.command_path if exc.ctx is not None else "calibrate"
        click.echo(f"calibrate: error: {exc.format_message()} (see {where} --help)", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"calibrate: error: {exc.format_message()}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
