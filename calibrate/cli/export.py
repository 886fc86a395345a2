"""``calibrate config validate``, ``calibrate diff``, ``calibrate score`` and ``calibrate export-sql``."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, config_option, configs_option, data_options, emit, engine_options, json_option,
                                   spec_options)

@cli.group("config")
def config_group() -> None:
    """Inspect weight configs."""


@config_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
def config_validate(file: str, as_json: bool) -> int:
    """Check FILE against the schema and its seal (exit 0 valid, 2 with the reason: an unsealed draft too)."""
    from calibrate.config.model import read_config

    cfg = read_config(file)
    payload = {"valid": True, "path": file, "name": cfg.name, "version": cfg.version,
               "schema_version": cfg.schema_version, "content_hash": cfg.content_hash}
    emit(payload, f"{file}: valid {cfg.name} v{cfg.version}, schema {cfg.schema_version}, sealed", as_json=as_json)
    return 0


@config_group.command("publish")
@click.argument("file", type=click.Path(dir_okay=False))
@configs_option
@json_option
def config_publish(file: str, configs_dir: str | None, as_json: bool) -> int:
    """Publish FILE (e.g. today's hand-made score) as <name>-v<version>.json; never overwrites.

    The way to seal a draft (a config without content_hash): every other command refuses one.
    A FILE with version 0 gets the next version of the line; a FILE equal to the latest version
    (apart from the envelope) publishes nothing.
    """
    from calibrate.config.model import read_config
    from calibrate.publish.transaction import Stores, publish_config

    cfg = read_config(file, draft=True)
    path, status, notes = publish_config(cfg, Stores.resolve(configs_dir))
    for note in notes:
        click.echo(f"calibrate: {note}", err=True)
    version = int(path.stem.rsplit("-v", 1)[1])
    text = (f"published {cfg.name} v{version} -> {path}" if status == "published"
            else f"identical to v{version}; nothing published ({path})")
    emit({"path": str(path), "name": cfg.name, "version": version, "status": status}, text, as_json=as_json)
    return 0


@cli.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@data_options(help="Accounts to score with both configs: band migration and red book.")
@json_option
def diff(old: str, new: str, data: str | None, query: str | None, as_json: bool) -> int:
    """Weight and band changes from OLD to NEW; with --data, who moves between bands."""
    from calibrate.config.model import read_config
    from calibrate.publish.diff import diff_configs

    result = diff_configs(read_config(old), read_config(new), data=data, query=query)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0


@cli.command()
@data_options(required=True, help="Accounts to score (CSV, Parquet or database URL).")
@spec_options
@config_option("The weight config to score with.", required=True)
@click.option("--out", required=True, metavar="FILE", help="Output .csv or .parquet.")
@json_option
@engine_options
def score(data: str, query: str | None, spec_args: Any, config_file: str, out: str, as_json: bool,
          engine_args: Any) -> int:
    """Score accounts with a config: score, band, code, renewal probability and each dimension's contribution."""
    from calibrate.cli.options import load_scored
    from calibrate.config.model import read_config
    from calibrate.publish.export import output_path, score_accounts, write_scores

    output_path(out)
    engine_args.refuse()
    cfg = read_config(config_file)
    if engine_args.on_engine:
        from calibrate.publish.export import score_on_engine, scoring_spec

        engine_args.refuse_sources(data, query, spec_args)
        raw = [d.name for d in cfg.dimensions if d.transform is not None]
        engine = engine_args.open(data, spec=scoring_spec(cfg), raw=raw, require_outcome=False)
        try:
            path, n_rows, counts = score_on_engine(engine, cfg, out)
        finally:
            engine.close()
    else:
        through_spec = load_scored(data, query, spec_args, cfg, require_outcome=False)
        scores = (score_accounts(data, cfg, query=query) if through_spec is None
                  else score_accounts(through_spec[0], through_spec[1]))
        path, n_rows = write_scores(scores, out), len(scores)
        counts = scores["band"].value_counts()
    mix = counts.reindex(cfg.band_names, fill_value=0)
    payload = {"out": str(path), "rows": n_rows, "config": cfg.name, "version": cfg.version,
               "bands": {k: int(v) for k, v in mix.items()}}
    text = f"scored {n_rows:,} rows with {cfg.name} v{cfg.version} -> {path}\n" + "  ".join(
        f"{k} {v:,}" for k, v in payload["bands"].items())
    emit(payload, text, as_json=as_json)
    return 0


@cli.command("export-sql")
@config_option("The weight config.", required=True)
@click.option("--dialect", type=click.Choice(["duckdb", "postgres", "snowflake", "bigquery", "spark"]), default="duckdb",
              show_default=True)
@click.option("--table", default="accounts", show_default=True, help="Table or view to score (schema.table allowed).")
@click.option("--out", metavar="FILE", help="Write the SQL here instead of stdout.")
def export_sql_command(config_file: str, dialect: str, table: str, out: str | None) -> int:
    """Print a SELECT computing score, band and band code from the dimension columns."""
    from pathlib import Path

    from calibrate.config.model import atomic_write_text, read_config
    from calibrate.publish.export import export_sql

    sql = export_sql(read_config(config_file), dialect=dialect, table=table)  # type: ignore[arg-type]
    if out:
        atomic_write_text(Path(out), sql)
    else:
        click.echo(sql, nl=False)
    return 0
