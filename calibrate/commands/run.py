"""``calibrate run``: the quarterly recalibration."""

from __future__ import annotations

import click

from calibrate.cli import (
    cli,
    data_option,
    dims_option,
    emit,
    json_option,
    load_data,
    query_option,
    read_current,
    seed_option,
)


@cli.command()
@data_option
@query_option
@dims_option
@click.option("--current", metavar="CONFIG", help="The config in production, to compare with and inherit bands from.")
@seed_option
@click.option("--n-boot", type=click.IntRange(min=200), default=2000, show_default=True, help="Bootstrap resamples.")
@click.option("--train-until", metavar="DATE", help="Fit on snapshots up to this date only.")
@click.option("--configs", "configs_dir", metavar="DIR", help="Config directory [env CALIBRATE_CONFIGS or ./configs].")
@click.option("--reports", "reports_dir", metavar="DIR", help="Report directory [env CALIBRATE_REPORTS or ./reports].")
@click.option("--mlflow", "mlflow_dir", metavar="DIR", help="MLflow store directory [env CALIBRATE_MLFLOW or ./mlflow].")
@json_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (and --json); no progress on stderr.")
@click.option("--pdf", is_flag=True, help="Also print the report to report.pdf (needs Chromium on PATH).")
def run(
    data: str | None,
    query: str | None,
    dimensions: str | None,
    current: str | None,
    seed: int,
    n_boot: int,
    train_until: str | None,
    configs_dir: str | None,
    reports_dir: str | None,
    mlflow_dir: str | None,
    as_json: bool,
    quiet: bool,
    pdf: bool,
) -> int:
    """The quarterly recalibration: fit, validate, publish a config, write the report, log to MLflow."""
    from calibrate import progress
    from calibrate.recalibrate import recalibrate

    progress.set_quiet(quiet)
    accounts = load_data(data, dimensions, query=query)
    result = recalibrate(
        accounts, current=read_current(current), seed=seed, n_boot=n_boot, train_until=train_until,
        configs_dir=configs_dir, reports_dir=reports_dir, mlflow_dir=mlflow_dir,
    )
    if pdf:
        from calibrate.report import write_pdf

        if write_pdf(result.report_path) is None:
            click.echo("calibrate: --pdf: Chromium not found on PATH; only the HTML report was written", err=True)
    emit(result.to_dict(), result.summary(), as_json=as_json, quiet=quiet)
    return 0
