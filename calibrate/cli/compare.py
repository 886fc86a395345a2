"""``calibrate compare``: the methods leaderboard and, with two configs, the adopt/keep recommendation."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, current_option, data_options, dims_option, emit, json_option, load_data,
    n_boot_option, read_optional_config, seed_option, spec_options, write_xlsx, xlsx_option)


@cli.command()
@data_options
@spec_options
@dims_option
@current_option
@click.option("--new", "new", metavar="CONFIG", help="The challenger config; needs --current, gives adopt/keep.")
@click.option("--scheme", type=click.Choice(["auto", "time", "group"]), default="auto", show_default=True,
              help="Out-of-time split, grouped K-fold by account, or auto (time when there are snapshot dates).")
@click.option("--folds", "k", type=click.IntRange(min=2), default=5, show_default=True, help="Grouped folds.")
@n_boot_option
@seed_option
@json_option
@xlsx_option
def compare(data: str | None, query: str | None, spec_args: Any, dimensions: str | None, current: str | None, new: str | None,
            scheme: str, k: int, n_boot: int, seed: int, as_json: bool, xlsx_file: str | None) -> int:
    """Compare weighting methods on held-out data; with --current and --new, say adopt or keep current."""
    from calibrate.compare.champion import champion_challenger
    from calibrate.fit.folds import validation_folds
    from calibrate.compare.methods import leaderboard
    from calibrate.report.xlsx import comparison_tables

    if new is not None and current is None:
        raise click.UsageError("--new needs --current (the config in production to compare it with)",
                               ctx=click.get_current_context())
    accounts = load_data(data, dimensions, query=query, spec_args=spec_args)
    current_cfg, new_cfg = read_optional_config(current), read_optional_config(new)
    # the same steps as calibrate.compare.champion.compare_with_current, which takes no --scheme/--folds yet
    folds = validation_folds(accounts, scheme=scheme, k=k, seed=seed)
    board = leaderboard(accounts, current=current_cfg, folds=folds, n_boot=n_boot, seed=seed)
    payload, text, cc = {"leaderboard": board.to_dict()}, board.summary(), None
    if current_cfg is not None and new_cfg is not None:
        cc = champion_challenger(accounts, new_cfg, current_cfg, folds=folds, n_boot=n_boot, seed=seed)
        payload["champion_challenger"] = cc.to_dict()
        text += "\n\n" + cc.summary()
    write_xlsx(xlsx_file, comparison_tables(board, cc))
    emit(payload, text, as_json=as_json)
    return 0
