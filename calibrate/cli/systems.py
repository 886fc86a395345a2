"""``calibrate tree validate|tune|classify`` (hidden alias ``rules``), ``calibrate tiers``, ``calibrate playbook``,
``calibrate explain`` and ``calibrate systems``: the seeds' other scoring systems."""

from __future__ import annotations

import click

from calibrate.cli.options import (cli, config_option, data_options, date_option, emit, json_option, load_data,
    load_training, min_spread_option, n_boot_option, read_optional_config, seed_option, spec_options, test_from_option, tree_option)

scorer_option = config_option(
    "Weight config that scores the accounts (default: the built-in metric tree fitted on the data).")


def _emit_two(a_name: str, a, b_name: str, b, passed: bool, as_json: bool) -> int:
    emit({a_name: a.to_dict(), b_name: b.to_dict(), "passed": passed}, a.summary() + "\n\n" + b.summary(),
         as_json=as_json)
    return 0 if passed else 1


def _with_config(data, query, spec_args, config_file: str | None, *, require_outcome: bool = True):
    """The accounts and the ``--config`` (or ``None``). Through a spec, the config's stored transforms and directions
    derive the sub-scores, and the config is handed on reading them (:func:`calibrate.data.spec_load.name_view`)."""
    from calibrate.cli.options import load_scored

    config = read_optional_config(config_file)
    if config is not None:
        through_spec = load_scored(data, query, spec_args, config, require_outcome=require_outcome)
        if through_spec is not None:
            return through_spec
        from calibrate.cli.options import data_source, loaded
        from calibrate.data.load import load_accounts
        from calibrate.publish.export import scoring_spec

        # no spec: read the config's own dimensions from the columns it names
        return loaded(load_accounts(data_source(data), spec=scoring_spec(config), query=query,
                                    require_outcome=require_outcome)), config
    return load_data(data, None, query=query, spec_args=spec_args), config


def _scorer(accounts, config):
    from calibrate.systems.metric_tree import fit_metric_tree

    return config if config is not None else fit_metric_tree(accounts)


@cli.group()
def tree() -> None:
    """Rule trees (seed 001): validate, tune and classify."""


# ``rules`` is the same group under its older name, kept working but out of the help
cli.add_command(click.Group("rules", commands=tree.commands, help=f"Alias of `calibrate tree`. {tree.help}", hidden=True))


@tree.command("validate")
@data_options
@spec_options
@tree_option
@min_spread_option
@n_boot_option
@seed_option
@json_option
def tree_validate(data, query, spec_args, tree_file, min_spread, n_boot, seed, as_json) -> int:
    """Renewal rate per outcome class, spread and AUC; exit 1 if a check fails."""
    from calibrate.systems.rules import validate_tree

    result = validate_tree(load_data(data, None, query=query, spec_args=spec_args), tree_file, min_spread=min_spread or 0.0,
                           n_boot=n_boot, seed=seed)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0 if result.passed else 1


@tree.command("tune")
@data_options
@spec_options
@tree_option
@test_from_option
@click.option("--min-share", type=float, default=0.05, show_default=True, help="Least share of the top and red class.")
@click.option("--out", "out_file", metavar="FILE", help="Write the tuned tree here.")
@n_boot_option
@seed_option
@json_option
def tree_tune(data, query, spec_args, tree_file, test_from, min_share, out_file, n_boot, seed, as_json) -> int:
    """Tune thresholds before --test-from, judge after; exit 1 unless the gain's interval is above 0."""
    from pathlib import Path

    from calibrate.systems.rules_tune import tune_tree

    result = tune_tree(load_data(data, None, query=query, spec_args=spec_args), tree_file, test_from=test_from, min_share=min_share,
                       n_boot=n_boot, seed=seed)
    if out_file:
        Path(out_file).write_text(result.tuned.to_json(), encoding="utf-8")
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0 if result.passed else 1


@tree.command("classify")
@data_options
@spec_options
@tree_option
@click.option("--out", "out_file", metavar="CSV", help="Write account_id, snapshot_date and the outcome here.")
@json_option
def tree_classify(data, query, spec_args, tree_file, out_file, as_json) -> int:
    """Classify every row; print the outcome counts."""
    from calibrate.systems.rules import classify, read_tree

    accounts = load_data(data, None, query=query, spec_args=spec_args)
    t = read_tree(tree_file)
    out = classify(accounts.frame, t)
    if out_file:
        keys = [c for c in ("account_id", "snapshot_date") if c in accounts.frame]
        accounts.frame[keys].join(out).to_csv(out_file, index=False)
    counts = out["outcome"].value_counts().reindex([o.name for o in t.outcomes], fill_value=0)
    emit({"tree": t.name, "counts": {k: int(v) for k, v in counts.items()}}, counts.to_string(), as_json=as_json)
    return 0


