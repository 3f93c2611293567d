"""The example notebooks, run as a user runs them: in a real Jupyter kernel, at a small scale.

`FITSWEEP_EXAMPLE_SCALE` makes each notebook train a few epochs on a little data; the notebooks
are otherwise what a user opens: progress while a sweep trains, each run shown as its summary,
figures as images, and nothing on stderr.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

import fitsweep
from conftest import REPO

NOTEBOOKS = sorted((REPO / "examples").glob("*.ipynb"))


def _code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _data(cell: Any, mime: str) -> list[str]:
    return [output.data[mime] for output in cell.outputs if mime in output.get("data", {})]


def test_there_are_examples_and_they_are_stored_without_outputs() -> None:
    assert {path.stem for path in NOTEBOOKS} >= {"moons", "notmnist"}
    for path in NOTEBOOKS:
        for cell in _code_cells(nbformat.read(path, as_version=4)):
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear its outputs"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_an_example_shows_progress_its_runs_and_its_figures(path: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("FITSWEEP_EXAMPLE_SCALE", "0.05")
    monkeypatch.setenv("PYTHONPATH", str(Path(fitsweep.__file__).parents[1]))  # this fitsweep, in the kernel
    for name in ("TF_CPP_MIN_LOG_LEVEL", "MPLBACKEND"):  # as a user's kernel starts: neither set
        monkeypatch.delenv(name, raising=False)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # a cell's error fails the test

    cells = _code_cells(notebook)
    stderr = [output.text for cell in cells for output in cell.outputs if output.get("name") == "stderr"]
    assert stderr == []
    sweeps = [cell for cell in cells if "run_sweep(" in cell.source]
    for cell in sweeps:  # one output, redrawn in place, ending on every trial done
        [progress] = [text for text in _data(cell, "text/plain") if " trials " in text]
        assert re.search(r"\b(\d+)/\1 +trials", progress), progress
        assert _data(cell, "text/html")[0].startswith('<pre class="fitsweep-progress"')
    runs = [cell for cell in cells if re.fullmatch(r"[a-z_]+", cell.source.strip())]
    assert len(runs) == len(sweeps)
    for cell in runs:
        assert _data(cell, "text/html")[0].startswith('<div class="fitsweep-run">')
        [line] = _data(cell, "text/plain")
        assert line.startswith("SweepRun(") and "\n" not in line
    figures = [cell for cell in cells if "plot_" in cell.source]
    assert figures and all(_data(cell, "image/png") for cell in figures)
