"""``calibrate status``: champion, challenger, the version line and the last decision, in config versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from calibrate.publish.registry import CHALLENGER, CHAMPION, HISTORY_TAG, ScorerVersion, registered
from calibrate.publish.transaction import Stores, publish_session
from calibrate.publish.versions import MODEL_NAME, VersionLine

__all__ = ["Status", "project_status"]


@dataclass(frozen=True)
class Status:
    """Where a project's scorer stands."""

    stores: Stores
    line: VersionLine
    champion: ScorerVersion | None
    challenger: ScorerVersion | None
    champions: list[int]
    last_run: dict[str, str] | None
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields (``calibrate status --json``)."""
        def version(v: ScorerVersion | None) -> dict[str, Any] | None:
            return None if v is None else v.to_dict()

        return {"configs": str(self.stores.configs), "reports": str(self.stores.reports),
                "mlflow": str(self.stores.mlflow), "version_line": self.line.to_dict(),
                "champion": version(self.champion), "challenger": version(self.challenger),
                "champion_history": self.champions, "last_decision": self.last_run, "notes": self.notes}

    def summary(self) -> str:
        """A few lines for the terminal."""
        def said(v: ScorerVersion | None) -> str:
            return "none" if v is None else f"{v.config_name} v{v.config_version} (model version {v.version})"

        lines = [f"stores:      configs {self.stores.configs}, reports {self.stores.reports}, "
                 f"mlflow {self.stores.mlflow}",
                 f"versions:    {self.line.summary()}",
                 f"champion:    {said(self.champion)}",
                 f"challenger:  {said(self.challenger)}"]
        if self.champions:
            lines.append("champions:   " + " -> ".join(f"v{c}" for c in self.champions))
        if self.last_run is None:
            lines.append("last run:    none")
        else:
            r = self.last_run
            drift = f"; drift {r['drift']}" if r.get("drift") else ""
            lines.append(f"last run:    {r['run_name']} ({r['status']}): decision {r.get('decision') or 'not recorded'}"
                         f"{drift}")
            if r.get("verdict"):
                lines.append(f"             {r['verdict']}")
        return "\n".join(lines)


def project_status(stores: Stores, name: str = "account-health") -> Status:
    """Read the stores (cleaning up an interrupted publish first, under the publish lock)."""
    notes: list[str] = []
    if any((d / ".staging").is_dir() for d in (stores.configs, stores.reports)):
        with publish_session(stores) as session:
            notes = session.notes
    line = stores.line(name)
    champion = challenger = None
    champions: list[int] = []
    last_run = None
    if (stores.mlflow / "mlflow.db").is_file():
        from calibrate.publish.registry import _client
        from calibrate.publish.track import EXPERIMENT

        client = _client(stores.mlflow)
        versions = registered(client)
        by_version = {v.version: v for v in versions}
        champion = next((v for v in versions if CHAMPION in v.alias.split(",")), None)
        challenger = next((v for v in versions if CHALLENGER in v.alias.split(",")), None)
        if versions:
            import json

            raw = client.get_registered_model(MODEL_NAME).tags.get(HISTORY_TAG)
            champions = [by_version[m].config_version for m in json.loads(raw) if m in by_version] if raw else []
        experiment = client.get_experiment_by_name(EXPERIMENT)
        runs = [] if experiment is None else client.search_runs(
            [experiment.experiment_id], f"tags.`calibrate.config_name` = '{name}'", order_by=["start_time DESC"],
            max_results=1)
        if runs:
            run = runs[0]
            t = run.data.tags
            last_run = {"run_id": run.info.run_id, "run_name": run.info.run_name, "status": run.info.status,
                        "decision": t.get("calibrate.decision", ""), "drift": t.get("calibrate.drift_verdict", ""),
                        "verdict": t.get("calibrate.verdict", "")}
    return Status(stores=stores, line=line, champion=champion, challenger=challenger, champions=champions,
                  last_run=last_run, notes=notes)
