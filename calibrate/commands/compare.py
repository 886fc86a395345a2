"""``calibrate compare``: the methods leaderboard and, with two configs, the adopt/keep recommendation."""

from __future__ import annotations

import click

from calibrate.cli import cli, data_option, dims_option, emit, json_option, load_data, read_current, seed_option


@cli.command()
@data_option
@dims_option
@click.option("--current", metavar="CONFIG", help="The config in production (adds its row and the champion).")
@click.option("--new", "new", metavar="CONFIG", help="The challenger config; with --current gives adopt/keep.")
@click.option("--scheme", type=click.Choice(["auto", "time", "group"]), default="auto", show_default=True,
              help="Out-of-time split, grouped K-fold by account, or auto (time when there are snapshot dates).")
@click.option("--folds", "k", type=click.IntRange(min=2), default=5, show_default=True, help="Grouped folds.")
@click.option("--n-boot", type=click.IntRange(min=200), default=1000, show_default=True, help="Bootstrap resamples.")
@seed_option
@json_option
def compare(data: str | None, dimensions: str | None, current: str | None, new: str | None, scheme: str, k: int,
            n_boot: int, seed: int, as_json: bool) -> int:
    """Compare weighting methods on held-out data; with --current and --new, say adopt or keep current."""
    from calibrate.compare import champion_challenger
    from calibrate.folds import validation_folds
    from calibrate.leaderboard import leaderboard

    accounts = load_data(data, dimensions)
    current_cfg, new_cfg = read_current(current), read_current(new)
    folds = validation_folds(accounts, scheme=scheme, k=k, seed=seed)
    board = leaderboard(accounts, current=current_cfg, folds=folds, n_boot=n_boot, seed=seed)
    payload, text = {"leaderboard": board.to_dict()}, board.summary()
    if current_cfg is not None and new_cfg is not None:
        cc = champion_challenger(accounts, new_cfg, current_cfg, folds=folds, n_boot=n_boot, seed=seed)
        payload["champion_challenger"] = cc.to_dict()
        text += "\n\n" + cc.summary()
    emit(payload, text, as_json=as_json)
    return 0
