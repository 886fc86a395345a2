"""The ``calibrate`` group and the options its commands share.

This module holds the group, the shared options and the error boundary; each command lives in
a module of :mod:`calibrate.cli` (one per stage) and holds no logic of its own.

Exit codes (contract.md §3): 0 ran and every check holds; 1 ran and a check failed; 2 could not
run (bad usage, input, config or environment — one line on stderr, nothing written); 3 an internal
error. One error boundary, :func:`calibrate.cli.main.main`, maps exceptions to these; ``--debug``
(an option of the group) adds the traceback.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click


__all__ = ["cli"]


def bundled_data_path() -> Path:
    """The sample history shipped inside the package (a copy of ``data/cs_book.csv``)."""
    return Path(__file__).parent.parent / "data" / "datasets" / "data" / "cs_book.csv"


def emit(payload: dict[str, Any], text: str, *, as_json: bool, quiet: bool = False) -> None:
    """``--json``: one JSON object on stdout; otherwise the human text on stdout (unless quiet)."""
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
    elif not quiet:
        click.echo(text)


def data_source(data: str | None) -> str:
    """``--data`` as given, or the bundled sample history when it was omitted."""
    return data if data is not None else str(bundled_data_path())


def load_data(data: str | None, dimensions: str | None, query: str | None = None, *,
              spec_args: SpecArgs | None = None) -> Any:
    """Load ``--data`` (the bundled history when omitted) with the ``--dimensions`` mapping and ``--query``,
    or through a project spec (:func:`resolve_spec`)."""
    from calibrate.data.load import DEFAULT_DIMENSIONS, DataSpec, load_accounts

    if spec_args is not None:
        return load_training(data, dimensions, query, spec_args)[0]

    dims = tuple(d.strip() for d in dimensions.split(",")) if dimensions else DEFAULT_DIMENSIONS
    return loaded(load_accounts(data_source(data), spec=DataSpec(dimensions=dims), query=query))


@dataclass(frozen=True)
class SpecArgs:
    """``--spec`` and the flags for the common cases (``--outcome``, ``--churned-value``, ``--id``, ``--missing``)."""

    path: str | None = None
    outcome: str | None = None
    churned_value: str | None = None
    id: str | None = None
    missing: str | None = None

    @property
    def flags(self) -> bool:
        """Any of the common-case flags was given."""
        return any(v is not None for v in (self.outcome, self.churned_value, self.id, self.missing))


xlsx_option = click.option("--xlsx", "xlsx_file", metavar="FILE",
                           help="Also write the tables to this Excel workbook, one sheet per table.")


def write_xlsx(path: str | None, tables: dict[str, Any]) -> None:
    """``--xlsx FILE``: write the command's tables to one workbook and say where (stderr)."""
    if path is None:
        return
    from calibrate.report.xlsx import write_workbook

    click.echo(f"calibrate: tables written to {write_workbook(path, tables)}", err=True)


def outcome_option(*, required: bool = False) -> Any:
    """``--outcome COL``: the outcome column of a raw export."""
    return click.option("--outcome", required=required, metavar="COL",
                        help="Outcome column of a raw export (with --churned-value).")


churned_value_option = click.option("--churned-value", metavar="LABEL",
                                    help="The outcome label that means churned (every other label: renewed).")
id_option = click.option("--id", "id_column", metavar="COL",
                         help="Account id column (default: each row is an account, numbered in file order).")


def spec_options(f: Any) -> Any:
    """``--spec FILE`` and the common-case flags, passed to the command as one ``spec_args`` (:class:`SpecArgs`)."""
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["spec_args"] = SpecArgs(*(kwargs.pop(k) for k in ("spec_file", "outcome", "churned_value", "id_column",
                                                                 "missing_rule")))
        return f(*args, **kwargs)

    for option in reversed([
        click.option("--spec", "spec_file", metavar="FILE",
                     help="Project spec (calibrate.yaml: keys, labels, transforms; default: ./calibrate.yaml or the "
                          "nearest ancestor's, when --data is given). Raw exports go straight in."),
        outcome_option(),
        churned_value_option,
        id_option,
        click.option("--missing", "missing_rule", type=click.Choice(["error", "median", "keep"]),
                     help="Missing sub-scores: refuse, impute the median (reported) or keep."),
    ]):
        wrapper = option(wrapper)
    return wrapper


