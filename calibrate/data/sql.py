"""Database sources: read account snapshots with a SQL query through SQLAlchemy.

``--data`` may be a SQLAlchemy URL used with ``--query``: PostgreSQL (``postgresql://…``, driven by
psycopg 3) or an embedded DuckDB file (``duckdb:///path.duckdb``). Credentials come from the URL
or from the driver's environment (``PGPASSWORD``, ``PGUSER``, ``~/.pgpass``...). They never leave
this module: the source is recorded everywhere (Accounts, configs, MLflow, reports, messages) as
the URL with its password replaced by ``***`` (:func:`redact_url`).

Sources are read-only. The query is parsed with sqlglot (in the database's dialect) and must be
exactly one ``SELECT`` (or ``WITH … SELECT``, a ``UNION`` of them); anything else — ``DROP``,
``COPY … TO``, ``INSERT``, ``PRAGMA``, ``ATTACH``, a data-modifying ``WITH``, ``SELECT … INTO``,
several statements — is refused before it reaches the database. Behind that check, a DuckDB
file is opened ``read_only=True`` (a missing file is an error, never created) and a PostgreSQL
query runs in a ``READ ONLY`` transaction.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pandas as pd

from calibrate.errors import DataError

__all__ = ["read_sql", "redact_url"]

_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
_SQLGLOT_DIALECTS = {"postgresql": "postgres"}
"""SQLAlchemy backend name → sqlglot dialect, where the two differ."""


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (and query-string secrets dropped).

    >>> redact_url("postgresql://ana:s3cret@db.example.com:5432/cs?sslmode=require&password=x")
    'postgresql://ana:***@db.example.com:5432/cs'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url.split("?", 1)[0])
    return parsed.set(query={}).render_as_string(hide_password=True)


def _scrub(text: str, url: str) -> str:
    """Remove the URL's password from a driver message (drivers sometimes echo the DSN)."""
    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparsable URL has no password we can find
        password = None
    text = text.replace(url, redact_url(url))
    if password:
        text = text.replace(str(password), "***")
    return re.sub(r"password=\S+", "password=***", text)


def _refuse_unless_select(query: str, backend: str, source: str) -> None:
    """Raise :class:`DataError` unless ``query`` is exactly one read-only SELECT (module docstring)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import SqlglotError

    name = _SQLGLOT_DIALECTS.get(backend, backend)
    dialect = name if Dialect.get(name) is not None else None
    fix = "pass exactly one SELECT (or WITH … SELECT) as --query: database sources are read-only"
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # sqlglot warns when it falls back to a Command: refused below instead
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{source}: --query is not SQL that can be checked ({first}); {fix}") from None
    finally:
        quiet.setLevel(level)
    if len(statements) != 1:
        raise DataError(f"{source}: --query holds {len(statements)} statements; {fix}")
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        kind = str(statement.this) if isinstance(statement, exp.Command) else statement.key
        raise DataError(f"{source}: --query is not a SELECT ({kind.upper()}); {fix}")
    writes = statement.find(exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Into, exp.Lock)
    if writes is not None:
        what = "SELECT … INTO" if isinstance(writes, exp.Into) else "FOR UPDATE/SHARE" if isinstance(writes, exp.Lock) \
            else f"{writes.key.upper()} inside the SELECT"
        raise DataError(f"{source}: --query writes or locks ({what}); {fix}")


def read_sql(url: str, query: str | None) -> tuple[pd.DataFrame, str, str]:
    """Run ``query`` against the database at ``url``.

    Parameters
    ----------
    url : str
        SQLAlchemy URL; ``postgresql://`` is read with psycopg 3, ``duckdb:///file.duckdb`` with
        the embedded DuckDB engine.
    query : str
        One SELECT (or WITH … SELECT) returning one row per account snapshot; anything else is
        refused before it reaches the database.

    Returns
    -------
    frame : DataFrame
    source : str
        The redacted URL (password replaced by ``***``): what may be recorded.
    sha256 : str
        Content hash of the result (and the query), recorded in a config's provenance.

    Raises
    ------
    DataError
        No query, a query that is not one SELECT, a missing DuckDB file, an unknown or unreachable
        database, or a failing query (message redacted).
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    from calibrate.data._digest import sha256_frame

    source = redact_url(url)
    if not query:
        raise DataError(f"{source}: a database source needs --query (a SELECT of the account snapshots)")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DataError(f"{source}: not a database URL; use e.g. postgresql://user@host/db or duckdb:///file.duckdb") from None
    backend = parsed.get_backend_name()
    _refuse_unless_select(query, backend, source)
    parsed = parsed.set(drivername=_DRIVERS.get(parsed.drivername, parsed.drivername))
    connect_args = {}
    if backend == "duckdb" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise DataError(f"{source}: no DuckDB database at {parsed.database!r}; check the path "
                            "(duckdb:///relative/file.duckdb or duckdb:////absolute/file.duckdb)")
        connect_args["read_only"] = True
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        raise DataError(
            f"{source}: no driver for {parsed.drivername!r} ({type(exc).__name__}); "
            "install calibrate[postgres] for PostgreSQL, or use duckdb:///file.duckdb"
        ) from None
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")  # the first statement of the transaction
            frame = pd.read_sql_query(text(query), conn)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, SQLAlchemyError) else exc
        detail = str(getattr(cause, "orig", None) or cause).strip()
        first = detail.splitlines()[0] if detail else type(cause).__name__
        raise DataError(f"{source}: query failed ({_scrub(first, url)}); check the URL, the credentials and --query") from None
    finally:
        engine.dispose()
    digest = sha256_frame(frame)
    return frame, source, digest
