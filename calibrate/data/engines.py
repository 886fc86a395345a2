"""Engines: account snapshots that stay where they are — DuckDB out of core, or Apache Spark — queried with SQL.

An :class:`Engine` holds the loaded snapshots as a SQL relation (:attr:`Engine.relation`, a view with the data
contract's column names: ``account_id``, ``renewed`` (0/1, NULL = not decided), ``snapshot_date``, the
dimension columns, and when present ``renewal_date``, ``arr``, ``segment``) and answers aggregate queries with
:meth:`Engine.sql`. Queries are written once, in DuckDB's dialect; an engine transpiles them to its own with
sqlglot (:meth:`Engine.sql` is the one place). Results must be small (aggregates): they come back as pandas
frames on the driver.

* ``duckdb`` — an in-process connection with a memory limit and a spill directory (out of core); the source is
  a Parquet file, a glob of Parquet files, a directory of them, a CSV file, or a table of ``database``.
* ``spark`` — a SparkSession (``local[2]`` by default, a cluster's ``spark://…``/``yarn``, or a Spark Connect
  ``sc://…`` URL); the source is Parquet (file, glob, directory), a CSV file, or a table of the catalog.

:func:`open_engine` opens one and checks the data contract with aggregate queries
(:mod:`calibrate.data.engine_checks`), refusing bad data with the pandas loader's messages.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from calibrate.data.engine_checks import RELATION, SOURCE_VIEW, check_contract, create_relation
from calibrate.data.load import DEFAULT_DIMENSIONS, DataSpec
from calibrate.errors import DataError

__all__ = ["Engine", "open_engine", "ENGINES", "SOURCE_VIEW", "RELATION"]

ENGINES: tuple[str, ...] = ("pandas", "duckdb", "spark")
SPARK_EXTRA = "install calibrate-health[spark] (pip install 'calibrate-health[spark]'), or use --engine duckdb"


@runtime_checkable
class Engine(Protocol):
    """Snapshots held by a SQL engine; statistics ask it for aggregates.

    Attributes
    ----------
    name : {"duckdb", "spark"}
    dialect : str
        The sqlglot dialect queries are rendered in (``"duckdb"``, ``"spark"``).
    relation : str
        SQL name of the loaded snapshot rows in calibrate's column names (module docstring).
    source : str
        Where the data came from (a path, a glob, a table), as messages and provenance name it.
    dimensions : tuple of str
    columns : tuple of str
        The calibrate columns :attr:`relation` has (the optional ones only when present in the source).
    """

    name: str
    dialect: str
    relation: str
    source: str
    dimensions: tuple[str, ...]
    columns: tuple[str, ...]

    def sql(self, query: str) -> pd.DataFrame:
        """Run ``query`` (DuckDB dialect; transpiled to :attr:`dialect`) and return its (small) result."""
        ...

    def execute(self, statement: str) -> None:
        """Run a statement that returns nothing (``CREATE TEMP VIEW …``), in DuckDB dialect."""
        ...

    def materialize(self, name: str, query: str) -> None:
        """Keep the result of ``query`` (DuckDB dialect; aggregates, far fewer rows than the data) as the temporary
        table ``name``, so that later queries read it instead of scanning the data again (replaced if present)."""
        ...

    def names(self, view: str) -> list[str]:
        """The column names of ``view`` (no job run)."""
        ...

    def write_parquet(self, query: str, path: str | os.PathLike[str]) -> Path:
        """Write the rows of ``query`` (DuckDB dialect) as Parquet at ``path``, all-or-nothing."""
        ...

    def close(self) -> None:
        """Release the connection or session (and the spill directory)."""
        ...


def transpile(query: str, dialect: str) -> str:
    """``query`` (DuckDB dialect) in ``dialect``: the one place SQL changes dialect."""
    if dialect == "duckdb":
        return query
    import sqlglot
    from sqlglot import exp

    def exact(node: exp.Expression) -> exp.Expression:
        """DuckDB's exact ``quantile_cont`` is Spark's ``percentile`` (sqlglot's default is the approximate one);
        DuckDB's ``list_extract`` (1-based) is Spark's ``element_at`` (1-based; sqlglot keeps the name)."""
        if dialect == "spark" and isinstance(node, exp.PercentileCont):
            return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
        if dialect == "spark" and isinstance(node, exp.Anonymous) and str(node.this).lower() == "list_extract":
            return exp.Anonymous(this="element_at", expressions=node.expressions)
        return node

    return ";\n".join(tree.transform(exact).sql(dialect=dialect) for tree in sqlglot.parse(query, read="duckdb"))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimals (Spark's exact sums) as floats; everything else unchanged."""
    for col in frame.columns:
        if frame[col].dtype == object and frame[col].map(lambda v: isinstance(v, Decimal)).any():
            frame[col] = frame[col].map(lambda v: None if v is None else float(v)).astype(float)
    return frame


@dataclass
class _Base:
    source: str
    dimensions: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    relation: str = RELATION
    footer_stats: bool = False
    """Whether the source's own statistics answer column counts, minima and maxima without a scan (DuckDB on
    Parquet: the row groups' footers); :func:`~calibrate.data.engine_checks.check_contract` then asks for them
    apart from the aggregates that must scan."""
    _tmp: str | None = field(default=None, repr=False)

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> _Base:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.relation} from {self.source}>"


