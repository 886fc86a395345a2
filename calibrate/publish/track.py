"""MLflow tracking in the embedded local store (``mlflow/``: SQLite backend, artifacts beside it).

Only parameters, metrics and artifacts that calibrate writes itself (the config, the report) are
logged, and the training data as a dataset (digest and schema, never rows) — never raw account
rows, never credentials. Open the store with::

    mlflow ui --backend-store-uri sqlite:///mlflow/mlflow.db

The store is relocatable: MLflow records absolute artifact locations, so every time calibrate opens
a store it re-anchors them at the store's present place (:func:`rebase_store`); a moved or copied
project keeps working and writes nothing to its old place. MLflow's telemetry is off unless the
user turns it on (``MLFLOW_DISABLE_TELEMETRY=false``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["tracking_uri", "mlflow_run", "log_results", "rebase_store", "training_dataset", "EXPERIMENT"]

EXPERIMENT = "calibrate"
"""MLflow experiment every calibrate run goes to."""


def tracking_uri(directory: str | os.PathLike[str]) -> str:
    """The SQLite tracking URI of the store in ``directory``."""
    return f"sqlite:///{Path(directory).resolve() / 'mlflow.db'}"


def _quiet_mlflow() -> None:
    """MLflow's own INFO logs off (store creation, migrations): warnings and errors still show.

    ``import mlflow`` configures its loggers (level ``MLFLOW_LOGGING_LEVEL``, default INFO), so the
    levels are set after that import; a user who sets ``MLFLOW_LOGGING_LEVEL`` keeps their level.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # read when mlflow is first imported
    import mlflow  # noqa: F401 - configures the loggers set below

    if os.environ.get("MLFLOW_LOGGING_LEVEL"):
        return
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


_REGISTRY_CHATTER = re.compile(
    r"^(Successfully registered model '.*'\.|Registered model '.*' already exists\. Creating a new version of this "
    r"model\.\.\.|Created version '\d+' of model '.*'\.)$"
)


@contextlib.contextmanager
def registry_chatter_dropped() -> Iterator[None]:
    """Around an MLflow registry call: drop its progress prints, pass on everything else it writes to stderr.

    ``mlflow.register_model`` prints "Successfully registered model ..." / "Created version ..."
    to stderr unconditionally (not through a logger). Its stderr is held while the call runs and
    written out afterwards — an exception included — without those lines.
    """
    held = io.StringIO()
    try:
        with contextlib.redirect_stderr(held):
            yield
    finally:
        kept = [line for line in held.getvalue().splitlines(keepends=True) if not _REGISTRY_CHATTER.match(line.strip())]
        if kept:
            sys.stderr.write("".join(kept))


@contextlib.contextmanager
def mlflow_run(directory: str | os.PathLike[str], *, run_name: str, tags: Mapping[str, str] | None = None) -> Iterator[Any]:
    """Open a run in the local store under ``directory``; yields the active ``mlflow.ActiveRun``.

    The experiment's artifacts live in ``<directory>/artifacts``. The tracking URI is set for this
    process (MLflow keeps it globally).
    """
    _quiet_mlflow()
    import mlflow

    root = Path(directory).resolve()
    root.mkdir(parents=True, exist_ok=True)
    rebase_store(root)
    mlflow.set_tracking_uri(tracking_uri(root))
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        experiment_id = mlflow.create_experiment(EXPERIMENT, artifact_location=(root / "artifacts").as_uri())
    else:
        experiment_id = experiment.experiment_id
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=dict(tags or {})) as run:
        yield run


# MLflow's tables holding absolute artifact locations (file URIs or paths) under the store's root.
_LOCATION_COLUMNS = (("experiments", "artifact_location"), ("runs", "artifact_uri"),
                     ("logged_models", "artifact_location"), ("model_versions", "storage_location"),
                     ("model_versions", "source"))


def rebase_store(directory: str | os.PathLike[str]) -> bool:
    """Re-anchor the store's recorded artifact locations at its present place; True when it had moved.

    The ``calibrate`` experiment's artifact location says where the store was created
    (``file://<old>/artifacts``). When that is not ``<directory>/artifacts`` — the project was moved
    or copied — every location under the old root is rewritten to the same path under the new one,
    in one SQLite transaction. A store that has not moved, or does not exist yet, is left alone.
    """
    db = Path(directory).resolve() / "mlflow.db"
    if not db.is_file():
        return False
    new = (db.parent / "artifacts").as_uri()
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as con, con:
        try:
            row = con.execute("SELECT artifact_location FROM experiments WHERE name = ?", (EXPERIMENT,)).fetchone()
        except sqlite3.OperationalError:  # not (yet) an MLflow store
            return False
        old = row[0] if row else None
        if not old or old == new or not old.startswith("file://"):
            return False
        old_path, new_path = old.removeprefix("file://"), new.removeprefix("file://")
        for table, column in _LOCATION_COLUMNS:
            for before, after in ((old, new), (old_path, new_path)):
                con.execute(f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE substr({column}, 1, ?) = ?",
                            (after, len(before) + 1, len(before), before))
    return True


def log_results(params: Mapping[str, Any], metrics: Mapping[str, float], artifacts: list[Path]) -> None:
    """Log parameters, finite metrics and artifact files to the active run (one call each)."""
    import math

    import mlflow

    mlflow.log_params({k: ("" if v is None else str(v))[:6000] for k, v in params.items()})
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))})
    for path in artifacts:
        mlflow.log_artifact(str(path))


def _public_source(source: str) -> str:
    """A data source fit to record: a file's name, or a URL without user, password and query."""
    from urllib.parse import urlsplit

    if "://" not in source:
        return Path(source).name
    url = urlsplit(source)
    return f"{url.scheme}://{url.hostname or ''}{f':{url.port}' if url.port else ''}{url.path}"


def training_dataset(frame: Any, *, source: str, sha256: str) -> Any:
    """The training data as an MLflow dataset for ``mlflow.log_input``: name, digest and schema — no rows.

    ``sha256`` is the data's content hash (the config's ``provenance.data_sha256``); the digest is its
    first 32 hex digits (MLflow's digest column is short). Credentials in a database URL are dropped.
    """
    _quiet_mlflow()
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types import ColSpec, Schema

    def kind(dtype: Any) -> str:
        return {"b": "boolean", "i": "long", "u": "long", "f": "double", "M": "datetime"}.get(dtype.kind, "string")

    schema = Schema([ColSpec(kind(dtype), str(col)) for col, dtype in frame.dtypes.items()])
    public = _public_source(source)
    return MetaDataset(CodeDatasetSource(tags={"calibrate.data_source": public}), name=Path(public).stem or public,
                       digest=sha256.removeprefix("sha256:")[:32], schema=schema)
