"""The notebooks run, top to bottom, on the bundled data; their .ipynb and .py stay paired and output-free.

Each notebook is committed twice: ``notebooks/NN_name.py`` (jupytext percent format, what reviewers
read and diff) and ``NN_name.ipynb`` without outputs (what an analyst opens). The test executes the
``.py`` (the reviewed text) through nbclient in a temporary working directory, so nothing lands in
the repository. After editing one side, ``jupytext --sync notebooks/*.py`` updates the other.
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
TIMEOUT = 120  # seconds per cell


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_there_are_four_notebooks():
    assert [p.stem for p in NOTEBOOKS] == ["01_explore_the_book", "02_quarterly_recalibration",
                                          "03_drift_and_the_ci_gate", "04_ibm_telco"]


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_is_paired_and_has_no_outputs(source: Path):
    ipynb = source.with_suffix(".ipynb")
    assert ipynb.exists(), f"run: jupytext --sync {source.relative_to(ROOT)}"
    committed = nbformat.read(ipynb, as_version=4)
    assert _cells(committed) == _cells(jupytext.read(source)), f"out of sync: jupytext --sync {source.name}"
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{ipynb.name}: clear the outputs"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_only_the_public_api(source: Path):
    text = source.read_text(encoding="utf-8")
    assert "import calibrate as cb" in text
    imports = [line for line in text.splitlines() if line.startswith(("from calibrate", "import calibrate"))]
    public = {"config", "data", "score", "fit", "validation", "compare", "drift", "systems", "publish", "report", "plots"}
    for line in imports:  # the package and its stage subpackages (datasets and plots included): no private module
        words = line.split()
        assert line == "import calibrate as cb" or (
            words[0] == "from" and words[1] in {"calibrate", *(f"calibrate.{s}" for s in public)}
            and all(not name.strip(",").startswith("_") for name in words[3:])
        ), line
    assert "/work/shared" not in text and "._" not in text.replace("._repr", "")


@pytest.fixture(scope="module")
def empty_mlflow_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with its tables created once (the schema migrations take seconds per store)."""
    from mlflow.tracking import MlflowClient

    from calibrate.publish.track import tracking_uri

    root = tmp_path_factory.mktemp("mlflow-template")
    MlflowClient(tracking_uri=tracking_uri(root)).search_experiments()
    return root / "mlflow.db"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_mlflow_store: Path):
    import shutil

    from nbclient import NotebookClient

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlflow").mkdir()
    shutil.copy(empty_mlflow_store, tmp_path / "mlflow" / "mlflow.db")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("CALIBRATE_REPO", str(ROOT))  # where notebook 4 finds data/ibm-telco
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    nb = jupytext.read(source)
    NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert not (ROOT / "notebooks" / "configs").exists() and not (ROOT / "notebooks" / "mlflow").exists()
    if "recalibration" in source.stem or "telco" in source.stem:
        assert list(tmp_path.glob("reports/*/report.html")), "the run wrote its report in the working directory"
