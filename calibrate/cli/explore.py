"""``calibrate explore``: the what-if page, served on 127.0.0.1 until stopped."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import cli, config_option, data_options, n_boot_option, seed_option, spec_options


@cli.command()
@data_options(required=True, help="Accounts with outcomes (CSV, Parquet or database URL).")
@spec_options
@config_option("The weight config to start from (the migration matrix compares against it).", required=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--draft", "draft_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Where the page's button writes the draft config [default: <name>-draft.json here].")
@n_boot_option
@seed_option
def explore(data: str, query: str | None, spec_args: Any, config_file: str, port: int, draft_path: str | None,
            n_boot: int, seed: int) -> int:
    """Serve a local page to move the weights and band cut-points and see AUC, spread, bands, migration and red
    share live (computed by the same validation as calibrate validate, same --n-boot and --seed); runs until Ctrl-C.

    The page's button writes the chosen weights and cuts as a draft config; seal it with calibrate config publish.
    """
    from calibrate.cli.validate import load_validation_data
    from calibrate.explore.server import HOST, make_server
    from calibrate.explore.session import Explorer

    accounts, cfg = load_validation_data(data, query, config_file, spec_args)
    explorer = Explorer(accounts, cfg, n_boot=n_boot, seed=seed)
    explorer.evaluate({"weights": cfg.weights, "cuts": [b.min for b in cfg.bands[1:]]})  # the warm-up is paid here
    server = make_server(explorer, port=port, draft_path=draft_path or f"{cfg.name}-draft.json")
    click.echo(f"calibrate explore: http://{HOST}:{server.server_address[1]}/ (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("calibrate explore: stopped", err=True)
    finally:
        server.server_close()
    return 0
