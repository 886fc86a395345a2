"""``calibrate validate`` (the tables) and ``calibrate check`` (the CI gate)."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, policy_option, config_option, data_options, date_option, emit, engine_options,
    json_option, min_spread_option, n_boot_option, seed_option, spec_options, write_xlsx, xlsx_option)


def load_validation_data(data: str, query: str | None, config_file: str, spec_args: Any = None) -> tuple[Any, Any]:
    """``--data`` loaded with the config's columns, or through the spec (pending renewals kept apart), and the config
    that scores it (what ``validate``, ``check`` and ``explore`` read)."""
    from calibrate.cli.options import load_scored, loaded
    from calibrate.config.model import read_config
    from calibrate.publish.export import scoring_spec
    from calibrate.data.load import load_accounts

    cfg = read_config(config_file)
    through_spec = load_scored(data, query, spec_args, cfg, allow_pending=True)
    if through_spec is not None:
        return through_spec
    return loaded(load_accounts(data, spec=scoring_spec(cfg), query=query, allow_pending=True)), cfg


def _validation(data: str, query: str | None, config_file: str, by: str | None, as_of: str | None,
                n_boot: int, seed: int, spec_args: Any = None, engine_args: Any = None) -> Any:
    """Load ``--data`` (:func:`load_validation_data`) and validate it — or validate it where it is (``--engine``)."""
    from calibrate.validation.separation import validate

    if engine_args is not None:
        engine_args.refuse()
    if engine_args is not None and engine_args.on_engine:
        return _validation_on_engine(data, query, config_file, by, as_of, n_boot, seed, spec_args, engine_args)
    accounts, cfg = load_validation_data(data, query, config_file, spec_args)
    return validate(accounts, cfg, n_boot=n_boot, seed=seed, as_of=as_of, by=by)


def _validation_on_engine(data: Any, query: str | None, config_file: str, by: str | None, as_of: str | None,
                          n_boot: int, seed: int, spec_args: Any, engine_args: Any) -> Any:
    """``validate``/``check --engine duckdb|spark``: the data contract and the figures as aggregate queries."""
    from calibrate.config.model import read_config
    from calibrate.publish.export import scoring_spec
    from calibrate.validation.engine import validate_on_engine

    engine_args.refuse_sources(data, query, spec_args)
    cfg = read_config(config_file)
    raw = [d.name for d in cfg.dimensions if d.transform is not None]
    engine = engine_args.open(data, spec=scoring_spec(cfg), raw=raw, allow_pending=True)
    try:
        return validate_on_engine(engine, cfg, n_boot=n_boot, seed=seed, as_of=as_of, by=by)
    finally:
        engine.close()


def _common(f: Any) -> Any:
    for option in reversed([
        data_options(required=True, help="Accounts with outcomes (CSV, Parquet or database URL)."),
        spec_options,
        config_option("The weight config to validate.", required=True),
        date_option("--as-of", "The data's as-of date: renewals after it are pending, not outcomes."),
        n_boot_option,
        seed_option,
        json_option,
        engine_options,
    ]):
        f = option(f)
    return f


@cli.command("validate")
@_common
@click.option("--by", type=click.Choice(["segment", "period"]), help="Also validate each segment / snapshot quarter.")
@xlsx_option
def validate_command(data: str, query: str | None, spec_args: Any, config_file: str, as_of: str | None, n_boot: int, seed: int,
                     as_json: bool, engine_args: Any, by: str | None, xlsx_file: str | None) -> int:
    """Band renewal rates, spread, AUC, calibration, red book: does the score separate renewals?"""
    from calibrate.report.xlsx import validation_tables

    result = _validation(data, query, config_file, by, as_of, n_boot, seed, spec_args, engine_args)
    write_xlsx(xlsx_file, validation_tables(result))
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0


@cli.command("check")
@_common
@min_spread_option
@click.option("--min-auc", type=float, help="AUC's interval must reach this.")
@click.option("--min-red-multiple", type=float, help="Red churn / base churn must reach this.")
@click.option("--require-monotone/--no-require-monotone", default=None,
              help="No separated fall of renewal rate across bands (default on, or the --policy value).")
@click.option("--max-trend-p", type=float, help="One-sided trend test p-value at most this (default 0.05).")
@click.option("--max-red-share", type=float, help="Share of the book in red or below at most this (blocking; above the 0.10 guideline the check warns).")
@policy_option
@click.option("--junit", "junit_file", metavar="FILE", help="Write JUnit XML, one test case per check.")
@click.option("--allow-inconclusive", is_flag=True, default=None, help="Let checks with too few accounts to decide pass.")
def check_command(data: str, query: str | None, spec_args: Any, config_file: str, as_of: str | None, n_boot: int, seed: int,
                  as_json: bool, engine_args: Any, min_spread: float | None, min_auc: float | None, min_red_multiple: float | None,
                  require_monotone: bool | None, max_trend_p: float | None, max_red_share: float | None,
                  policy_file: str | None, junit_file: str | None, allow_inconclusive: bool | None) -> int:
    """The CI gate: exit 0 when every check holds, 1 when one fails (named with value and threshold)."""
    from calibrate.validation.gate import check, read_policy

    policy = read_policy(policy_file) if policy_file else None  # a bad policy fails before any work
    result = check(
        _validation(data, query, config_file, None, as_of, n_boot, seed, spec_args, engine_args), policy,
        min_spread=min_spread, min_auc=min_auc, min_red_multiple=min_red_multiple,
        require_monotone=require_monotone, max_trend_p=max_trend_p, max_red_share=max_red_share,
        allow_inconclusive=allow_inconclusive,
    )
    if junit_file:
        result.write_junit(junit_file)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    if as_json:  # the human lines of failed and warned checks, where a CI log shows them
        for c in (*result.failed, *result.warnings):
            click.echo(f"calibrate check: {c.status}: {c.name}: {c.message}", err=True)
    return 0 if result.passed else 1
