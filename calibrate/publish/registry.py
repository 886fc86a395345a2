"""The scorer in the MLflow model registry: challenger on every fit, champion on approval.

:func:`register_scorer` logs the scorer as an MLflow pyfunc model *from code* (the file
``calibrate/publish/mlflow_model.py`` plus the published config JSON as its artifact, with an input
and output signature; no pickled state), registers it as :data:`MODEL_NAME` and points the
alias ``challenger`` at it. :func:`promote` moves the alias ``champion`` (remembering the
version it replaced as ``previous-champion``), and ``promote(rollback=True)`` moves it back.
Production loads ``models:/account-health-score@champion``, which scores exactly like
:func:`calibrate.score.scorer.score_frame`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibrate.config.model import WeightConfig, read_config
from calibrate.errors import ConfigError

__all__ = ["MODEL_NAME", "ScorerVersion", "Promotion", "register_scorer", "promote", "champion_uri"]

MODEL_NAME = "account-health-score"
"""Registered model name of the scorer."""
CHALLENGER, CHAMPION, PREVIOUS = "challenger", "champion", "previous-champion"
_MODEL_CODE = Path(__file__).with_name("mlflow_model.py")


def champion_uri(alias: str = CHAMPION) -> str:
    """``models:/account-health-score@<alias>``: what a production job loads."""
    return f"models:/{MODEL_NAME}@{alias}"


@dataclass(frozen=True)
class ScorerVersion:
    """One registered version of the scorer."""

    version: int
    config_name: str
    config_version: int
    content_hash: str | None
    run_id: str
    model_uri: str
    alias: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return {"model": MODEL_NAME, **{k: getattr(self, k) for k in self.__dataclass_fields__}}

    def summary(self) -> str:
        """One line for the terminal."""
        return (f"{MODEL_NAME} version {self.version} = {self.config_name} v{self.config_version} "
                f"(alias {self.alias}; run {self.run_id})")

    def __repr__(self) -> str:
        return f"<ScorerVersion {MODEL_NAME} v{self.version} @{self.alias}: {self.config_name} v{self.config_version}>"


@dataclass(frozen=True)
class Promotion:
    """Where the ``champion`` alias pointed before and after :func:`promote`."""

    version: int
    previous: int | None
    rollback: bool
    config_version: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (``calibrate promote --json``)."""
        return {"model": MODEL_NAME, "champion": self.version, "previous": self.previous,
                "rollback": self.rollback, "config_version": self.config_version, "uri": champion_uri()}

    def summary(self) -> str:
        """One line for the terminal."""
        verb = "rolled back" if self.rollback else "promoted"
        before = f" (was version {self.previous})" if self.previous is not None else ""
        return f"{verb}: {MODEL_NAME}@champion -> version {self.version}{before}; load {champion_uri()}"

    def __repr__(self) -> str:
        return f"<Promotion {MODEL_NAME}@champion {self.previous} -> {self.version}>"


def _store(mlflow_dir: str | os.PathLike[str] | None) -> Path:
    from calibrate.config.model import default_dirs

    return Path(mlflow_dir) if mlflow_dir is not None else default_dirs()["mlflow"]


