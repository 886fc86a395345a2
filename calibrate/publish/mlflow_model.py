"""The MLflow pyfunc scorer, logged "from code": MLflow stores *this file* and the config JSON.

Nothing is pickled. On load MLflow runs this file, which hands it :class:`HealthScorer`;
``load_context`` reads the config artifact with :func:`calibrate.config.model.read_config` (schema,
upgrade and tamper checks included) and ``predict`` calls :func:`calibrate.score.scorer.score_frame`,
the one scoring function. Requires calibrate installed where the model is loaded.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd


class HealthScorer(mlflow.pyfunc.PythonModel):
    """Scores a frame of raw dimension columns with the config stored as the ``config`` artifact."""

    def load_context(self, context: Any) -> None:
        from calibrate.config.model import read_config

        self.config = read_config(context.artifacts["config"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from calibrate.score.scorer import score_frame

        return score_frame(pd.DataFrame(model_input), self.config, by="column").reset_index(drop=True)


mlflow.models.set_model(HealthScorer())
