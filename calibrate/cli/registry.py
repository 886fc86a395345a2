"""``calibrate register`` and ``calibrate promote``: the scorer in the MLflow model registry."""

from __future__ import annotations

import click

from calibrate.cli.options import cli, emit, json_option, mlflow_option


@cli.command()
@click.argument("config_file", metavar="CONFIG")
@mlflow_option
@json_option
def register(config_file: str, mlflow_dir: str | None, as_json: bool) -> int:
    """Register CONFIG's scorer as account-health-score, alias challenger."""
    from calibrate.publish.registry import register_scorer

    result = register_scorer(config_file, mlflow_dir=mlflow_dir)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0


@cli.command()
@click.argument("version", type=int, required=False)
@click.option("--rollback", is_flag=True, help="Move champion back to the version it replaced.")
@mlflow_option
@json_option
def promote(version: int | None, rollback: bool, mlflow_dir: str | None, as_json: bool) -> int:
    """Point alias champion at VERSION (default: the challenger), or back with --rollback."""
    from calibrate.publish.registry import promote as promote_version

    result = promote_version(version, rollback=rollback, mlflow_dir=mlflow_dir)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0