@dataclass(frozen=True)
class EngineArgs:
    """``--engine``, ``--spark-master`` and ``--spark-conf``: where the rows are read and aggregated."""

    name: str = "pandas"
    spark_master: str | None = None
    spark_conf: tuple[str, ...] = ()

    @property
    def on_engine(self) -> bool:
        """Not the pandas engine: the data stay on DuckDB or Spark."""
        return self.name != "pandas"

    def refuse(self, **given: Any) -> None:
        """Exit 2 (one line) for the first option given that this engine does not support (``--query=...``)."""
        from calibrate.errors import ParameterError

        if self.name != "spark" and (self.spark_master or self.spark_conf):
            raise ParameterError(f"--spark-master/--spark-conf need --engine spark (got --engine {self.name})")
        if not self.on_engine:
            return
        for option, value in given.items():
            if value not in (None, False, (), ""):
                raise ParameterError(f"{option} is not supported with --engine {self.name}; use --engine pandas, "
                                     "or give --data as a Parquet file or glob, a CSV file or a table name")

    def refuse_sources(self, data: Any, query: str | None, spec_args: Any) -> None:
        """Exit 2 (one line) for a source an engine does not read: ``--query`` (a database URL), an Excel sheet, or a
        project spec (its labels, keys and transforms are applied in pandas)."""
        from calibrate.errors import ParameterError

        self.refuse(**{"--query": query, "--sheet": data is not None and not isinstance(data, str)})
        if self.on_engine and spec_args is not None and (spec_args.path or spec_args.flags):
            raise ParameterError(f"--spec and its flags (--outcome, --churned-value, --id, --missing) are not supported "
                                 f"with --engine {self.name}; use --engine pandas, or give --data a table or view whose "
                                 "columns carry calibrate's names (account_id, renewed as 0/1, the config's dimensions)")

    def conf(self) -> dict[str, str]:
        """``--spark-conf key=value`` pairs as a dict."""
        from calibrate.errors import ParameterError

        out = {}
        for item in self.spark_conf:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ParameterError(f"--spark-conf {item!r}: expected key=value (e.g. spark.executor.memory=4g)")
            out[key.strip()] = value.strip()
        return out

    def open(self, data: str, **options: Any) -> Any:
        """:func:`calibrate.data.engines.open_engine` on ``data`` with these options."""
        from calibrate.data.engines import open_engine

        return open_engine(self.name, data, spark_master=self.spark_master, spark_conf=self.conf(), **options)


def engine_options(f: Any) -> Any:
    """``--engine``, ``--spark-master``, ``--spark-conf``, passed to the command as one ``engine_args``
    (:class:`EngineArgs`). ``validate``, ``check`` and ``score`` take them; ``fit``, ``drift`` and ``run`` may."""
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["engine_args"] = EngineArgs(kwargs.pop("engine"), kwargs.pop("spark_master"),
                                           tuple(kwargs.pop("spark_conf")))
        return f(*args, **kwargs)

    for option in reversed([
        click.option("--engine", type=click.Choice(["pandas", "duckdb", "spark"]), default="pandas", show_default=True,
                     help="Where the rows are aggregated: pandas in memory; DuckDB out of core; Apache Spark "
                          "(docs/scale.md). With duckdb/spark, --data is a Parquet file or glob, a CSV or a table."),
        click.option("--spark-master", metavar="URL",
                     help="With --engine spark: local[N] (default local[2]), spark://host:7077, yarn, or sc://host "
                          "for Spark Connect."),
        click.option("--spark-conf", metavar="KEY=VALUE", multiple=True,
                     help="With --engine spark: a Spark configuration setting (repeatable)."),
    ]):
        wrapper = option(wrapper)
    return wrapper


def resolve_spec(args: SpecArgs | None, data: str | None, dimensions: str | None = None) -> Any:
    """The :class:`~calibrate.data.spec.Spec` a command reads its data with, or ``None`` (calibrate's own columns).

    An explicit ``--spec``; else ``calibrate.yaml`` found from the current directory up when ``--data`` is given
    (named on stderr); the common-case flags override it, or alone make a spec of the ``--dimensions`` columns.
    """
    if args is None:
        return None
    from calibrate.data.spec import Outcome, Signal, Spec, find_spec, read_spec

    if args.outcome is not None and args.churned_value is None:
        raise click.UsageError("--outcome needs --churned-value (the label that means churned)")
    path = args.path
    found = find_spec() if path is None and data is not None else None
    path = str(found) if found is not None else path
    if path is None and not args.flags:
        return None
    if args.churned_value is not None and args.outcome is None and path is None:
        raise click.UsageError("--churned-value needs --outcome (the column it labels)")
    if path is not None:
        if dimensions:
            raise click.UsageError("--dimensions does not combine with a spec; set `use:` on the spec's signals")
        spec = read_spec(path)
    else:
        dims = [d.strip() for d in (dimensions or "usage,engagement,support,commercial").split(",")]
        spec = Spec(outcome=Outcome(column="renewed", renewed_value=1),
                    signals=[Signal(name=d, column=d, kind="numeric", transform="none") for d in dims])
    update: dict[str, Any] = {}
    if args.outcome is not None:
        update["outcome"] = Outcome(column=args.outcome, churned_value=args.churned_value)
    elif args.churned_value is not None:
        update["outcome"] = Outcome(column=spec.outcome.column, churned_value=args.churned_value)
    if args.id is not None:
        update["keys"] = spec.keys.model_copy(update={"account_id": args.id})
    if args.missing is not None:
        update["missing"] = args.missing
        update["signals"] = [s.model_copy(update={"missing": None}) for s in spec.signals]
    spec = spec.model_copy(update=update) if update else spec
    if found is not None:
        _NOTES.append(f"calibrate: using spec {path} (pass --spec to choose another)")
    return spec


