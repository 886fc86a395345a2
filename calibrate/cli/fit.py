"""``calibrate fit``: fit weights with a chosen method and options, and publish a config like ``run``."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import (cli, current_option, data_options, dims_option, engine_options, json_option,
    load_training, publish_options, quiet_option, read_optional_config, seed_option, segment_options, spec_options)
from calibrate.cli.run import dry_run_option, report_run, root_notice


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
@spec_options
@dims_option
@click.option("--orient", type=click.Choice(["spec", "auto"]), default="spec", show_default=True,
              help="auto: flip a dimension that points the wrong way (significant reverse association), recorded "
                   "in the config's provenance; spec: keep the declared directions.")
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
@click.option("--weight-by", type=click.Choice(["arr"]),
              help="Weight each row by this column (arr: fit the renewal of revenue, not of accounts; simplex).")
@current_option
@click.option("--stability", callback=_stability, metavar="auto|LAMBDA", help="Pull toward --current weights (simplex).")
@seed_option
@publish_options
@segment_options
@dry_run_option
@json_option
@quiet_option
@engine_options
def fit(
    data: str | None,
    query: str | None,
    spec_args: Any,
    dimensions: str | None,
    orient: str,
    method: str,
    floor: Any,
    cap: Any,
    fixed: Any,
    on_negative: str,
    alpha: float,
    penalty: str | None,
    weight_by: str | None,
    current: str | None,
    stability: Any,
    seed: int,
    dry_run: bool,
    as_json: bool,
    quiet: bool,
    engine_args: Any,
    **publish: Any,
) -> int:
    """Fit the weights (simplex or logit, with floors, caps, fixed weights, stability) and publish a config.

    Nothing is published when the result equals the latest version ("identical to vN"). Exit 1
    (after publishing) when the new score no longer separates renewals.
    """
    from calibrate import _progress as progress
    from calibrate.pipeline import recalibrate

    progress.set_quiet(quiet)
    engine_args.refuse()
    if engine_args.on_engine:
        return _fit_on_engine(engine_args, data, query, spec_args, dimensions, orient=orient, method=method,
                              floor=floor, cap=cap, fixed=fixed, on_negative=on_negative, penalty=penalty,
                              weight_by=weight_by, current=current, stability=stability, seed=seed, dry_run=dry_run,
                              as_json=as_json, quiet=quiet, publish=publish)
    notice = root_notice(publish["configs_dir"], publish["reports_dir"], publish["mlflow_dir"])
    accounts, raw_input = load_training(data, dimensions, query, spec_args, publish["train_until"])
    cfg = read_optional_config(current)
    accounts, directions, checks, raw_input = _orient(accounts, raw_input, cfg, orient, publish["train_until"], seed)
    options: dict[str, Any] = {"method": method, "floor": floor, "cap": cap, "fixed": fixed, "seed": seed}
    if weight_by is not None:
        options["weight_by"] = weight_by
    if raw_input is not None:  # a spec's healthy-oriented sub-scores, or --orient auto's flips
        options["directions"] = directions
    if method == "logit":
        options |= {"on_negative": on_negative, "alpha": alpha, "penalty": penalty}
    if stability is not None:
        options |= {"stability": stability, "current": cfg}
    # publish: n_boot, train_until, the configs/reports/mlflow directories and by_segment/pooling, as for `calibrate run`
    result = recalibrate(accounts, current=cfg, seed=seed, fit_options=options, command="fit", raw_input=raw_input,
                         dry_run=dry_run, learned_rows=True, **publish)
    payload = result.to_dict() | {"fit": result.fit.to_dict(), "signals": [c.to_dict() for c in checks]}
    text = result.summary() + "\n\n" + result.fit.summary() + "\n" + _signals_text(checks, raw_input)
    if method == "logit":  # the coefficient table (SE, interval, p, odds ratio per 10 points) an analyst reads
        from calibrate.fit.logit import fit_logit
        from calibrate.report.text import coefficient_text

        logit = fit_logit(accounts, train_until=publish["train_until"], directions=options.get("directions"),
                          on_negative=on_negative, alpha=alpha, floor=floor, penalty=penalty, seed=seed)
        payload["coefficients"] = logit.to_dict()["coefficients"]
        text += "\n" + coefficient_text(logit)
    return report_run(result, payload, text, as_json=as_json, quiet=quiet, notice=notice)


def _fit_on_engine(engine_args: Any, data: Any, query: str | None, spec_args: Any, dimensions: str | None, *,
                   orient: str, method: str, floor: Any, cap: Any, fixed: Any, on_negative: str, penalty: str | None,
                   weight_by: str | None, current: str | None, stability: Any, seed: int, dry_run: bool,
                   as_json: bool, quiet: bool, publish: dict[str, Any]) -> int:
    """``fit --engine duckdb|spark --dry-run``: the simplex fit as aggregate queries and its one-step account
    bootstrap (:mod:`calibrate.fit.engine`); publishing, --orient auto and segments stay with the pandas engine."""
    from calibrate.cli.options import data_source, emit
    from calibrate.data.load import DEFAULT_DIMENSIONS
    from calibrate.errors import ParameterError
    from calibrate.fit.engine import bootstrap_engine, fit_engine

    name = engine_args.name
    engine_args.refuse_sources(data, query, spec_args)
    for option, given in (("--orient auto", orient == "auto"), ("--by-segment", publish.get("by_segment"))):
        if given:
            raise ParameterError(f"fit --engine {name}: {option} is not supported on engines; use --engine pandas")
    if not dry_run:
        raise ParameterError(f"fit --engine {name} publishes no config yet (its calibration, baseline and drift "
                             "reference need the rows in memory); pass --dry-run to see the fit and its intervals, "
                             "or use --engine pandas")
    dims = tuple(d.strip() for d in dimensions.split(",")) if dimensions else DEFAULT_DIMENSIONS
    cfg = read_optional_config(current)
    engine = engine_args.open(data_source(data), dimensions=dims)
    try:
        result = fit_engine(engine, method=method, train_until=publish["train_until"], floor=floor, cap=cap,
                            fixed=fixed, current=cfg, stability=stability if stability is not None else 0.0,
                            on_negative=on_negative, penalty=penalty, weight_by=weight_by)
        intervals = (bootstrap_engine(result, engine, n_boot=publish["n_boot"], seed=seed)
                     if result.bounds.plain else None)
    finally:
        engine.close()
    note = (None if intervals is not None else
            f"no weight intervals: with floors, caps or fixed weights --engine {name} has no one-step bootstrap")
    payload = {"status": "dry-run", "engine": name, "fit": result.fit.to_dict(),
               "weight_intervals": None if intervals is None else intervals.to_dict(), "notes": [n for n in [note] if n]}
    text = "\n".join([f"dry run on --engine {name}: nothing published", result.fit.summary(),
                       intervals.summary() if intervals is not None else f"note: {note}"])
    emit(payload, text, as_json=as_json, quiet=quiet)
    return 0


def _orient(accounts: Any, raw_input: Any, current: Any, orient: str, train_until: str | None,
            seed: int) -> tuple[Any, dict[str, str], list[Any], Any]:
    """The accounts and directions to fit with, each dimension's direction/shape check on the training rows, and
    with ``orient="auto"`` the wrong-way ones flipped (recorded in ``raw_input.oriented``).

    Through a spec the sub-scores are already healthy-oriented (every direction fits as higher-is-healthier; a flip
    reverses the sub-score and :meth:`~calibrate.data.spec_load.RawInput.attach` the config's direction); otherwise
    the directions are the current config's (else higher-is-healthier) and a flip reverses the direction fitted.
    """
    from dataclasses import replace

    import pandas as pd

    from calibrate.data.profile import assess_signals
    from calibrate.data.spec_load import RawInput

    directions = {d: "higher_is_healthier" for d in accounts.dimensions}
    if current is not None and raw_input is None:
        directions |= {d.name: d.direction for d in current.dimensions if d.name in directions}
    frame = accounts.frame
    if train_until is not None and "snapshot_date" in frame:
        frame = frame[frame["snapshot_date"] <= pd.Timestamp(train_until)]
    checks = assess_signals(frame, directions, seed=seed)
    flips = {c.name: f"flipped by --orient auto: AUC {c.auc:.3f} [{c.ci[0]:.3f}, {c.ci[1]:.3f}] as "
                     f"{directions[c.name]}" for c in checks if c.verdict == "wrong_way"} if orient == "auto" else {}
    if not flips:
        return accounts, directions, checks, raw_input
    if raw_input is not None and raw_input.spec is not None:
        accounts = replace(accounts, frame=accounts.frame.assign(**{n: 100.0 - accounts.frame[n] for n in flips}))
    else:
        directions |= {n: "lower_is_healthier" if directions[n] == "higher_is_healthier" else "higher_is_healthier"
                       for n in flips}
    return accounts, directions, checks, replace(raw_input if raw_input is not None else RawInput(spec=None),
                                                 oriented=flips)


def _signals_text(checks: list[Any], raw_input: Any) -> str:
    """The dimensions told apart: wrong way, no detectable effect, threshold/U shape (and what --orient flipped)."""
    def names(pred: Any) -> str:
        found = [f"{c.name} (AUC {c.auc:.3f} [{c.ci[0]:.3f}, {c.ci[1]:.3f}])" for c in checks if pred(c)]
        return ", ".join(found) or "none"

    flipped = raw_input.oriented if raw_input is not None else {}
    lines = ["signals (each dimension alone, as oriented, against renewal; 95 % DeLong interval):",
             f"  wrong way (significant reverse association): {names(lambda c: c.verdict == 'wrong_way')}"
             + ("" if flipped or not any(c.verdict == "wrong_way" for c in checks)
                else " — flip with --orient auto or fix the direction"),
             f"  no detectable effect: {names(lambda c: c.verdict == 'no_effect')}",
             f"  threshold-shaped: {names(lambda c: c.shape == 'threshold')}",
             f"  U-shaped (not monotone): {names(lambda c: c.shape == 'u_shape')}"]
    if flipped:
        lines.append(f"  flipped by --orient auto (recorded in the config's provenance): {', '.join(flipped)}")
    if raw_input is not None and raw_input.spec is not None:
        lower = [s.name for s in raw_input.spec.used if raw_input.direction(s.name, s.direction) == "lower_is_healthier"]
        lines.append(f"  lower is healthier (inverted before the fit, stored in the config): {', '.join(lower) or 'none'}")
    return "\n".join(lines)
