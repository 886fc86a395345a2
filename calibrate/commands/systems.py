"""``calibrate tree validate|tune|classify`` (alias ``rules``), ``calibrate tiers``, ``calibrate playbook``,
``calibrate explain`` and ``calibrate systems``: the seeds' other scoring systems."""

from __future__ import annotations

import click

from calibrate.cli import cli, data_option, emit, json_option, load_data, read_current, seed_option

tree_option = click.option("--tree", "tree_file", default="seed_001", show_default=True, metavar="FILE|NAME",
                           help="Rule tree file, or a built-in tree name.")
boot_option = click.option("--n-boot", type=click.IntRange(min=200), default=2000, show_default=True,
                           help="Bootstrap resamples.")
config_option = click.option("--config", "config_file", metavar="CONFIG",
                             help="Weight config that scores the accounts (default: the built-in metric tree fitted on the data).")


def _emit_two(a_name: str, a, b_name: str, b, passed: bool, as_json: bool) -> int:
    emit({a_name: a.to_dict(), b_name: b.to_dict(), "passed": passed}, a.summary() + "\n\n" + b.summary(),
         as_json=as_json)
    return 0 if passed else 1


def _scorer(accounts, config_file: str | None):
    from calibrate.metric_tree import fit_metric_tree

    return read_current(config_file) if config_file else fit_metric_tree(accounts)


@cli.group()
def tree() -> None:
    """Rule trees (seed 001): validate, tune and classify."""


cli.add_command(tree, name="rules")


@tree.command("validate")
@data_option
@tree_option
@click.option("--min-spread", type=float, default=0.0, show_default=True, help="Lower bound the spread must beat.")
@boot_option
@seed_option
@json_option
def tree_validate(data, tree_file, min_spread, n_boot, seed, as_json) -> int:
    """Renewal rate per outcome class, spread and AUC; exit 1 if a check fails."""
    from calibrate.rules import validate_tree

    result = validate_tree(load_data(data, None), tree_file, min_spread=min_spread, n_boot=n_boot, seed=seed)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0 if result.passed else 1


@tree.command("tune")
@data_option
@tree_option
@click.option("--test-from", metavar="DATE", help="First test snapshot date (default: last quarter of the dates).")
@click.option("--min-share", type=float, default=0.05, show_default=True, help="Least share of the top and red class.")
@click.option("--out", "out_file", metavar="FILE", help="Write the tuned tree here.")
@boot_option
@seed_option
@json_option
def tree_tune(data, tree_file, test_from, min_share, out_file, n_boot, seed, as_json) -> int:
    """Tune thresholds before --test-from, judge after; exit 1 unless the gain's interval is above 0."""
    from pathlib import Path

    from calibrate.rules_tune import tune_tree

    result = tune_tree(load_data(data, None), tree_file, test_from=test_from, min_share=min_share,
                       n_boot=n_boot, seed=seed)
    if out_file:
        Path(out_file).write_text(result.tuned.to_json(), encoding="utf-8")
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0 if result.passed else 1


@tree.command("classify")
@data_option
@tree_option
@click.option("--out", "out_file", metavar="CSV", help="Write account_id, snapshot_date and the outcome here.")
@json_option
def tree_classify(data, tree_file, out_file, as_json) -> int:
    """Classify every row; print the outcome counts."""
    from calibrate.rules import classify, load_tree

    accounts = load_data(data, None)
    t = load_tree(tree_file)
    out = classify(accounts.frame, t)
    if out_file:
        keys = [c for c in ("account_id", "snapshot_date") if c in accounts.frame]
        accounts.frame[keys].join(out).to_csv(out_file, index=False)
    counts = out["outcome"].value_counts().reindex([o.name for o in t.outcomes], fill_value=0)
    emit({"tree": t.name, "counts": {k: int(v) for k, v in counts.items()}}, counts.to_string(), as_json=as_json)
    return 0


@cli.command()
@data_option
@click.option("--column", default="csm_contacts_per_month", show_default=True, help="Contacts per month column.")
@click.option("--loud", "loud_per_month", type=float, default=4.0, show_default=True, help="Loud above this many a month.")
@boot_option
@seed_option
@json_option
def tiers(data, column, loud_per_month, n_boot, seed, as_json) -> int:
    """Activity tiers (Loud/Active/Lazarus) and a direction check per signal; exit 1 if a signal points the wrong way."""
    from calibrate.tiers import activity_tiers, direction_checks

    accounts = load_data(data, None)
    t = activity_tiers(accounts, column=column, loud_per_month=loud_per_month, n_boot=n_boot, seed=seed)
    d = direction_checks(accounts, n_boot=min(n_boot, 1000), seed=seed)
    return _emit_two("tiers", t, "directions", d, d.passed, as_json)


@cli.command()
@data_option
@config_option
@click.option("--snapshot", metavar="DATE", help="Snapshot date (default: the latest).")
@click.option("--tree", "tree_file", default="seed_001", show_default=True, help="Rule tree whose warnings are the post-mortem flags.")
@json_option
def playbook(data, config_file, snapshot, tree_file, as_json) -> int:
    """Accounts that entered red, red metrics, and the post-mortem of churned red accounts; exit 1 if a benchmark fails."""
    from calibrate.playbook import post_mortem, red_playbook

    accounts = load_data(data, None)
    model = _scorer(accounts, config_file)
    p = red_playbook(model, accounts.frame, snapshot=snapshot)
    pm = post_mortem(model, accounts.frame, tree=tree_file)
    return _emit_two("playbook", p, "post_mortem", pm, p.passed, as_json)


@cli.command()
@data_option
@config_option
@click.option("--account", required=True, metavar="ID", help="Account to explain.")
@click.option("--before", metavar="DATE", help="Earlier snapshot (default: the account's second-to-last).")
@click.option("--after", metavar="DATE", help="Later snapshot (default: the account's last).")
@json_option
def explain(data, config_file, account, before, after, as_json) -> int:
    """Which branch and signal moved an account's score between two snapshots."""
    from calibrate.metric_tree import explain as explain_account

    accounts = load_data(data, None)
    result = explain_account(_scorer(accounts, config_file), accounts.frame, account, before=before, after=after)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0


@cli.command()
@data_option
@click.option("--config", "config_file", metavar="CONFIG", help="Weighted score (default: fitted before --test-from).")
@tree_option
@click.option("--test-from", metavar="DATE", help="First snapshot date compared (default: last quarter of the dates).")
@boot_option
@seed_option
@json_option
def systems(data, config_file, tree_file, test_from, n_boot, seed, as_json) -> int:
    """Weighted score vs rule tree (seed, tuned) vs activity tiers on the same later snapshots."""
    from calibrate.systems import compare_systems

    result = compare_systems(load_data(data, None), read_current(config_file), tree=tree_file, test_from=test_from,
                             n_boot=n_boot, seed=seed)
    emit(result.to_dict(), result.summary(), as_json=as_json)
    return 0