def _client(mlflow_dir: str | os.PathLike[str] | None) -> Any:
    from calibrate.publish.track import _quiet_mlflow, tracking_uri

    _quiet_mlflow()
    import mlflow

    uri = tracking_uri(_store(mlflow_dir))
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _signature(config: WeightConfig) -> Any:
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    segment = [] if config.segments is None else [ColSpec("string", config.segments.column, required=False)]
    inputs = Schema([ColSpec("double", d.column) for d in config.dimensions] + segment)
    outputs = Schema(
        [ColSpec("double", "score"), ColSpec("string", "band"), ColSpec("string", "band_code"),
         ColSpec("long", "band_index"), ColSpec("double", "p_renew")]
        + [ColSpec("double", f"contribution_{d.name}") for d in config.dimensions]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for pkg in ("calibrate", "mlflow", "pandas", "numpy", "pydantic", "jsonschema"):
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:  # pragma: no cover - a source tree without install
            reqs.append(pkg)
    return reqs


def register_scorer(
    config_path: str | os.PathLike[str],
    *,
    mlflow_dir: str | os.PathLike[str] | None = None,
    alias: str = CHALLENGER,
) -> ScorerVersion:
    """Log the scorer for a published config, register it and point ``alias`` (challenger) at it.

    Logs into the active MLflow run when there is one (as ``calibrate run`` has), else opens a
    run in the local store under ``mlflow_dir``.

    Parameters
    ----------
    config_path : path
        A published config (``<name>-v<version>.json``); it is validated and its hash checked.
    mlflow_dir : path, optional
        The local store (default ``./mlflow`` or ``CALIBRATE_MLFLOW``).
    alias : str, default "challenger"

    Returns
    -------
    ScorerVersion
    """
    config = read_config(config_path)
    _client(mlflow_dir)
    import mlflow
    import pandas as pd

    from calibrate.publish.track import mlflow_run, registry_chatter_dropped

    def log() -> Any:
        return mlflow.pyfunc.log_model(
            name="scorer", python_model=str(_MODEL_CODE), artifacts={"config": str(Path(config_path).resolve())},
            signature=_signature(config), pip_requirements=_requirements(),
            input_example=pd.DataFrame({d.column: [50.0] for d in config.dimensions}
                                       | ({} if config.segments is None
                                          else {config.segments.column: [next(iter(config.segment_weights))]})),
        )

    if mlflow.active_run() is not None:
        info, run_id = log(), mlflow.active_run().info.run_id
    else:
        with mlflow_run(_store(mlflow_dir), run_name=f"scorer-{config.name}-v{config.version}",
                        tags={"calibrate.command": "register"}) as run:
            info, run_id = log(), run.info.run_id
    tags = {"config_name": config.name, "config_version": str(config.version),
            "content_hash": config.content_hash or ""}
    with registry_chatter_dropped():
        mv = mlflow.register_model(info.model_uri, MODEL_NAME, tags=tags)
    client = _client(mlflow_dir)
    client.set_registered_model_alias(MODEL_NAME, alias, str(mv.version))
    return ScorerVersion(
        version=int(mv.version), config_name=config.name, config_version=config.version,
        content_hash=config.content_hash, run_id=run_id, model_uri=info.model_uri, alias=alias,
    )


def _alias_version(client: Any, alias: str) -> int | None:
    from mlflow.exceptions import MlflowException

    try:
        return int(client.get_model_version_by_alias(MODEL_NAME, alias).version)
    except MlflowException:
        return None


def promote(
    version: int | None = None,
    *,
    rollback: bool = False,
    mlflow_dir: str | os.PathLike[str] | None = None,
) -> Promotion:
    """Point ``champion`` at a registered version (default: the challenger), or roll it back.

    Parameters
    ----------
    version : int, optional
        Registered version to promote; an older version is a rollback too. Default: the
        version aliased ``challenger``.
    rollback : bool, default False
        Move ``champion`` back to the version it pointed at before the last promotion.
    mlflow_dir : path, optional

    Returns
    -------
    Promotion

    Raises
    ------
    ConfigError
        No such version, nothing to roll back to, or both ``version`` and ``rollback``.
    """
    from mlflow.exceptions import MlflowException

    store = _store(mlflow_dir)
    if not (store / "mlflow.db").is_file():
        raise ConfigError(f"{store}: no MLflow store here yet; run `calibrate run` first, or pass --mlflow DIR")
    client = _client(mlflow_dir)
    current = _alias_version(client, CHAMPION)
    if rollback:
        if version is not None:
            raise ConfigError("pass either a VERSION or --rollback, not both")
        version = _alias_version(client, PREVIOUS)
        if version is None:
            raise ConfigError(f"{MODEL_NAME}: no previous champion to roll back to; promote a VERSION instead")
    elif version is None:
        version = _alias_version(client, CHALLENGER)
        if version is None:
            raise ConfigError(f"{MODEL_NAME}: no challenger registered; run `calibrate run` first or pass a VERSION")
    try:
        mv = client.get_model_version(MODEL_NAME, str(version))
    except MlflowException:
        known = sorted(int(m.version) for m in client.search_model_versions(f"name='{MODEL_NAME}'"))
        raise ConfigError(
            f"{MODEL_NAME}: no version {version} in the registry (registered: {known or 'none'}); "
            "pass one of those, or check --mlflow"
        ) from None
    if current != version:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION, str(version))
        if current is not None:
            client.set_registered_model_alias(MODEL_NAME, PREVIOUS, str(current))
    config_version = mv.tags.get("config_version")
    return Promotion(version=int(version), previous=current if current != version else None,
                     rollback=rollback or (current is not None and int(version) < current),
                     config_version=int(config_version) if config_version else None)
