"""The house rules of the layout, in the suite so the README's test command checks them (README "Layout")."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500


def _lint_imports() -> str:
    beside = Path(sys.executable).with_name("lint-imports")  # the one installed with this interpreter's packages
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert found, "lint-imports not found: install the dev extra (pip install -e '.[dev]')"
    return found


def test_import_contracts_hold():
    """`lint-imports` (contracts in pyproject.toml): stages import one way, no cycles between sibling modules."""
    done = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_module_exceeds_the_line_limit():
    lengths = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
               for p in (ROOT / "calibrate").rglob("*.py")}
    assert len(lengths) > 50  # the tree was found
    assert {p: n for p, n in lengths.items() if n > MAX_LINES} == {}