def _is_files(source: str) -> bool:
    return any(ch in source for ch in "*?[") or "/" in source or source.lower().endswith((".parquet", ".pq", ".csv")) \
        or Path(source).exists()


def _kind(source: str) -> str:
    """``"csv"`` or ``"parquet"`` for a file source (by extension; a directory or glob is Parquet)."""
    low = source.lower()
    return "csv" if low.endswith((".csv", ".csv.gz")) else "parquet"


def _check_files(source: str) -> None:
    if "://" in source:  # object storage: the engine reads it
        return
    if not glob.glob(source) and not Path(source).exists():
        raise DataError(f"{source}: no such file (or no file matches the glob); check the path")


class DuckDBEngine(_Base):
    """DuckDB in process, out of core (``memory_limit``, spill to a temporary directory)."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, source: str, *, memory_limit: str = "2GB", threads: int | None = None,
                 database: str | None = None) -> None:
        import duckdb

        super().__init__(source=source)
        self._tmp = tempfile.mkdtemp(prefix="calibrate-duckdb-")
        config = {"memory_limit": memory_limit, "temp_directory": self._tmp, "preserve_insertion_order": "false"}
        if threads is not None:
            config["threads"] = str(threads)
        self.con = duckdb.connect(database or ":memory:", read_only=database is not None, config=config)
        if _is_files(source) and database is None:
            _check_files(source)
            path = source.replace("'", "''")
            reader = f"read_csv('{path}', auto_detect = true)" if _kind(source) == "csv" else \
                f"read_parquet('{path}', union_by_name = true)"
            self.execute(f"CREATE TEMP VIEW {SOURCE_VIEW} AS SELECT * FROM {reader}")
            self.footer_stats = _kind(source) == "parquet"
        else:
            self.execute(f"CREATE TEMP VIEW {SOURCE_VIEW} AS SELECT * FROM {source}")

    def sql(self, query: str) -> pd.DataFrame:
        import duckdb

        try:
            return self.con.execute(query).df()
        except duckdb.Error as exc:
            raise _engine_error(self, exc) from None

    def execute(self, statement: str) -> None:
        import duckdb

        try:
            self.con.execute(statement)
        except duckdb.Error as exc:
            raise _engine_error(self, exc) from None

    def materialize(self, name: str, query: str) -> None:
        self.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")

    def names(self, view: str) -> list[str]:
        return [c[0] for c in self.con.execute(f"SELECT * FROM {view} LIMIT 0").description]

    def write_parquet(self, query: str, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            self.execute(f"COPY ({query}) TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def close(self) -> None:
        con = getattr(self, "con", None)
        if con is not None:
            con.close()
            self.con = None
        super().close()


_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %m%n
"""


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """A quiet SparkSession (no UI, errors-only logs, UTC): ``master`` (default ``local[2]``) or a ``sc://`` URL.

    Raises
    ------
    DataError
        pyspark is not installed (exit 2: install the ``spark`` extra).
    """
    import warnings

    # pyspark 4.3 warns that pandas 3 is not fully supported: results come back as plain rows (no Arrow, no
    # toPandas), the conversions that warning is about, so it is silenced for the process
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataError(f"--engine spark needs pyspark: {SPARK_EXTRA}") from None
    master = master or "local[2]"
    if master.startswith("sc://"):
        builder = SparkSession.builder.remote(master)
    else:
        props = Path(tempfile.gettempdir()) / "calibrate-spark-log4j2.properties"
        if not props.exists():
            props.write_text(_LOG4J)
        java = f"-Dlog4j2.configurationFile=file:{props}"
        builder = (SparkSession.builder.master(master).appName("calibrate")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.driver.extraJavaOptions", java)
                   .config("spark.executor.extraJavaOptions", java)
                   .config("spark.sql.shuffle.partitions", "8"))
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if not master.startswith("sc://"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine(_Base):
    """Apache Spark: a local session, a cluster, or Spark Connect."""

    name = "spark"
    dialect = "spark"

    def __init__(self, source: str, *, master: str | None = None, conf: Mapping[str, str] | None = None,
                 session: Any = None) -> None:
        super().__init__(source=source)
        self.spark = session or spark_session(master, conf)
        self._kept: dict[str, Any] = {}
        try:
            if _is_files(source):
                _check_files(source)
                reader = self.spark.read
                frame = reader.option("header", "true").option("inferSchema", "true").csv(source) \
                    if _kind(source) == "csv" else reader.parquet(source)
            else:
                frame = self.spark.table(source)
        except Exception as exc:  # noqa: BLE001 - pyspark raises its own AnalysisException tree
            raise _engine_error(self, exc) from None
        frame.createOrReplaceTempView(SOURCE_VIEW)

    def _run(self, query: str) -> Any:
        try:
            return self.spark.sql(transpile(query, self.dialect))
        except Exception as exc:  # noqa: BLE001
            raise _engine_error(self, exc) from None

    def sql(self, query: str) -> pd.DataFrame:
        frame = self._run(query)
        rows = frame.collect()  # plain rows, no Arrow: pyspark 4's Arrow path is not tested with pandas 3
        return _plain(pd.DataFrame.from_records([tuple(r) for r in rows], columns=frame.columns))

    def execute(self, statement: str) -> None:
        self._run(statement)

    def materialize(self, name: str, query: str) -> None:
        old = self._kept.pop(name, None)
        frame = self._run(query).persist()  # computed by its first use, then read from the cache
        frame.createOrReplaceTempView(name)
        self._kept[name] = frame
        if old is not None:
            old.unpersist()

    def close(self) -> None:
        for frame in self._kept.values():
            frame.unpersist()
        self._kept.clear()
        super().close()

    def names(self, view: str) -> list[str]:
        return list(self.spark.table(view).columns)

    def write_parquet(self, query: str, path: str | os.PathLike[str]) -> Path:
        """Spark writes a Parquet *dataset*: ``path`` is a directory of part files (read it with a glob)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            self._run(query).write.mode("overwrite").parquet(str(tmp))
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target


def _engine_error(engine: _Base, exc: BaseException) -> DataError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    first = re.sub(r"\s+", " ", first)[:300]
    return DataError(f"{engine.source}: the {engine.name} engine could not read or query the data ({first}); "
                     "check --data (a Parquet file or glob, a CSV file, or a table name)")


def open_engine(
    name: str,
    source: str | os.PathLike[str],
    *,
    dimensions: Collection[str] | None = None,
    spec: DataSpec | None = None,
    raw: Collection[str] = (),
    require_outcome: bool = True,
    allow_pending: bool = False,
    spark_master: str | None = None,
    spark_conf: Mapping[str, str] | None = None,
    spark_session: Any = None,
    memory_limit: str | None = None,
    database: str | None = None,
) -> Engine:
    """Open ``source`` on engine ``name`` and check the data contract there (aggregate queries only).

    Parameters
    ----------
    name : {"duckdb", "spark"}
    source : str
        A Parquet file, a glob of Parquet files (``data/*.parquet``, ``s3://bucket/snapshots/*.parquet``), a
        directory of them, a CSV file, or a table name on the engine (a Spark catalog table, or a table of the
        DuckDB ``database``).
    dimensions : collection of str, optional
        The dimension names (default: ``spec.dimensions``, else calibrate's four defaults).
    spec : DataSpec, optional
        Column mapping, churn column and missing rule, as for :func:`calibrate.data.load.load_accounts`
        (``date_format``, ``sheet`` and ``on_missing="median"`` are pandas-only: refused).
    raw : collection of str
        Dimensions read raw (a config's transform maps them to 0–100): not range-checked.
    require_outcome, allow_pending : bool
        As :func:`~calibrate.data.load.load_accounts`: scoring needs no outcome; validation keeps undecided
        renewals (``renewed`` NULL).
    spark_master, spark_conf, spark_session
        Spark's master URL (default ``local[2]``; ``sc://host:15002`` for Spark Connect), extra configuration,
        or an existing session to use.
    memory_limit : str, optional
        DuckDB's memory limit (default ``"2GB"``); beyond it DuckDB spills to a temporary directory.
    database : str, optional
        A DuckDB database file (opened read-only) whose table ``source`` names.

    Returns
    -------
    Engine

    Raises
    ------
    DataError
        An unknown engine, a missing pyspark, an unreadable source, or data that break the contract (the
        pandas loader's one-line messages).
    """
    spec = spec or DataSpec(dimensions=tuple(dimensions) if dimensions else DEFAULT_DIMENSIONS)
    if dimensions is not None and tuple(dimensions) != spec.dimensions:
        spec = DataSpec(**{**spec.__dict__, "dimensions": tuple(dimensions)})
    unsupported = [what for what, on in (("a date format (date_format)", spec.date_format is not None),
                                         ("an Excel sheet", spec.sheet is not None),
                                         ("median imputation (on_missing='median')", spec.on_missing == "median"))
                   if on]
    if unsupported:
        raise DataError(f"--engine {name}: {unsupported[0]} is supported by the pandas engine only; "
                        "use --engine pandas, or prepare the column in the warehouse")
    source = os.fspath(source)
    engine: Any
    if name == "duckdb":
        engine = DuckDBEngine(source, memory_limit=memory_limit or "2GB", database=database)
    elif name == "spark":
        engine = SparkEngine(source, master=spark_master, conf=spark_conf, session=spark_session)
    else:
        raise DataError(f"--engine must be one of {list(ENGINES)[1:]} here (got {name!r}); "
                        "the pandas engine loads with load_accounts")
    try:
        columns = create_relation(engine, spec, require_outcome=require_outcome)
        engine.dimensions, engine.columns = tuple(spec.dimensions), columns
        check_contract(engine, spec, raw=raw, require_outcome=require_outcome, allow_pending=allow_pending)
    except BaseException:
        engine.close()
        raise
    return engine
