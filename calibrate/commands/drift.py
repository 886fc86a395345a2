"""``calibrate drift``: has the book moved away from the config's reference? (a CI gate)"""

from __future__ import annotations

import click

from calibrate.cli import cli, data_option, emit, json_option, query_option, seed_option


@cli.command()
@data_option
@query_option
@click.option("--config", "config_path", required=True, metavar="FILE", help="The config in production (with its drift reference).")
@click.option("--since", metavar="DATE", help="First snapshot date of the new window (default: after the reference period).")
@click.option("--recent-periods", type=click.IntRange(min=1), default=2, show_default=True,
              help="Latest periods with known outcomes the weights are refitted on.")
@click.option("--no-refit", is_flag=True, help="Skip the weight refit (the slow part).")
@click.option("--fail-on", type=click.Choice(["watch", "recalibrate"]), default=None,
              help="Exit 1 when the verdict reaches this level.")
@seed_option
@json_option
def drift(
    data: str | None,
    query: str | None,
    config_path: str,
    since: str | None,
    recent_periods: int,
    no_refit: bool,
    fail_on: str | None,
    seed: int,
    as_json: bool,
) -> int:
    """Population, performance and weight drift against the config's reference: ok, watch or recalibrate."""
    from calibrate.cli import bundled_data_path, read_current
    from calibrate.drift import VERDICTS, detect_drift, load_drift_data

    config = read_current(config_path)
    accounts = load_drift_data(data if data is not None else str(bundled_data_path()), config, query=query)
    report = detect_drift(accounts, config, since=since, recent_periods=recent_periods, weight_drift=not no_refit,
                          seed=seed)
    emit(report.to_dict(), report.summary(), as_json=as_json)
    if fail_on is not None and VERDICTS.index(report.verdict) >= VERDICTS.index(fail_on):
        return 1
    return 0