@cli.command()
@data_options
@spec_options
@click.option("--column", default="csm_contacts_per_month", show_default=True, help="Contacts per month column.")
@click.option("--loud", "loud_per_month", type=float, default=4.0, show_default=True, help="Loud above this many a month.")
@n_boot_option
@seed_option
@json_option
def tiers(data, query, spec_args, column, loud_per_month, n_boot, seed, as_json) -> int:
    """Activity tiers (Loud/Active/Lazarus) and a direction check per signal; exit 1 if a tier check fails or a signal
    points the wrong way."""
    from calibrate.systems.tiers import activity_tiers, direction_checks

    accounts, raw_input = load_training(data, None, query, spec_args)
    t = activity_tiers(accounts, column=column, loud_per_month=loud_per_month, n_boot=n_boot, seed=seed)
    if raw_input is not None:  # the spec's signals, each oriented the way the spec declares
        d = direction_checks(accounts, columns=list(accounts.dimensions), n_boot=min(n_boot, 1000), seed=seed,
                             expected={d: "higher_is_healthier" for d in accounts.dimensions})  # healthy-oriented
    else:
        d = direction_checks(accounts, n_boot=min(n_boot, 1000), seed=seed)
    return _emit_two("tiers", t, "directions", d, t.passed and d.passed, as_json)


@cli.command()
@data_options
@spec_options
@scorer_option
@date_option("--snapshot", "Snapshot date (default: the latest).")
@tree_option
@json_option
def playbook(data, query, spec_args, config_file, snapshot, tree_file, as_json) -> int:
    """Accounts that entered red, red metrics, and the post-mortem of churned red accounts; exit 1 if a benchmark fails."""
    from calibrate.systems.playbook import post_mortem, red_playbook

    accounts, config = _with_config(data, query, spec_args, config_file)
    model = _scorer(accounts, config)
    p = red_playbook(model, accounts.frame, snapshot=snapshot)
    pm = post_mortem(model, accounts.frame, tree=tree_file)
    return _emit_two("playbook", p, "post_mortem", pm, p.passed, as_json)


@cli.command()
@data_options
@spec_options
@scorer_option
@click.option("--account", metavar="ID", help="Account to explain.")
@click.option("--points", is_flag=True, help="Print the points table of each learned sub-score of --config (bins, "
                                            "points, accounts, renewal rate with its interval); no data needed.")
@date_option("--before", "Earlier snapshot (default: the account's second-to-last).")
@date_option("--after", "Later snapshot (default: the account's last).")
@json_option
def explain(data, query, spec_args, config_file, account, points, before, after, as_json) -> int:
    """Which branch and signal moved an account's score between two snapshots; with --points, how each learned
    sub-score turns its raw signal into points."""
    if account is None and not points:
        raise click.UsageError("give --account ID, or --points with --config")
    if points and config_file is None:
        raise click.UsageError("--points reads the learned sub-scores of a config: pass --config FILE")
    payload, text = {}, []
    if points:
        payload["points"], table = _points(read_optional_config(config_file))
        text.append(table)
    if account is not None:
        from calibrate.systems.metric_tree import explain as explain_account

        accounts, config = _with_config(data, query, spec_args, config_file, require_outcome=False)
        result = explain_account(_scorer(accounts, config), accounts.frame, account, before=before, after=after)
        payload |= result.to_dict()
        text.append(result.summary())
    emit(payload, "\n\n".join(text), as_json=as_json)
    return 0


def _points(config):
    """Each learned dimension's points table: as JSON rows and as text."""
    from calibrate.fit.learned import points_table, points_text

    learned = [d for d in config.dimensions if d.transform is not None and d.transform.kind == "binned"]
    rows = {d.name: {"column": d.column, "weight": d.weight, "shape": d.transform.shape,
                     "bins": points_table(d.transform).to_dict(orient="records")} for d in learned}
    text = "\n\n".join(points_text(d.name, d.transform, weight=d.weight, column=d.column) for d in learned)
    return rows, text or f"config {config.name} v{config.version} has no learned sub-scores (no binned transform)"


@cli.command()
@data_options
@spec_options
@config_option("Weighted score (default: fitted before --test-from).")
@tree_option
@test_from_option
@n_boot_option
@seed_option
@json_option
def systems(data, query, spec_args, config_file, tree_file, test_from, n_boot, seed, as_json) -> int:
    """Weighted score vs rule tree (seed, tuned) vs activity tiers on the same later snapshots."""
    from calibrate.systems.comparison import compare_systems

    accounts, config = _with_config(data, query, spec_args, config_file)
    result = compare_systems(accounts, config,
                             tree=tree_file, test_from=test_from,
                             n_boot=n_boot, seed=seed)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0
