"""``calibrate drift``: has the book moved away from the config's reference? (a CI gate)"""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, config_option, data_options, date_option, emit, engine_options, json_option,
                                   policy_option, seed_option, spec_options, write_xlsx, xlsx_option)


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
@engine_options
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
    engine_args: Any,
) -> int:
    """Population, performance and weight drift against the config's reference: ok, watch or recalibrate.

    Exit 1 when the verdict reaches --fail-on (default: recalibrate).
    """
    from calibrate.config.model import read_config
    from calibrate.drift.policy import VERDICTS, read_drift_policy
    from calibrate.report.xlsx import drift_tables

    engine_args.refuse()
    policy = read_drift_policy(policy_file) if policy_file else None  # a bad policy fails before any work
    config = read_config(config_file)
    if engine_args.on_engine:
        report = _drift_on_engine(engine_args, data, query, spec_args, config, since=since,
                                  recent_periods=recent_periods, weight_drift=not no_refit, seed=seed, policy=policy)
    else:
        report = _drift_in_memory(data, query, spec_args, config, since=since, recent_periods=recent_periods,
                                  weight_drift=not no_refit, seed=seed, policy=policy)
    write_xlsx(xlsx_file, drift_tables(report))
    emit(report.to_dict(), report.summary(), as_json=as_json)
    if fail_on != "none" and VERDICTS.index(report.verdict) >= VERDICTS.index(fail_on):
        return 1
    return 0


def _drift_in_memory(data: Any, query: str | None, spec_args: Any, config: Any, **options: Any) -> Any:
    """The rows loaded into pandas (through a spec when there is one) and :func:`~calibrate.drift.detect_drift`."""
    from calibrate.cli.options import data_source, load_scored, loaded
    from calibrate.drift.detect import detect_drift, load_drift_data

    through_spec = load_scored(data, query, spec_args, config, allow_pending=True, require_outcome=False)
    if through_spec is not None:
        accounts, config = through_spec
    else:
        accounts = loaded(load_drift_data(data_source(data), config, query=query))
    return detect_drift(accounts, config, **options)


def _drift_on_engine(engine_args: Any, data: Any, query: str | None, spec_args: Any, config: Any,
                     **options: Any) -> Any:
    """``drift --engine duckdb|spark``: the report from aggregate queries (:mod:`calibrate.drift.engine`)."""
    from calibrate.cli.options import data_source
    from calibrate.drift.engine import detect_drift_engine
    from calibrate.publish.export import scoring_spec

    engine_args.refuse_sources(data, query, spec_args)
    raw = [d.name for d in config.dimensions if d.transform is not None]
    # the outcome column is needed on engines (NULL = not decided yet); pandas also takes data without one
    engine = engine_args.open(data_source(data), spec=scoring_spec(config), raw=raw, allow_pending=True)
    try:
        return detect_drift_engine(engine, config, **options)
    finally:
        engine.close()
