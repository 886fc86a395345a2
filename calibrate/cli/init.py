"""``calibrate init``: profile a raw export and write the project spec (``calibrate.yaml``) an analyst edits."""

from __future__ import annotations

from typing import Any

import click

from calibrate.cli.options import churned_value_option, cli, emit, id_option, json_option, outcome_option, seed_option


@cli.command()
@click.option("--data", "data", required=True, metavar="PATH|URL", help="The raw export (CSV, Parquet or database URL).")
@click.option("--query", metavar="SQL", help="SELECT to run when --data is a database URL.")
@outcome_option(required=True)
@churned_value_option
@click.option("--renewed-value", metavar="LABEL", help="The outcome label that means renewed (every other: churned).")
@id_option
@click.option("--snapshot-date", metavar="COL", help="Snapshot date column.")
@click.option("--renewal-date", metavar="COL", help="Renewal date column.")
@click.option("--segment", metavar="COL", help="Segment column.")
@click.option("--arr", metavar="COL", help="ARR column.")
@click.option("--out", "out", default="calibrate.yaml", show_default=True, metavar="FILE", help="Spec file to write.")
@click.option("--force", is_flag=True, help="Overwrite an existing spec file.")
@click.option("--transforms", type=click.Choice(["fixed", "learned"]), default="fixed", show_default=True,
              help="fixed: a percentile/minmax/log/step/categories transform per signal; learned: binned points per "
                   "signal, fitted from the outcomes by `calibrate fit` (shape chosen by the data).")
@seed_option
@json_option
def init(data: str, query: str | None, outcome: str, churned_value: str | None, renewed_value: str | None,
         id_column: str | None, snapshot_date: str | None, renewal_date: str | None, segment: str | None,
         arr: str | None, out: str, force: bool, transforms: str, seed: int, as_json: bool) -> int:
    """Profile a raw export and write a commented spec: keys, labels, and per signal its type, share missing,
    direction (univariate AUC with interval), proposed 0-100 transform, missing rule and warnings."""
    import os
    from pathlib import Path

    from calibrate.config.model import atomic_write_text
    from calibrate.data.profile import profile_export
    from calibrate.data.spec import Keys, Outcome, Spec, read_spec, render_spec
    from calibrate.data.spec_load import outcome_column, read_source
    from calibrate.errors import DataError

    if (churned_value is None) == (renewed_value is None):
        raise click.UsageError("give exactly one of --churned-value and --renewed-value")
    target = Path(out)
    if target.exists() and not force:
        raise click.UsageError(f"{target} exists; pass --force to overwrite it, or --out another file")
    raw, where, _ = read_source(data, query=query)
    keys = Keys(account_id=id_column, snapshot_date=snapshot_date, renewal_date=renewal_date, segment=segment, arr=arr)
    absent = [c for c in [*keys.mapping().values()] if c not in raw.columns]
    if absent:
        raise DataError(f"{where}: column(s) {absent} not in the file; it has {list(raw.columns)[:12]}")
    dupes = int(raw.duplicated().sum())
    raw = raw.drop_duplicates(ignore_index=True)  # profiled as `drop_duplicates: true` will read it
    label = Outcome(column=outcome, churned_value=churned_value, renewed_value=renewed_value)
    flag = {"churned_value": "--churned-value", "renewed_value": "--renewed-value", "column": "--outcome"}
    renewed = outcome_column(raw, label, where, locate=lambda f: flag[f]).to_numpy(dtype=float)
    signals = profile_export(raw, outcome=label, keys=keys, renewed=renewed, seed=seed)
    if not signals:
        raise DataError(f"{where}: no candidate signal besides the keys and the outcome; export the signal columns too")
    if transforms == "learned":
        signals = [_learned(s, raw[s.column], renewed) for s in signals]
    local = "://" not in data and query is None
    source = os.path.relpath(os.path.abspath(data), os.path.abspath(target.parent)) if local else None
    spec = Spec(source=source, keys=keys, outcome=label, drop_duplicates=dupes > 0, signals=signals,
                missing="error")
    header = [f"calibrate spec written by `calibrate init` from {Path(data).name if local else 'a database query'}",
              f"{len(raw) + dupes:,} rows ({len(raw):,} distinct); outcome {outcome!r}: {int((renewed == 0).sum()):,} churned, "
              f"{int((renewed == 1).sum()):,} renewed, {int((renewed != renewed).sum()):,} missing"]
    if dupes:
        header.append(f"{dupes:,} rows exactly repeat an earlier row: drop_duplicates is on (profiled without them)")
    if id_column is None:
        header.append(f"no --id: each row is one account, numbered {keys.id_prefix}00001... in file order")
    text = render_spec(spec, header=header)
    atomic_write_text(target, text)
    read_spec(target)  # what was written reads back (a bug here is an internal error, not bad input)
    rows = [_row(s) for s in signals]
    payload: dict[str, Any] = {"spec_path": str(target), "signals": rows, "rows": len(raw),
                               "dropped_duplicates": dupes if dupes else 0}
    emit(payload, _table(rows, target, len(spec.used)), as_json=as_json)
    return 0


