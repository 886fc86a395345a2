"""``calibrate run``: the quarterly recalibration."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, current_option, data_options, dims_option, emit, engine_options, json_option,
    load_training, publish_options, quiet_option, read_optional_config, seed_option, segment_options, spec_options)

dry_run_option = click.option("--dry-run", is_flag=True,
                              help="Compute and print what would be published; write nothing.")


def root_notice(configs_dir: str | None, reports_dir: str | None, mlflow_dir: str | None) -> str | None:
    """The notice a first run without calibrate.yaml prints once it has published (the stores do not exist yet)."""
    from calibrate.publish.project import first_run_notice
    from calibrate.publish.transaction import Stores

    stores = Stores.resolve(configs_dir, reports_dir, mlflow_dir)
    return first_run_notice(stores.configs, stores.reports, stores.mlflow)


def report_run(result: Any, payload: dict[str, Any], text: str, *, as_json: bool, quiet: bool,
               notice: str | None = None) -> int:
    """Print what a run/fit cleaned up and, after a first publish, where the project root is (stderr, unless
    ``--quiet``/``--json``), then its result; exit 0 when the score separates renewals, else 1."""
    notes = [*result.notes, *([notice] if notice and result.status == "published" else [])]
    if as_json:
        payload = payload | {"notes": notes}  # --json: stdout is the one JSON object, stderr stays silent
    elif not quiet:
        for note in notes:
            click.echo(f"calibrate: {note}", err=True)
    emit(payload, text, as_json=as_json, quiet=quiet)
    return 0 if result.predictive else 1


@cli.command()
@data_options
@spec_options
@dims_option
@current_option
@seed_option
@publish_options
@segment_options
@dry_run_option
@json_option
@quiet_option
@click.option("--include-accounts", is_flag=True,
              help="The report also lists the red accounts to act on (account rows; a banner says so).")
@click.option("--verbose", is_flag=True, help="Add the statistical detail (every test, leaderboard, drift tables).")
@click.option("--pdf", is_flag=True, help="Also print the report to report.pdf (needs Chromium on PATH).")
@click.option("--learned-rows", is_flag=True,
              help="Also put the rows that judge the sub-scores on the leaderboard: free logit, learned sub-scores, "
                   "additive ceiling (as `calibrate fit` and `calibrate compare` do; slower).")
@engine_options
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
    pooling: str | None,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    include_accounts: bool,
    verbose: bool,
    pdf: bool,
    learned_rows: bool,
    engine_args: Any,
) -> int:
    """The quarterly recalibration: fit, validate, publish a config, write the report, log to MLflow.

    Nothing is published when the result equals the latest version ("identical to vN"). Exit 1
    (after publishing) when the new score no longer separates renewals.
    """
    from calibrate import _progress as progress
    from calibrate.pipeline import recalibrate

    progress.set_quiet(quiet)
    engine_args.refuse()
    if engine_args.on_engine:
        from calibrate.errors import ParameterError

        raise ParameterError(f"run --engine {engine_args.name}: the quarterly run (report, leaderboard, published "
                             f"config) needs the rows in memory; use --engine pandas, or on the engine `fit --engine "
                             f"{engine_args.name} --dry-run`, `validate` and `drift`")
    notice = root_notice(configs_dir, reports_dir, mlflow_dir)
    accounts, raw_input = load_training(data, dimensions, query, spec_args, train_until)
    # through a spec the sub-scores are healthy-oriented: fitted as higher-is-healthier, whatever the current config says
    fit_options = None if raw_input is None else {"directions": {d: "higher_is_healthier" for d in accounts.dimensions}}
    result = recalibrate(
        accounts, current=read_optional_config(current), seed=seed, n_boot=n_boot, train_until=train_until,
        configs_dir=configs_dir, reports_dir=reports_dir, mlflow_dir=mlflow_dir, fit_options=fit_options,
        raw_input=raw_input, dry_run=dry_run, include_accounts=include_accounts, by_segment=by_segment, pooling=pooling,
        learned_rows=learned_rows,
    )
    if pdf and result.status == "published" and result.report_path is not None:
        from calibrate.report.html import write_pdf

        if write_pdf(result.report_path) is None:
            click.echo("calibrate: --pdf: Chromium not found on PATH; only the HTML report was written", err=True)
    return report_run(result, result.to_dict(), result.summary(verbose=verbose), as_json=as_json, quiet=quiet,
                      notice=notice)
