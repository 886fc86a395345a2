"""``calibrate tune-bands``: band cut-points that separate renewals best under a red-capacity limit."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import cli, config_option, data_options, emit, json_option, spec_options


@cli.command("tune-bands")
@data_options
@spec_options
@config_option("The config whose score and bands are tuned (its band names and colours are kept).", required=True)
@click.option("--red-capacity", "max_red_share", type=click.FloatRange(0, 1), default=0.10, show_default=True,
              help="The most of the snapshots at or below the red band (what the CS team can work).")
@click.option("--min-band-share", "min_share", type=click.FloatRange(0, 1), default=0.02, show_default=True,
              help="The least of the snapshots in every band.")
@click.option("--step", type=click.FloatRange(0, 100, min_open=True), default=1.0, show_default=True,
              help="Grid of candidate cut-points, in score points.")
@json_option
def tune_bands_command(data: str | None, query: str | None, spec_args: Any, config_file: str, max_red_share: float,
                       min_share: float, step: float, as_json: bool) -> int:
    """Cut-points that separate renewals best with at most --red-capacity of the book red (nothing is written)."""
    from calibrate.cli.options import data_source, load_scored, loaded
    from calibrate.config.model import read_config
    from calibrate.data.load import load_accounts
    from calibrate.fit.bands import tune_bands
    from calibrate.publish.export import scoring_spec
    from calibrate.report.text import bands_text
    from calibrate.score.scorer import score_frame

    cfg = read_config(config_file)
    through_spec = load_scored(data, query, spec_args, cfg)
    accounts, cfg = through_spec if through_spec is not None else (
        loaded(load_accounts(data_source(data), spec=scoring_spec(cfg), query=query)), cfg)
    score = score_frame(accounts.frame, cfg, contributions=False, by="name")["score"].to_numpy()
    renewed = accounts.frame["renewed"].to_numpy(dtype=float)
    tuned = tune_bands(score, renewed, cfg.bands, red_band=cfg.red_band, min_share=min_share,
                       max_red_share=max_red_share, step=step)
    payload = {"bands": [b.model_dump(mode="json") for b in tuned],
               "current": [b.model_dump(mode="json") for b in cfg.bands],
               "red_band": cfg.red_band, "max_red_share": max_red_share, "min_share": min_share, "step": step}
    emit(payload, bands_text(cfg.bands, tuned, score, renewed, red_band=cfg.red_band, max_red_share=max_red_share),
         as_json=as_json)
    return 0
