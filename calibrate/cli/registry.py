"""``calibrate register``, ``calibrate promote`` and ``calibrate status``: the scorer in the MLflow model registry."""

from __future__ import annotations

import click

from calibrate.cli.options import cli, configs_option, emit, json_option, mlflow_option, name_option, reports_option


@cli.command()
@click.argument("config_file", metavar="CONFIG")
@mlflow_option
@json_option
def register(config_file: str, mlflow_dir: str | None, as_json: bool) -> int:
    """Register CONFIG's scorer as account-health-score, alias challenger."""
    from calibrate.publish.registry import register_scorer
    from calibrate.publish.transaction import Stores

    store = Stores.resolve(mlflow=mlflow_dir).mlflow
    result = register_scorer(config_file, mlflow_dir=store)
    emit(result.to_dict() | {"mlflow_dir": str(store)}, f"{result.summary()}\nmlflow:  {store}", as_json=as_json)
    return 0


@cli.command()
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
              help="Config version to make champion (default: the challenger).")
@click.option("--rollback", is_flag=True, help="Move champion back to the previous champion.")
@name_option
@mlflow_option
@json_option
def promote(version: int | None, rollback: bool, name: str | None, mlflow_dir: str | None, as_json: bool) -> int:
    """Make config version N the champion (default: the challenger), or go back with --rollback."""
    from calibrate.publish.registry import promote as promote_version
    from calibrate.publish.transaction import Stores

    store = Stores.resolve(mlflow=mlflow_dir).mlflow
    result = promote_version(version, rollback=rollback, name=name, mlflow_dir=store)
    emit(result.to_dict() | {"mlflow_dir": str(store)}, f"{result.summary()}\nmlflow:  {store}", as_json=as_json)
    return 0


@cli.command()
@name_option
@configs_option
@reports_option
@mlflow_option
@json_option
def status(name: str | None, configs_dir: str | None, reports_dir: str | None, mlflow_dir: str | None, as_json: bool) -> int:
    """Champion, challenger, the version line and the last decision (cleans up an interrupted publish)."""
    from calibrate.config.model import published_names
    from calibrate.publish.status import project_status
    from calibrate.publish.transaction import Stores

    stores = Stores.resolve(configs_dir, reports_dir, mlflow_dir)
    if name is None:  # the one config name in the store, else the default name
        names = published_names(stores.configs)
        name = names[0] if len(names) == 1 else "account-health"
    result = project_status(stores, name=name)
    for note in result.notes:
        click.echo(f"calibrate: {note}", err=True)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0