_NOTES: list[str] = []


def loaded(accounts: Any) -> Any:
    """Say on stderr, once the data read (a failure keeps to its one line), which spec was found and what the
    loader noted (an inferred date format, a column set aside): said, never silent. Returns ``accounts``."""
    while _NOTES:
        click.echo(_NOTES.pop(0), err=True)
    for note in accounts.notes:
        click.echo(f"calibrate: note: {note}", err=True)
    return accounts


def load_training(data: str | None, dimensions: str | None, query: str | None, spec_args: SpecArgs | None,
                  train_until: str | None = None) -> tuple[Any, Any]:
    """Accounts to fit on, and the :class:`~calibrate.data.spec_load.RawInput` when a spec was used (else ``None``).

    With a spec, ``--data`` omitted reads the spec's ``source``; the transforms are fitted on the rows up to
    ``train_until``.
    """
    spec = resolve_spec(spec_args, data, dimensions)
    if spec is None:
        return load_data(data, dimensions, query=query, spec_args=None), None
    from calibrate.data.spec_load import load_with_spec
    from calibrate.fit.joint import spec_learner

    accounts, raw_input = load_with_spec(data, spec, query=query, train_until=train_until, learn=spec_learner)
    return loaded(accounts), raw_input


def load_scored(data: str | None, query: str | None, spec_args: SpecArgs | None, config: Any, *,
                allow_pending: bool = False, require_outcome: bool = True) -> tuple[Any, Any] | None:
    """With a spec: ``data`` read through it with ``config``'s stored transforms and directions, and the view of
    ``config`` that scores those accounts (:func:`~calibrate.data.spec_load.name_view`); else ``None``."""
    spec = resolve_spec(spec_args, data)
    if spec is None:
        return None
    from calibrate.data.spec_load import load_with_spec, name_view

    accounts = load_with_spec(data, spec, query=query, config=config, allow_pending=allow_pending,
                              require_outcome=require_outcome)[0]
    return loaded(accounts), name_view(config)


def read_optional_config(path: str | None) -> Any:
    """Read an optional config option (``--current``, ``--new``, ``--config``): ``None`` when not given."""
    from calibrate.config.model import read_config

    return read_config(path) if path else None


