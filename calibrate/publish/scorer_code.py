"""What the registered scorer carries, so that it loads where only MLflow and pandas are installed.

The model is logged *from code* (:mod:`calibrate.publish.mlflow_model`) with ``code_paths`` holding
the calibrate modules it runs — :func:`scorer_modules`, copied byte for byte from this installation,
so the registered scorer runs the same :func:`calibrate.score.scorer.score_frame` as ``calibrate score``
and the same :func:`calibrate.config.model.read_config` seal check. They are staged as a namespace
package (no ``__init__`` files, which would pull in the rest of calibrate): where calibrate itself is
installed, its regular package takes precedence. Requirements name only packages on the index (MLflow,
pandas, numpy, pydantic, PyYAML), never calibrate; nothing is pickled.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

from calibrate.config.model import WeightConfig

__all__ = ["SCORER_ENTRY", "SCORER_DATA", "SCORER_REQUIREMENTS", "scorer_modules", "stage_scorer_code",
           "scorer_requirements", "scorer_signature"]

SCORER_ENTRY = ("calibrate.config.model", "calibrate.score.scorer")
"""The modules the scorer imports; :func:`scorer_modules` adds every calibrate module they import."""
SCORER_DATA = ("config/schema/weight-config.schema.json",)
"""Data files of the package the scorer reads (paths inside the package)."""
SCORER_REQUIREMENTS = ("mlflow", "pandas", "numpy", "pydantic", "pyyaml")
"""Distributions the scorer imports (pinned to the installed versions when it is logged)."""

_PACKAGE = Path(__file__).resolve().parents[1]


def scorer_modules() -> list[str]:
    """The files (paths inside the package) of :data:`SCORER_ENTRY` and every calibrate module they import.

    Imports are followed in function bodies too (they run when called); those under
    ``if TYPE_CHECKING:`` are annotations only and are not followed.
    """
    todo, found = list(SCORER_ENTRY), set()
    while todo:
        module = todo.pop()
        relative = module.removeprefix("calibrate.").replace(".", "/") + ".py"
        if relative in found:
            continue
        if not (_PACKAGE / relative).is_file():  # a package __init__ would pull in the rest of calibrate
            raise RuntimeError(f"the scorer imports {module}, which is not a module file; import the module itself")
        found.add(relative)
        todo.extend(_calibrate_imports(ast.parse((_PACKAGE / relative).read_text(encoding="utf-8"))))
    return sorted(found)


def _calibrate_imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            names.extend(_calibrate_imports(ast.Module(body=node.orelse, type_ignores=[])))
            continue
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        names.extend(_calibrate_imports(node) if not isinstance(node, ast.Import | ast.ImportFrom) else [])
    return [n for n in names if n == "calibrate" or n.startswith("calibrate.")]


def stage_scorer_code(directory: Path) -> list[str]:
    """Copy :func:`scorer_modules` and :data:`SCORER_DATA` into ``directory/calibrate``: the ``code_paths``.

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
    for relative in [*scorer_modules(), *SCORER_DATA]:
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
                    + [ColSpec(AnyType(), key, required=False) for key in KEYS]
                    + ([] if config.segments is None else [ColSpec(AnyType(), config.segments.column, required=False)]))
    outputs = Schema(
        [ColSpec("double", "score"), ColSpec("string", "band"), ColSpec("string", "band_code"),
         ColSpec("long", "band_index"), ColSpec("double", "p_renew")]
        + [ColSpec("double", f"contribution_{d.name}") for d in config.dimensions]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)
