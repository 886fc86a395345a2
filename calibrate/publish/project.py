"""What a command says about the project root it works in.

The root itself is found by :func:`calibrate.config.project.project_root` (the nearest
``calibrate.yaml``, else the working directory); this module words the notice a first run prints
when there is no ``calibrate.yaml`` and the stores are about to be created in the working directory.
"""

from __future__ import annotations

from pathlib import Path

from calibrate.config.project import SPEC_FILE, STORE_VARIABLES, find_project_root

__all__ = ["first_run_notice"]


def first_run_notice(*stores: Path) -> str | None:
    """The one-line notice of a first run without ``calibrate.yaml`` (None when there is nothing to announce).

    Announced when no ``calibrate.yaml`` is found above the working directory and none of the
    given store directories exists yet.
    """
    if find_project_root() is not None or any(Path(s).exists() for s in stores):
        return None
    here = Path.cwd()
    return (f"no {SPEC_FILE} in {here} or above, so {here} is the project root: "
            f"{', '.join(f'{k}/' for k in STORE_VARIABLES)} are created here (`calibrate init` writes {SPEC_FILE}; "
            f"{', '.join(STORE_VARIABLES.values())} override)")