class ISODate(click.ParamType):
    """A date option: anything pandas reads as a timestamp, passed on as an ISO string (``2025-03-31``)."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        import pandas as pd

        try:
            ts = pd.Timestamp(str(value).strip())
        except (ValueError, TypeError, OverflowError) as exc:
            reason = str(exc).splitlines()[0].removesuffix(f": {value}") if str(exc) else "unreadable"
            self.fail(f"{value!r} is not a date ({reason}); use YYYY-MM-DD", param, ctx)
        if ts is pd.NaT:
            self.fail(f"{value!r} is not a date; use YYYY-MM-DD", param, ctx)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()


def date_option(name: str, help: str, **kwargs: Any) -> Any:
    """A ``DATE`` option (``--train-until``, ``--as-of``, ``--since``, ``--test-from`` ...); a bad date is exit 2."""
    return click.option(name, type=ISODate(), metavar="DATE", help=help, **kwargs)


def data_options(command: Any = None, *, required: bool = False, help: str | None = None) -> Any:
    """``--data`` and ``--query`` together, for every command that reads account data.

    Use bare (``@data_options``) or with arguments (``@data_options(required=True, help=...)``).
    """
    def decorate(f: Any) -> Any:
        default_help = ("CSV (.gz/.bz2/.zip too), Parquet, .xlsx or database URL"
                        + ("." if required else " (default: bundled sample history)."))
        f = click.option("--sheet", metavar="NAME", help="Worksheet to read when --data is an .xlsx file "
                                                         "(default: the first).")(_read_sheet(f))
        f = click.option("--query", metavar="SQL", help="SELECT to run when --data is a database URL.")(f)
        return click.option("--data", "data", required=required, metavar="PATH|URL", help=help or default_help)(f)

    return decorate(command) if command is not None else decorate


def _read_sheet(f: Any) -> Any:
    """Wrap a command so that ``--sheet`` reads that worksheet of ``--data`` (a frame that keeps the file's name)."""

    @functools.wraps(f)
    def command(*args: Any, sheet: str | None = None, **kwargs: Any) -> Any:
        if sheet is not None:
            from calibrate.data.load import read_sheet

            kwargs["data"] = read_sheet(data_source(kwargs.get("data")), sheet)
        return f(*args, **kwargs)

    return command


def config_option(help: str, *, required: bool = False) -> Any:
    """``--config FILE`` (passed as ``config_file``); the help says what the config is for."""
    return click.option("--config", "config_file", required=required, metavar="FILE", help=help)


dims_option = click.option("--dimensions", metavar="A,B,C",
                           help="Dimension columns (default usage,engagement,support,commercial).")
name_option = click.option("--name", metavar="NAME",
                           help="Config name, when the stores hold several (default: the only one, else account-health).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Seed of every resampling step.")
quiet_option = click.option("--quiet", "-q", is_flag=True,
                            help="Print nothing but errors (and --json); no progress on stderr.")
current_option = click.option("--current", metavar="CONFIG",
                              help="The config in production: compared with, and the source of bands, directions and "
                                   "the stability target.")
n_boot_option = click.option("--n-boot", type=click.IntRange(min=1000), default=2000, show_default=True,
                             help="Account-level bootstrap resamples (contract: at least 1000).")
configs_option = click.option("--configs", "configs_dir", metavar="DIR",
                              help="Config directory [env CALIBRATE_CONFIGS or ./configs].")
reports_option = click.option("--reports", "reports_dir", metavar="DIR",
                              help="Report directory [env CALIBRATE_REPORTS or ./reports].")
mlflow_option = click.option("--mlflow", "mlflow_dir", metavar="DIR",
                             help="MLflow store directory [env CALIBRATE_MLFLOW or ./mlflow].")
tree_option = click.option("--tree", "tree_file", default="seed_001", show_default=True, metavar="FILE|NAME",
                           help="Rule tree file, or a built-in tree name.")
min_spread_option = click.option("--min-spread", type=float, help="The spread's lower bound must exceed this (default 0).")
policy_option = click.option("--policy", "policy_file", metavar="FILE",
                              help="Versioned YAML/JSON policy file: the gate's thresholds at the top (flags override them), drift's under drift:.")
test_from_option = date_option("--test-from", "First test snapshot date (default: last quarter of the dates).")


def publish_options(command: Any) -> Any:
    """The options of every command that publishes a config (``run``, ``fit``): bootstrap size, training
    cut-off and the configs/reports/MLflow directories."""
    for option in reversed([
        n_boot_option,
        date_option("--train-until", "Fit on snapshots up to this date only."),
        configs_option,
        reports_option,
        mlflow_option,
    ]):
        command = option(command)
    return command


def segment_options(command: Any) -> Any:
    """``--by-segment COLUMN`` and ``--pooling`` (``run``, ``fit``): per-segment weights pooled toward the global ones."""
    command = click.option("--pooling", type=click.Choice(["auto", "none", "full"]),
                           help="With --by-segment: auto (default) = pull each segment toward the global weights "
                                "as far as grouped cross-validation says; none = separate fits; full = global "
                                "weights.")(command)
    return click.option("--by-segment", "by_segment", metavar="COLUMN",
                        help="Also fit weights per value of this column (e.g. segment), pooled toward the global "
                             "weights; the config holds both.")(command)


_DEBUG = {"on": False}


def set_debug(on: bool) -> None:
    """Record ``--debug`` for the error boundary (:func:`calibrate.cli.main.main`)."""
    _DEBUG["on"] = bool(on)


def debug_requested() -> bool:
    """Whether ``--debug`` was given: the error boundary then prints the traceback too."""
    return _DEBUG["on"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="calibrate")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True,
              callback=lambda ctx, param, value: set_debug(value),
              help="On an error, print the Python traceback (for a bug report) before the one-line message.")
def cli() -> None:
    """Check that an account health score predicts renewals, and retune it when it stops."""
