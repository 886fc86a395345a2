"""The project root and the stores that live in it (configs/, reports/, mlflow/).

The project root is the nearest ancestor of the working directory (itself included) that holds
:data:`SPEC_FILE` (``calibrate.yaml``, the data spec ``calibrate init`` writes); without one it is
the working directory. The stores resolve there, so ``cd sub/dir && calibrate run`` publishes into
the same line of versions as a run from the root. Options and ``CALIBRATE_CONFIGS`` /
``CALIBRATE_REPORTS`` / ``CALIBRATE_MLFLOW`` override each store (relative values are read from the
working directory, like any path typed in a shell).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SPEC_FILE", "STORE_VARIABLES", "find_project_root", "project_root", "default_dirs"]

SPEC_FILE = "calibrate.yaml"
"""The file that marks a project root."""

STORE_VARIABLES = {"configs": "CALIBRATE_CONFIGS", "reports": "CALIBRATE_REPORTS", "mlflow": "CALIBRATE_MLFLOW"}
"""Store name → the environment variable that overrides its directory."""


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ancestor of ``start`` (default: the working directory) holding ``calibrate.yaml``, else None."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    return next((d for d in (here, *here.parents) if (d / SPEC_FILE).is_file()), None)


def project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """:func:`find_project_root`, falling back to ``start`` itself (default: the working directory)."""
    found = find_project_root(start)
    return found if found is not None else Path(start if start is not None else Path.cwd()).resolve()


def default_dirs(root: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Where configs, reports and the MLflow store go: ``CALIBRATE_*`` variables, else under the project root.

    Parameters
    ----------
    root : path, optional
        The project root; default :func:`project_root` of the working directory.

    Returns
    -------
    dict
        ``{"configs": Path, "reports": Path, "mlflow": Path}``.
    """
    base = Path(root) if root is not None else project_root()
    return {store: Path(os.environ[var]) if os.environ.get(var) else base / store
            for store, var in STORE_VARIABLES.items()}
