"""The scorer in the MLflow model registry: challenger on every fit, champion on approval.

:func:`register_scorer` logs the scorer as an MLflow pyfunc model *from code* (the file
``calibrate/publish/mlflow_model.py`` plus the published config JSON as its artifact, with an input
and output signature; no pickled state), registers it as :data:`MODEL_NAME` with the tags
``config_name``, ``config_version`` and ``content_hash`` and points the alias ``challenger`` at it.
Users speak config versions: :func:`promote` takes one (``--version N``), finds its model version
through the ``config_version`` tag and moves the alias ``champion``; every promotion is kept in the
registered model's tag ``calibrate.champion_history``, so ``promote(rollback=True)`` goes back to
the previous champion, and again to the one before. Production loads
``models:/account-health-score@champion``, which scores exactly like
:func:`calibrate.score.scorer.score_frame`.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibrate.config.model import WeightConfig, read_config
from calibrate.errors import ConfigError
from calibrate.publish.lock import publish_lock
from calibrate.publish.versions import MODEL_NAME

__all__ = ["MODEL_NAME", "ScorerVersion", "Promotion", "register_scorer", "promote", "champion_uri", "registered"]

CHALLENGER, CHAMPION, PREVIOUS = "challenger", "champion", "previous-champion"
HISTORY_TAG = "calibrate.champion_history"
"""Registered model tag: the model versions made champion, oldest first (a rollback pops the last)."""
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
    """Where the ``champion`` alias pointed before and after :func:`promote`, in config and model versions."""

    config_name: str
    config_version: int
    version: int
    previous_config_version: int | None
    previous: int | None
    rollback: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (``calibrate promote --json``): ``champion``/``previous`` are config versions."""
        return {"model": MODEL_NAME, "config_name": self.config_name, "champion": self.config_version,
                "previous": self.previous_config_version, "model_version": self.version,
                "previous_model_version": self.previous, "rollback": self.rollback, "uri": champion_uri()}

    def summary(self) -> str:
        """One line for the terminal."""
        verb = "rolled back" if self.rollback else "promoted"
        before = f" (was v{self.previous_config_version})" if self.previous_config_version is not None else ""
        return (f"{verb}: {self.config_name} v{self.config_version} is champion{before}; "
                f"{MODEL_NAME} model version {self.version}; load {champion_uri()}")

    def __repr__(self) -> str:
        return f"<Promotion {self.config_name} champion v{self.previous_config_version} -> v{self.config_version}>"


def _store(mlflow_dir: str | os.PathLike[str] | None) -> Path:
    from calibrate.config.model import default_dirs

    return Path(mlflow_dir) if mlflow_dir is not None else default_dirs()["mlflow"]


def _client(mlflow_dir: str | os.PathLike[str] | None) -> Any:
    from calibrate.publish.track import _quiet_mlflow, rebase_store, tracking_uri

    _quiet_mlflow()
    import mlflow

    store = _store(mlflow_dir)
    rebase_store(store)
    uri = tracking_uri(store)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _scorer_version(mv: Any, alias: str = "") -> ScorerVersion:
    tags = mv.tags or {}
    return ScorerVersion(version=int(mv.version), config_name=tags.get("config_name", ""),
                         config_version=int(tags.get("config_version") or 0), content_hash=tags.get("content_hash"),
                         run_id=mv.run_id or "", model_uri=f"models:/{MODEL_NAME}/{mv.version}", alias=alias)


def _example(dimension: Any) -> Any:
    """A value of the dimension's column for the input example: 50, or the first label of a learned categorical one."""
    labelled = dimension.transform is not None and dimension.transform.categories is not None
    return next(iter(dimension.transform.categories)) if labelled else 50.0


def registered(client: Any) -> list[ScorerVersion]:
    """Every registered version of the scorer, lowest model version first, with its aliases."""
    from mlflow.exceptions import MlflowException

    try:
        aliases: dict[str, list[str]] = {}
        for name, version in client.get_registered_model(MODEL_NAME).aliases.items():
            aliases.setdefault(str(version), []).append(name)
    except MlflowException:  # nothing registered yet
        return []
    found = client.search_model_versions(f"name='{MODEL_NAME}'")
    return sorted((_scorer_version(mv, ",".join(sorted(aliases.get(str(mv.version), [])))) for mv in found),
                  key=lambda v: v.version)


