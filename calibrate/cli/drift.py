"""``calibrate drift``: has the book moved away from the config's reference? (a CI gate)"""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, config_option, data_options, date_option, emit, json_option, policy_option,
                                   seed_option, spec_options, write_xlsx, xlsx_option)


@cli.command()
@data_options
@spec_options
@config_option("The config in production (with its drift reference).", required=True)
@date_option("--since", "First snapshot date of the new window (default: after the reference period).")
@click.option("--recent-periods", type=click.IntRange(min=1), default=2, show_default=True,
              help="Latest periods with known outcomes the weights are refitted on.")
@click.option("--no-refit", is_flag=True, help="Skip the weight refit (the slow part).")
@click.option("--fail-on", type=click.Choice(["recalibrate", "watch", "none"]), default="recalibrate",
              show_default=True,
              help="Exit 1 when the verdict reaches this level (none: always exit 0 once it ran).")
@policy_option
@seed_option
@json_option
@xlsx_option
def drift(
    data: str | None,
    query: str | None,
    spec_args: Any,
    config_file: str,
    since: str | None,
    recent_periods: int,
    no_refit: bool,
    fail_on: str,
    policy_file: str | None,
    seed: int,
    as_json: bool,
    xlsx_file: str | None,
) -> int:
    """Population, performance and weight drift against the config's reference: ok, watch or recalibrate.

    Exit 1 when the verdict reaches --fail-on (default: recalibrate).
    """
    from calibrate.cli.options import data_source, load_scored, loaded
    from calibrate.config.model import read_config
    from calibrate.drift.detect import detect_drift, load_drift_data
    from calibrate.drift.policy import VERDICTS, read_drift_policy
    from calibrate.report.xlsx import drift_tables

    policy = read_drift_policy(policy_file) if policy_file else None  # a bad policy fails before any work
    config = read_config(config_file)
    through_spec = load_scored(data, query, spec_args, config, allow_pending=True, require_outcome=False)
    if through_spec is not None:
        accounts, config = through_spec
    else:
        accounts = loaded(load_drift_data(data_source(data), config, query=query))
    report = detect_drift(accounts, config, since=since, recent_periods=recent_periods, weight_drift=not no_refit,
                          seed=seed, policy=policy)
    write_xlsx(xlsx_file, drift_tables(report))
    emit(report.to_dict(), report.summary(), as_json=as_json)
    if fail_on != "none" and VERDICTS.index(report.verdict) >= VERDICTS.index(fail_on):
        return 1
    return 0
