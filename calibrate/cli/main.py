"""The ``calibrate`` console script: registers the commands and maps errors to exit codes.

Exit codes (contract.md §3): 0 ran and every check holds; 1 ran and a check failed; 2 could not
run — bad usage, input or config (a :class:`~calibrate.errors.CalibrateError` or a click usage
error), or the environment (an output that cannot be written, a missing optional dependency) — with
one line on stderr; 3 an internal error (a bug: one line, and the traceback with ``--debug``).
One error boundary, :func:`main`, does the mapping; no other code catches to exit.
Command modules import only click at start-up; each imports what it needs when it runs.
"""

from __future__ import annotations

import sys
import traceback

import click

from calibrate.cli import bands, compare, drift, explore, export, fit, init, registry, run, systems, validate  # noqa: F401  (register commands)
from calibrate.cli.options import cli, debug_requested, set_debug
from calibrate.errors import CalibrateError

__all__ = ["cli", "main"]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _environment(exc: BaseException) -> str | None:
    """The one-line message of an environment error (exit 2), or ``None`` for anything else (a bug)."""
    if isinstance(exc, ImportError):
        module = (exc.name or "").split(".")[0]
        if module and module != "calibrate":
            return (f"missing optional dependency {module!r} ({_first_line(exc)}); install it "
                    f"(pip install {module}) or reinstall calibrate")
        return None
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or _first_line(exc)
        return f"{where}{reason}; check the path, its permissions and the free disk space"
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: runs :data:`cli` and maps errors to exit codes (0/1/2/3)."""
    set_debug(False)
    try:
        code = cli.main(args=argv, prog_name="calibrate", standalone_mode=False)
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
    except Exception as exc:  # noqa: BLE001 - the one error boundary
        if debug_requested():
            traceback.print_exc(file=sys.stderr)
        if isinstance(exc, CalibrateError):
            click.echo(f"calibrate: error: {exc}", err=True)
            sys.exit(2)
        message = _environment(exc)
        if message is not None:
            click.echo(f"calibrate: error: {message}", err=True)
            sys.exit(2)
        click.echo(f"calibrate: internal error: {type(exc).__name__}: {_first_line(exc)} — rerun with --debug "
                   "for the traceback and report it", err=True)
        sys.exit(3)
    sys.exit(code if isinstance(code, int) else 0)