def log_and_register(config: WeightConfig, config_file: Path, *, description: str = "",
                     alias: str | None = CHALLENGER) -> ScorerVersion:
    """In the active MLflow run: log the scorer for ``config`` (file ``config_file``), register it, set ``alias``.

    The model version carries the tags ``config_name``, ``config_version`` and ``content_hash``
    and ``description`` (what the meeting decided). The caller rolls back on failure
    (:func:`delete_run_versions`).
    """
    import mlflow
    import pandas as pd

    from calibrate.publish.track import registry_chatter_dropped

    from calibrate.publish.scorer_code import scorer_requirements, scorer_signature, stage_scorer_code

    with tempfile.TemporaryDirectory() as code:  # the scorer's modules travel in code_paths (no pickled state)
        info = mlflow.pyfunc.log_model(
            name="scorer", python_model=str(_MODEL_CODE), artifacts={"config": str(Path(config_file).resolve())},
            code_paths=stage_scorer_code(Path(code)), model_config={"content_hash": config.content_hash},
            signature=scorer_signature(config), pip_requirements=scorer_requirements(),
            input_example=pd.DataFrame({d.column: [_example(d)] for d in config.dimensions}
                                       | ({} if config.segments is None
                                          else {config.segments.column: [next(iter(config.segments.weights))]})),
        )
    tags = {"config_name": config.name, "config_version": str(config.version),
            "content_hash": config.content_hash or ""}
    with registry_chatter_dropped():
        mv = mlflow.register_model(info.model_uri, MODEL_NAME, tags=tags)
    client = mlflow.MlflowClient()
    if description:
        client.update_model_version(MODEL_NAME, str(mv.version), description=description)
    if alias:
        client.set_registered_model_alias(MODEL_NAME, alias, str(mv.version))
    return ScorerVersion(version=int(mv.version), config_name=config.name, config_version=config.version,
                         content_hash=config.content_hash, run_id=mlflow.active_run().info.run_id,
                         model_uri=info.model_uri, alias=alias or "")


def delete_run_versions(client: Any, run_id: str) -> list[int]:
    """Delete the registered versions a (rolled-back) run created; returns their numbers."""
    gone = [int(mv.version) for mv in client.search_model_versions(f"name='{MODEL_NAME}' and run_id='{run_id}'")]
    for version in gone:
        client.delete_model_version(MODEL_NAME, str(version))
    return gone


def register_scorer(
    config_path: str | os.PathLike[str],
    *,
    mlflow_dir: str | os.PathLike[str] | None = None,
    alias: str = CHALLENGER,
) -> ScorerVersion:
    """Register the scorer of a published config and point ``alias`` (challenger) at it.

    Opens a run ``scorer-<name>-v<version>`` in the local store under ``mlflow_dir``, holding the
    store's publish lock. A config already registered with the same content hash is not registered
    twice (its version is returned); on a failure the new run is marked FAILED and its registry
    version deleted.

    Parameters
    ----------
    config_path : path
        A published config (``<name>-v<version>.json``); it is validated and its hash checked.
    mlflow_dir : path, optional
        The local store (default ``mlflow/`` in the project root, or ``CALIBRATE_MLFLOW``).
    alias : str, default "challenger"

    Returns
    -------
    ScorerVersion

    Raises
    ------
    ConfigError
        The config's version is registered already with different content.
    """
    config = read_config(config_path)
    store = _store(mlflow_dir)
    with publish_lock(store):
        client = _client(mlflow_dir)
        same = [v for v in registered(client) if (v.config_name, v.config_version) == (config.name, config.version)]
        if same and same[-1].content_hash == config.content_hash:
            return same[-1]
        if same:
            raise ConfigError(f"{config_path}: {config.name} v{config.version} is registered already with other content "
                              f"(model version {same[-1].version}); a version number is never reused — publish it as "
                              "a new version with `calibrate config publish`")
        from calibrate.publish.track import mlflow_run

        with mlflow_run(store, run_name=f"scorer-{config.name}-v{config.version}",
                        tags={"calibrate.command": "register"}) as run:
            try:
                return log_and_register(config, Path(config_path), alias=alias)
            except BaseException:
                delete_run_versions(client, run.info.run_id)
                raise


