"""The ``calibrate`` command: a thin layer over the Python API.

This module holds the group, the shared options and the error boundary; each command lives in
a module of :mod:`calibrate.commands` (one per stage) and holds no logic of its own.

Exit codes (contract.md §3): 0 ran and every check holds; 1 ran and a check failed; 2 could not
run (bad usage, input or config — message on stderr, nothing written). One error boundary,
:func:`main`, maps :class:`~calibrate.errors.CalibrateError` to 2; a real bug keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from calibrate.errors import CalibrateError

__all__ = ["cli", "main"]


def bundled_data_path() -> Path:
    """The sample history shipped inside the package (a copy of ``data/cs_book.csv``)."""
    return Path(__file__).parent / "datasets" / "data" / "cs_book.csv"


def emit(payload: dict[str, Any], text: str, *, as_json: bool, quiet: bool = False) -> None:
    """``--json``: one JSON object on stdout; otherwise the human text on stdout (unless quiet)."""
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
    elif not quiet:
        click.echo(text)


def load_data(data: str | None, dimensions: str | None, query: str | None = None, **spec: Any) -> Any:
    """Load ``--data`` (the bundled history when omitted) with the ``--dimensions`` mapping."""
    from calibrate.load import DEFAULT_DIMENSIONS, DataSpec, load_accounts

    dims = tuple(d.strip() for d in dimensions.split(",")) if dimensions else DEFAULT_DIMENSIONS
    source = data if data is not None else str(bundled_data_path())
    return load_accounts(source, spec=DataSpec(dimensions=dims, **spec), query=query)


def read_current(path: str | None) -> Any:
    """Read ``--current`` (or ``--config``) if given."""
    from calibrate.config import read_config

    return read_config(path) if path else None


data_option = click.option("--data", "data", metavar="PATH|URL", help="CSV, Parquet or database URL (default: bundled sample history).")
query_option = click.option("--query", metavar="SQL", help="SELECT to run when --data is a database URL.")
dims_option = click.option("--dimensions", metavar="A,B,C", help="Dimension columns (default usage,engagement,support,commercial).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Seed of every resampling step.")


def publish_options(command: Any) -> Any:
    """The options of every command that publishes a config (``run``, ``fit``): bootstrap size, training
    cut-off and the configs/reports/MLflow directories."""
    for option in reversed([
        click.option("--n-boot", type=click.IntRange(min=200), default=2000, show_default=True, help="Bootstrap resamples."),
        click.option("--train-until", metavar="DATE", help="Fit on snapshots up to this date only."),
        click.option("--configs", "configs_dir", metavar="DIR", help="Config directory [env CALIBRATE_CONFIGS or ./configs]."),
        click.option("--reports", "reports_dir", metavar="DIR", help="Report directory [env CALIBRATE_REPORTS or ./reports]."),
        click.option("--mlflow", "mlflow_dir", metavar="DIR", help="MLflow store directory [env CALIBRATE_MLFLOW or ./mlflow]."),
    ]):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calibrate")
def cli() -> None:
    """Check that an account health score predicts renewals, and retune it when it stops."""


def _register_commands() -> None:
    """Import every module of :mod:`calibrate.commands`; each adds its commands to :data:`cli`."""
    import importlib
    import pkgutil

    from calibrate import commands

    for module in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
        importlib.import_module(f"calibrate.commands.{module}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: runs :data:`cli` and maps errors to exit codes."""
    _register_commands()
    try:
        code = cli.main(args=argv, prog_name="calibrate", standalone_mode=False)
    except CalibrateError as exc:
        click.echo(f"calibrate: error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("calibrate: aborted", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
