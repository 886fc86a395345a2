"""What the registered scorer carries, so that it loads where only MLflow and pandas are installed.

The model is logged *from code* (:mod:`calibrate.publish.mlflow_model`) with ``code_paths`` holding
the calibrate modules it runs — :data:`SCORER_MODULES`, copied byte for byte from this installation,
so the registered scorer runs the same :func:`calibrate.score.scorer.score_frame` as ``calibrate score``
and the same :func:`calibrate.config.model.read_config` seal check. They are staged as a namespace
package (no ``__init__`` files, which would pull in the rest of calibrate): where calibrate itself is
installed, its regular package takes precedence. Requirements name only packages on the index (MLflow,
pandas, numpy, pydantic, PyYAML), never calibrate; nothing is pickled.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from calibrate.config.model import WeightConfig

__all__ = ["SCORER_MODULES", "SCORER_REQUIREMENTS", "stage_scorer_code", "scorer_requirements", "scorer_signature"]

SCORER_MODULES = (
    "errors.py",
    "_html.py",
    "config/model.py",
    "config/seal.py",
    "config/schema/weight-config.schema.json",
    "data/transforms.py",
    "score/scorer.py",
)
"""Files of the ``calibrate`` package the scorer imports (paths inside the package)."""
SCORER_REQUIREMENTS = ("mlflow", "pandas", "numpy", "pydantic", "pyyaml")
"""Distributions the scorer imports (pinned to the installed versions when it is logged)."""

_PACKAGE = Path(__file__).resolve().parents[1]


def stage_scorer_code(directory: Path) -> list[str]:
    """Copy :data:`SCORER_MODULES` into ``directory/calibrate``; the ``code_paths`` to log with the model.

    Parameters
    ----------
    directory : Path
        An empty directory that outlives the ``log_model`` call.

    Returns
    -------
    list of str
        ``[directory/calibrate]``.
    """
    target = Path(directory) / "calibrate"
    for relative in SCORER_MODULES:
        dest = target / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_PACKAGE / relative, dest)
    return [str(target)]


def scorer_requirements() -> list[str]:
    """``name==version`` for each of :data:`SCORER_REQUIREMENTS`, as installed here."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in SCORER_REQUIREMENTS]


def scorer_signature(config: WeightConfig) -> Any:
    """The scorer's signature: each dimension column (integer or float), the optional id columns, the outputs.

    Sub-scores are typed ``any`` because MLflow refuses int64 for a ``double`` column while
    ``calibrate score`` accepts integers; :func:`calibrate.score.scorer.score_frame` converts them. The
    id and snapshot columns (:data:`calibrate.publish.export.KEYS`) are optional inputs, passed through
    in front of the scores.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    from calibrate.publish.export import KEYS

    inputs = Schema([ColSpec(AnyType(), d.column) for d in config.dimensions]
                    + [ColSpec(AnyType(), key, required=False) for key in KEYS])
    outputs = Schema(
        [ColSpec("double", "score"), ColSpec("string", "band"), ColSpec("string", "band_code"),
         ColSpec("long", "band_index"), ColSpec("double", "p_renew")]
        + [ColSpec("double", f"contribution_{d.name}") for d in config.dimensions]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)