def _alias_version(client: Any, alias: str) -> int | None:
    from mlflow.exceptions import MlflowException

    try:
        return int(client.get_model_version_by_alias(MODEL_NAME, alias).version)
    except MlflowException:
        return None


def _history(client: Any) -> list[int]:
    raw = client.get_registered_model(MODEL_NAME).tags.get(HISTORY_TAG)
    return [int(v) for v in json.loads(raw)] if raw else []


def promote(
    version: int | None = None,
    *,
    rollback: bool = False,
    name: str | None = None,
    mlflow_dir: str | os.PathLike[str] | None = None,
) -> Promotion:
    """Make config ``version`` the champion (default: the challenger), or go back to the previous champion.

    Parameters
    ----------
    version : int, optional
        A config version; its registered model version is found through the ``config_version``
        tag. Default: the version aliased ``challenger``.
    rollback : bool, default False
        Move ``champion`` back to the champion before the current one (repeatable).
    name : str, optional
        Config name, when the registry holds scorers of several names.
    mlflow_dir : path, optional

    Returns
    -------
    Promotion

    Raises
    ------
    ConfigError
        No store, no such config version registered, nothing to roll back to, or both
        ``version`` and ``rollback``.
    """
    store = _store(mlflow_dir)
    if not (store / "mlflow.db").is_file():
        raise ConfigError(f"{store}: no MLflow store here yet; run `calibrate run` first, or pass --mlflow DIR")
    if rollback and version is not None:
        raise ConfigError("pass either --version N or --rollback, not both")
    with publish_lock(store):
        client = _client(mlflow_dir)
        versions = {v.version: v for v in registered(client)}
        current = _alias_version(client, CHAMPION)
        history = _history(client) if versions else []
        if current is not None and (not history or history[-1] != current):
            history.append(current)  # a champion set before the history was kept
        if rollback:
            if len(history) < 2:
                raise ConfigError(f"{MODEL_NAME}: no previous champion to roll back to; promote one with --version N")
            history.pop()
            target = versions.get(history[-1])
        elif version is None:
            challenger = _alias_version(client, CHALLENGER)
            if challenger is None:
                raise ConfigError(f"{MODEL_NAME}: no challenger registered; run `calibrate run` first or pass --version N")
            target = versions.get(challenger)
        else:
            matches = [v for v in versions.values() if v.config_version == version and name in (None, v.config_name)]
            if len({v.config_name for v in matches}) > 1:
                raise ConfigError(f"config v{version} is registered under several names "
                                  f"({', '.join(sorted({v.config_name for v in matches}))}); pass --name")
            if not matches:
                known = sorted({v.config_version for v in versions.values() if name in (None, v.config_name)})
                raise ConfigError(f"{MODEL_NAME}: config v{version} is not registered (registered config versions: "
                                  f"{', '.join(f'v{k}' for k in known) or 'none'}); pass one of those, or register it "
                                  "with `calibrate register CONFIG`")
            target = matches[-1]
        if target is None:  # pragma: no cover - an alias or history entry on a deleted version
            raise ConfigError(f"{MODEL_NAME}: the version to promote was deleted from the registry; pass --version N")
        if target.version != current:
            client.set_registered_model_alias(MODEL_NAME, CHAMPION, str(target.version))
            if not rollback:
                history.append(target.version)
        if len(history) >= 2:
            client.set_registered_model_alias(MODEL_NAME, PREVIOUS, str(history[-2]))
        elif _alias_version(client, PREVIOUS) is not None:
            client.delete_registered_model_alias(MODEL_NAME, PREVIOUS)
        client.set_registered_model_tag(MODEL_NAME, HISTORY_TAG, json.dumps(history))
    before = versions.get(current) if current is not None and current != target.version else None
    return Promotion(config_name=target.config_name, config_version=target.config_version, version=target.version,
                     previous_config_version=before.config_version if before else None,
                     previous=before.version if before else None,
                     rollback=rollback or (before is not None and target.config_version < before.config_version))
