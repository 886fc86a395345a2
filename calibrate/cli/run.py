"""``calibrate run``: the quarterly recalibration."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, current_option, data_options, dims_option, emit, json_option, load_training,
    publish_options, quiet_option, read_optional_config, seed_option, segment_options, spec_options)


@cli.command()
@data_options
@spec_options
@dims_option
@current_option
@seed_option
@publish_options
@segment_options
@json_option
@quiet_option
@click.option("--pdf", is_flag=True, help="Also print the report to report.pdf (needs Chromium on PATH).")
def run(
    data: str | None,
    query: str | None,
    spec_args: Any,
    dimensions: str | None,
    current: str | None,
    seed: int,
    n_boot: int,
    train_until: str | None,
    configs_dir: str | None,
    reports_dir: str | None,
    mlflow_dir: str | None,
    by_segment: str | None,
    pooling: str,
    as_json: bool,
    quiet: bool,
    pdf: bool,
) -> int:
    """The quarterly recalibration: fit, validate, publish a config, write the report, log to MLflow.

    Exit 1 (after publishing) when the new score no longer separates renewals.
    """
    from calibrate import _progress as progress
    from calibrate.pipeline import recalibrate

    progress.set_quiet(quiet)
    accounts, raw_input = load_training(data, dimensions, query, spec_args, train_until)
    current_cfg = read_optional_config(current)
    # through a spec the sub-scores are healthy-oriented: fitted as higher-is-healthier, whatever the current config says
    fit_options = None if raw_input is None else {"directions": {d: "higher_is_healthier" for d in accounts.dimensions}}
    result = recalibrate(
        accounts, current=current_cfg, seed=seed, n_boot=n_boot, train_until=train_until,
        configs_dir=configs_dir, reports_dir=reports_dir, mlflow_dir=mlflow_dir, fit_options=fit_options,
        raw_input=raw_input, by_segment=by_segment, pooling=pooling,
    )
    if pdf:
        from calibrate.report.html import write_pdf

        if write_pdf(result.report_path) is None:
            click.echo("calibrate: --pdf: Chromium not found on PATH; only the HTML report was written", err=True)
    emit(result.to_dict(), result.summary(), as_json=as_json, quiet=quiet)
    return 0 if result.predictive else 1
