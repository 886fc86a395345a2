"""MLflow tracking in the embedded local store (``mlflow/``: SQLite backend, artifacts beside it).

Only parameters, metrics and artifacts that calibrate writes itself (the config, the report) are
logged — never raw account rows, never credentials. Open the store with::

    mlflow ui --backend-store-uri sqlite:///mlflow/mlflow.db
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["tracking_uri", "mlflow_run", "log_results", "EXPERIMENT"]

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
    mlflow.set_tracking_uri(tracking_uri(root))
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        experiment_id = mlflow.create_experiment(EXPERIMENT, artifact_location=(root / "artifacts").as_uri())
    else:
        experiment_id = experiment.experiment_id
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=dict(tags or {})) as run:
        yield run


def log_results(params: Mapping[str, Any], metrics: Mapping[str, float], artifacts: list[Path]) -> None:
    """Log parameters, finite metrics and artifact files to the active run (one call each)."""
    import math

    import mlflow

    mlflow.log_params({k: ("" if v is None else str(v))[:6000] for k, v in params.items()})
    mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(float(v))})
    for path in artifacts:
        mlflow.log_artifact(str(path))
