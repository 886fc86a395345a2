"""The MLflow pyfunc scorer, logged "from code": MLflow stores *this file*, the config JSON and the scoring modules.

Nothing is pickled. On load MLflow runs this file, which hands it :class:`HealthScorer`; the model's
``code_paths`` hold the calibrate modules it needs (:mod:`calibrate.publish.scorer_code`), so it loads
where only MLflow and pandas are installed. ``load_context`` reads the config artifact with
:func:`calibrate.config.model.read_config` — strict parse, schema, seal, and the ``content_hash``
recorded at registration (``model_config``), so an unsealed, edited or replaced artifact is refused —
and ``predict`` calls :func:`calibrate.score.scorer.score_frame`, the one scoring function, passing the
id and snapshot columns through in front of the scores.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd


class HealthScorer(mlflow.pyfunc.PythonModel):
    """Scores a frame of dimension columns (integer or float) with the config stored as the ``config`` artifact."""

    def load_context(self, context: Any) -> None:
        from calibrate.config.model import read_config

        registered = (context.model_config or {}).get("content_hash")
        self.config = read_config(context.artifacts["config"], registered_hash=registered)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from calibrate.score.scorer import score_frame

        frame = pd.DataFrame(model_input)
        scored = {d.column for d in self.config.dimensions}
        keys = [c for c in frame.columns if c not in scored]  # what the signature lets through: id and snapshot
        return score_frame(frame, self.config, by="column", keys=keys).reset_index(drop=True)


mlflow.models.set_model(HealthScorer())
