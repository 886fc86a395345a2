"""``calibrate fit``: fit weights with a chosen method and options, and publish a config like ``run``."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, current_option, data_options, dims_option, json_option, load_data,
    publish_options, quiet_option, read_optional_config, seed_option)
from calibrate.cli.run import announce_root, dry_run_option, report_run


def _weight_spec(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``0.05`` (every dimension) or ``usage=0.3,support=0.1`` (named dimensions)."""
    if value is None:
        return None
    try:
        if "=" not in value:
            return float(value)
        return {k.strip(): float(v) for k, v in (item.split("=", 1) for item in value.split(","))}
    except ValueError:
        raise click.BadParameter(f"expected a number or NAME=X[,NAME=X...]; got {value!r}") from None


def _stability(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None or value == "auto":
        return value
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter(f"expected 'auto' or a number >= 0; got {value!r}") from None


@cli.command()
@data_options
@dims_option
@click.option("--method", type=click.Choice(["simplex", "logit"]), default="simplex", show_default=True,
              help="Constrained maximum likelihood on the simplex, or logistic regression with a coefficient table.")
@click.option("--floor", callback=_weight_spec, metavar="X|NAME=X,...", help="Least weight per dimension (logit: the on-negative floor weight).")
@click.option("--cap", callback=_weight_spec, metavar="X|NAME=X,...", help="Most weight per dimension (simplex).")
@click.option("--fixed", callback=_weight_spec, metavar="NAME=X,...", help="Weights to keep as given (simplex).")
@click.option("--on-negative", type=click.Choice(["drop", "invert", "floor"]), default="drop", show_default=True,
              help="Logit: what a dimension with a negative coefficient becomes.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="Logit: flag coefficients with p above this.")
@click.option("--penalty", type=click.Choice(["l1", "l2"]), help="Logit: regularise, strength by account-grouped CV.")
@current_option
@click.option("--stability", callback=_stability, metavar="auto|LAMBDA", help="Pull toward --current weights (simplex).")
@seed_option
@publish_options
@dry_run_option
@json_option
@quiet_option
def fit(
    data: str | None,
    query: str | None,
    dimensions: str | None,
    method: str,
    floor: Any,
    cap: Any,
    fixed: Any,
    on_negative: str,
    alpha: float,
    penalty: str | None,
    current: str | None,
    stability: Any,
    seed: int,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    **publish: Any,
) -> int:
    """Fit the weights (simplex or logit, with floors, caps, fixed weights, stability) and publish a config.

    Nothing is published when the result equals the latest version ("identical to vN"). Exit 1
    (after publishing) when the new score no longer separates renewals.
    """
    from calibrate import _progress as progress
    from calibrate.pipeline import recalibrate

    progress.set_quiet(quiet)
    announce_root(quiet, publish["configs_dir"], publish["reports_dir"], publish["mlflow_dir"])
    accounts = load_data(data, dimensions, query=query)
    cfg = read_optional_config(current)
    options: dict[str, Any] = {"method": method, "floor": floor, "cap": cap, "fixed": fixed, "seed": seed}
    if method == "logit":
        options |= {"on_negative": on_negative, "alpha": alpha, "penalty": penalty}
    if stability is not None:
        options |= {"stability": stability, "current": cfg}
    # publish: n_boot, train_until and the configs/reports/mlflow directories, as for `calibrate run`
    result = recalibrate(accounts, current=cfg, seed=seed, fit_options=options, command="fit", dry_run=dry_run,
                         **publish)
    payload = result.to_dict() | {"fit": result.fit.to_dict()}
    return report_run(result, payload, result.fit.summary() + "\n" + result.summary(), as_json=as_json, quiet=quiet)