def _learned(s: Any, raw: Any, renewed: Any) -> Any:
    """A profiled signal proposed with a learned transform: it orients itself, and one that learns flat on the whole
    export (no bin renews detectably differently) is proposed unused, as is a signal the profile flagged."""
    from calibrate.data.spec import Signal
    from calibrate.data.spec_load import signal_values
    from calibrate.errors import FitError
    from calibrate.fit.learned import fit_learned

    doc = s.model_dump()
    warnings = [w for w in (doc["profile"] or {}).get("warnings", [])  # the learned transform takes these shapes
                if not w.startswith(("U shape", "threshold shape"))]
    if s.use:
        categorical = s.kind == "categorical"
        try:
            shape = fit_learned(signal_values(raw, s, s.column), renewed, categorical=categorical, column=s.column).shape
        except FitError as exc:
            shape = f"flat ({exc})"
        if shape.startswith("flat"):
            doc["use"] = False
            warnings.append("learned transform is flat on this export (no bin renews detectably differently): unused")
    if doc["profile"] is not None:
        doc["profile"]["warnings"] = warnings
    return Signal.model_validate({**doc, "transform": "learned", "direction": "higher_is_healthier",
                                  "threshold": None, "points": None})


def _row(s: Any) -> dict[str, Any]:
    p = s.profile
    return {"name": s.name, "column": s.column, "kind": s.kind, "use": s.use, "direction": s.direction,
            "auc": None if p is None else p.auc, "auc_ci": None if p is None else p.auc_ci,
            "effect": None if p is None else p.effect, "shape": None if p is None else p.shape,
            "transform": s.transform, "missing": s.missing, "share_missing": None if p is None else p.share_missing,
            "warnings": [] if p is None else list(p.warnings)}


def _table(rows: list[dict[str, Any]], target: Any, n_used: int) -> str:
    head = f"{'signal':<24} {'kind':<11} {'use':<4} {'direction':<20} {'AUC [95% CI]':<22} {'transform':<11} missing"
    lines = [head, "-" * len(head)]
    for r in rows:
        auc = "" if r["auc"] is None else f"{r['auc']:.3f} [{r['auc_ci'][0]:.3f}, {r['auc_ci'][1]:.3f}]"
        lines.append(f"{r['name'][:24]:<24} {r['kind']:<11} {'yes' if r['use'] else 'no':<4} {r['direction']:<20} "
                     f"{auc:<22} {r['transform']:<11} {100 * (r['share_missing'] or 0):.1f} %")
        lines += [f"    ! {w}" for w in r["warnings"]]
    lines.append(f"wrote {target} ({n_used} signals used); edit it, then `calibrate fit --spec {target}`")
    return "\n".join(lines)
