"""MLflow tracking in the embedded local store (``mlflow/``: SQLite backend, artifacts beside it).

Only parameters, metrics and artifacts that calibrate writes itself (the config, the report) are
logged — never raw account rows, never credentials. Open the store with::

    mlflow ui --backend-store-uri sqlite:///mlflow/mlflow.db
"""

from __future__ import annotations

import contextlib
import logging
import os
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
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


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
