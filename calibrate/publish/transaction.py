"""Publishing a version as one transaction: nothing, or a complete version.

A publish stages everything first and makes the config visible last:

1. ``begin``: under the publish lock (:mod:`calibrate.publish.lock`), leftovers of an interrupted
   publish are cleaned (:func:`recover`), the version is taken from the version line and a journal
   is written to ``<configs>/.staging/<token>/journal.json``;
2. ``run``: the MLflow run opens (tagged with the journal's token);
3. ``staged``: the config and the report are written into the staging directories;
4. ``logged``: parameters, metrics, tags, the dataset and the artifacts go to the run;
5. ``registered``: the scorer is registered (model version tagged ``config_version``) and aliased
   ``challenger``;
6. ``finished``: the run is marked FINISHED;
7. ``report``: the report is linked into ``reports/<name>-v<N>/`` (never over an existing one);
8. ``config``: the config is linked into ``configs/`` — the commit point.

Any failure before the commit rolls back what was staged (the registry version deleted and the
challenger alias restored, the run marked FAILED, the report and staging removed) and raises
:class:`PublishError` (exit 2, one line). A process killed at any stage leaves a journal; the next
command that opens the stores (:func:`recover`) rolls it back — or, when the config had become
visible, finishes it — and says what it did. :func:`_checkpoint` marks each stage boundary (the
tests inject faults there).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calibrate.config.model import WeightConfig, atomic_write_text, config_path, default_dirs, write_config
from calibrate.errors import CalibrateError, ConfigError
from calibrate.publish.lock import publish_lock
from calibrate.publish.versions import VersionLine, version_line

__all__ = ["STAGES", "PublishError", "Stores", "Publication", "publish_session", "publish_config", "recover"]

STAGES = ("begin", "run", "staged", "logged", "registered", "finished", "report", "config")
"""The stage boundaries of a publish, in order (:func:`_checkpoint` is called after each)."""
STAGING = ".staging"


class PublishError(CalibrateError):
    """A publish failed part-way and was rolled back: nothing was published."""


def _checkpoint(stage: str) -> None:
    """Called after each stage of a publish; does nothing (the fault-injection point of the tests)."""


@dataclass(frozen=True)
class Stores:
    """The three store directories of a project."""

    configs: Path
    reports: Path
    mlflow: Path

    @classmethod
    def resolve(cls, configs: str | os.PathLike[str] | None = None, reports: str | os.PathLike[str] | None = None,
                mlflow: str | os.PathLike[str] | None = None) -> Stores:
        """Options where given, else :func:`calibrate.config.model.default_dirs` (project root, ``CALIBRATE_*``)."""
        dirs = default_dirs()
        return cls(configs=Path(configs) if configs is not None else dirs["configs"],
                   reports=Path(reports) if reports is not None else dirs["reports"],
                   mlflow=Path(mlflow) if mlflow is not None else dirs["mlflow"])

    def line(self, name: str) -> VersionLine:
        """The version line of ``name`` across the three stores (read-only)."""
        return version_line(name, configs=self.configs, reports=self.reports, mlflow=self.mlflow)


@dataclass
class _Journal:
    token: str
    name: str
    version: int
    stores: Stores
    previous_challenger: int | None = None
    run_id: str | None = None
    done: bool = False  # this process linked the config into place (the commit point)

    @property
    def config_dir(self) -> Path:
        return self.stores.configs / STAGING / self.token

    @property
    def report_dir(self) -> Path:
        return self.stores.reports / STAGING / self.token

    @property
    def staged_config(self) -> Path:
        return self.config_dir / f"{self.name}-v{self.version}.json"

    @property
    def staged_report(self) -> Path:
        return self.report_dir / "report.html"

    @property
    def final_config(self) -> Path:
        return config_path(self.stores.configs, self.name, self.version)

    @property
    def final_report(self) -> Path:
        return self.stores.reports / f"{self.name}-v{self.version}" / "report.html"

    def save(self) -> None:
        doc = {"token": self.token, "name": self.name, "version": self.version, "pid": os.getpid(),
               "previous_challenger": self.previous_challenger, "run_id": self.run_id}
        atomic_write_text(self.config_dir / "journal.json", json.dumps(doc, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path, stores: Stores) -> _Journal:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return cls(token=doc["token"], name=doc["name"], version=int(doc["version"]), stores=stores,
                   previous_challenger=doc.get("previous_challenger"), run_id=doc.get("run_id"))

    def committed(self) -> bool:
        """The config is visible: the staged file and the published one are the same file."""
        return self.done or self.final_config.is_file() and self.staged_config.is_file() and \
            os.path.samefile(self.final_config, self.staged_config)

    def discard_staging(self) -> None:
        for d in (self.config_dir, self.report_dir):
            shutil.rmtree(d, ignore_errors=True)
            with contextlib.suppress(OSError):
                d.parent.rmdir()  # .staging itself, when nothing else is in it


def _mlflow_client(stores: Stores) -> Any | None:
    if not (stores.mlflow / "mlflow.db").is_file():
        return None
    from calibrate.publish.registry import _client

    return _client(stores.mlflow)


def _journal_runs(client: Any, journal: _Journal) -> list[Any]:
    from mlflow.entities import ViewType

    from calibrate.publish.track import EXPERIMENT

    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], f"tags.`calibrate.publish_token` = '{journal.token}'",
                              run_view_type=ViewType.ALL)


def _roll_back(journal: _Journal) -> str:
    """Undo a publish that did not reach its commit point; returns what was undone, in words."""
    from calibrate.publish.registry import CHALLENGER, MODEL_NAME, delete_run_versions

    done: list[str] = []
    client = _mlflow_client(journal.stores)
    if client is not None:
        for run in _journal_runs(client, journal):
            deleted = delete_run_versions(client, run.info.run_id)
            done += [f"registry version {v} deleted" for v in deleted]
            if deleted and journal.previous_challenger is not None:
                with contextlib.suppress(Exception):  # the previous challenger may be gone too
                    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, str(journal.previous_challenger))
            if run.info.status != "FAILED":
                client.set_terminated(run.info.run_id, status="FAILED")
            done.append(f"run {run.info.run_id} marked FAILED")
    if journal.final_report.is_file() and journal.staged_report.is_file() and \
            os.path.samefile(journal.final_report, journal.staged_report):
        journal.final_report.unlink()
        with contextlib.suppress(OSError):
            journal.final_report.parent.rmdir()
        done.append(f"report {journal.final_report} removed")
    journal.discard_staging()
    return ", ".join(done) or "staging removed"


def recover(stores: Stores) -> list[str]:
    """Clean up after publishes that were killed part-way; call with the publish lock held.

    A journal whose config is visible is finished (its run marked FINISHED, staging removed); any
    other is rolled back. Staging without a journal is removed.

    Returns
    -------
    list of str
        One sentence per interrupted publish, saying what was done.
    """
    notes: list[str] = []
    for path in sorted((stores.configs / STAGING).glob("*/journal.json")):
        journal = _Journal.load(path, stores)
        what = f"{journal.name} v{journal.version}"
        if journal.committed():
            client = _mlflow_client(stores)
            for run in _journal_runs(client, journal) if client is not None else []:
                if run.info.status == "RUNNING":
                    client.set_terminated(run.info.run_id, status="FINISHED")
            journal.discard_staging()
            notes.append(f"an interrupted publish of {what} had made its config visible; finished it")
        else:
            notes.append(f"rolled back an interrupted publish of {what}: {_roll_back(journal)}")
    for d in (stores.configs / STAGING, stores.reports / STAGING):
        for leftover in d.iterdir() if d.is_dir() else ():
            if not (stores.configs / STAGING / leftover.name / "journal.json").is_file():
                shutil.rmtree(leftover, ignore_errors=True)
                notes.append(f"removed leftover staging {leftover}")
    return notes


@dataclass
class Publication:
    """A publish in progress: its version and MLflow run (see the module docstring for the stages)."""

    journal: _Journal
    run_id: str
    notes: list[str] = field(default_factory=list)

    @property
    def version(self) -> int:
        """The version being published."""
        return self.journal.version

    @property
    def config_path(self) -> Path:
        """Where the config will be visible after the commit."""
        return self.journal.final_config

    @property
    def report_path(self) -> Path:
        """Where the report will be after the commit."""
        return self.journal.final_report

    def commit(
        self,
        config: WeightConfig,
        *,
        report_html: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str] | None = None,
        description: str = "",
        dataset: Any = None,
    ) -> Path:
        """Stage, log, register and publish ``config`` with its report; returns the config's path.

        ``config`` must be sealed and carry this publication's version. ``dataset`` is an MLflow
        dataset (digest and schema) logged as the run's training input.
        """
        import mlflow

        from calibrate.publish.registry import log_and_register
        from calibrate.publish.track import log_results

        j = self.journal
        if config.version != j.version or config.content_hash != config.compute_hash():
            raise PublishError(f"internal: config v{config.version} is not the sealed v{j.version} being published")
        atomic_write_text(j.staged_config, config.to_json(), exclusive=True)
        atomic_write_text(j.staged_report, report_html, exclusive=True)
        _checkpoint("staged")
        log_results(params, metrics, [j.staged_config, j.staged_report])
        mlflow.set_tags(dict(tags or {}))
        if dataset is not None:
            mlflow.log_input(dataset, context="training")
        _checkpoint("logged")
        log_and_register(config, j.staged_config, description=description)
        _checkpoint("registered")
        mlflow.end_run("FINISHED")
        _checkpoint("finished")
        j.final_report.parent.mkdir(parents=True, exist_ok=False)
        os.link(j.staged_report, j.final_report)
        _checkpoint("report")
        os.link(j.staged_config, j.final_config)  # the commit point: fails if the version exists
        j.done = True
        _checkpoint("config")
        j.discard_staging()
        return j.final_config


@dataclass
class Session:
    """The stores under the publish lock, with what :func:`recover` cleaned on the way in."""

    stores: Stores
    notes: list[str]

    @contextlib.contextmanager
    def publication(self, name: str, version: int, *, command: str) -> Iterator[Publication]:
        """Begin publishing ``name`` v``version``: journal, then the MLflow run; rolled back unless committed.

        Raises
        ------
        PublishError
            Anything failed before the commit (after the rollback; the message says what failed).
        """
        import mlflow

        from calibrate.publish.registry import CHALLENGER, _alias_version, _client
        from calibrate.publish.track import mlflow_run

        journal = _Journal(token=secrets.token_hex(8), name=name, version=version, stores=self.stores)
        journal.save()
        _checkpoint("begin")
        try:
            with mlflow_run(self.stores.mlflow, run_name=f"{name}-v{version}",
                            tags={"calibrate.command": command, "calibrate.publish_token": journal.token,
                                  "calibrate.config_name": name, "calibrate.config_version": str(version)}) as run:
                journal.run_id = run.info.run_id
                journal.previous_challenger = _alias_version(_client(self.stores.mlflow), CHALLENGER)
                journal.save()
                _checkpoint("run")
                pub = Publication(journal=journal, run_id=run.info.run_id, notes=self.notes)
                yield pub
                if not journal.committed():
                    raise PublishError(f"internal: {name} v{version} was not committed")
        except BaseException as exc:
            if journal.committed():
                raise
            if mlflow.active_run() is not None:
                mlflow.end_run("FAILED")
            undone = _roll_back(journal)
            if not isinstance(exc, Exception):
                raise
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise PublishError(f"publishing {name} v{version} failed ({reason}); rolled back ({undone}), "
                               "nothing published; fix the cause and run again") from exc


@contextlib.contextmanager
def publish_session(stores: Stores) -> Iterator[Session]:
    """Hold the publish lock of the three stores and clean up interrupted publishes first."""
    with publish_lock(stores.configs, stores.reports, stores.mlflow):
        yield Session(stores=stores, notes=recover(stores))


def publish_config(config: WeightConfig, stores: Stores) -> tuple[Path, str, list[str]]:
    """Publish a config file alone (``calibrate config publish``: no report, run or registration).

    Under the publish lock: a config equal to the latest published version apart from the envelope
    publishes nothing; version 0 takes the next number of the version line; a version already
    issued anywhere is refused.

    Returns
    -------
    tuple
        The config's path, ``"published"`` or ``"identical"``, and what :func:`recover` cleaned.

    Raises
    ------
    ConfigError
        The config's version was issued before.
    """
    with publish_session(stores) as session:
        line = stores.line(config.name)
        if (same := line.identical_to(config)) is not None:
            return config_path(stores.configs, config.name, same), "identical", session.notes
        version = config.version if config.version >= 1 else line.next
        if version <= line.highest:
            raise ConfigError(f"{config.name} v{version} was issued already (highest issued v{line.highest}) and a "
                              "number is never reused; set \"version\": 0 in the file to take the next one")
        path = write_config(config.model_copy(update={"version": version, "content_hash": None}), stores.configs)
        return path, "published", session.notes
