"""Tests of what makes a report quick: stored predictions (no TensorFlow), figures reused, figures drawn in parallel."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import tiny_sweep, write_sweep
from fitsweep import load
from fitsweep.figures import load_splits
from fitsweep.predictions import GRID_SIZE, model_outputs, stored_predictions
from fitsweep.report import build_report, save_report, write_report
from fitsweep.results import RunPaths
from fitsweep.results.folder import read_arrays, write_arrays

FIGURES = ("learning_curves", "decision_boundaries", "confusion_matrix")


@pytest.fixture
def tiny_copy(tiny_run: Any, tmp_path: Path) -> Path:
    """The session's tiny run, copied so that its report does not change the shared folder."""
    return Path(shutil.copytree(tiny_run.path, tmp_path / "tiny"))


def _pngs(run_dir: Path) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in (run_dir / "figures").glob("*.png")}


_TENSORFLOW = ("tensorflow", "keras", "keras_tuner")


def _fitsweep(*arguments: str, heavy: tuple[str, ...] = _TENSORFLOW) -> tuple[int, list[str]]:
    """Run the command line in a fresh interpreter: its exit code and which of the `heavy` modules it imported."""
    script = ("import sys; from fitsweep.cli import app\n"
              "try:\n    app(sys.argv[1:])\n"
              "except SystemExit as stop:\n    code = stop.code or 0\n"
              f"print(code, *sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    code, *heavy = done.stdout.strip().splitlines()[-1].split()
    return int(code), heavy


def test_a_run_stores_its_best_models_predictions(tiny_run: Any) -> None:
    predictions = stored_predictions(tiny_run.path)
    assert predictions is not None
    splits = load_splits(tiny_run)
    outputs = model_outputs(tiny_run.best_model, splits.x_test)
    np.testing.assert_allclose(predictions.test_outputs, outputs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(predictions.test_labels, splits.y_test)
    assert predictions.grid_outputs is not None and predictions.grid_outputs.shape == (GRID_SIZE**2, 1)
    assert predictions.train_points is not None
    np.testing.assert_array_equal(predictions.train_points[0], splits.x_train)


def test_predictions_of_another_model_are_not_used(tiny_copy: Path) -> None:
    paths = RunPaths(tiny_copy)
    arrays = read_arrays(paths.predictions)
    assert arrays is not None
    write_arrays(paths.predictions, {**arrays, "model_sha256": np.asarray("0" * 64)})  # the model changed since
    assert stored_predictions(tiny_copy) is None
    (tiny_copy / "best_model.keras").unlink()
    assert stored_predictions(tiny_copy) is None


@pytest.mark.parametrize("command", ["report", "show", "validate"])
def test_commands_that_train_nothing_import_no_tensorflow(command: str, tiny_copy: Path, tmp_path: Path) -> None:
    """TensorFlow's import is most of a reading command's time: a run's stored predictions make it needless."""
    target = write_sweep(tmp_path, tiny_sweep()) if command == "validate" else tiny_copy
    code, heavy = _fitsweep(command, str(target))
    assert (code, heavy) == (0, [])
    if command == "report":  # the model's figures drawn all the same, from the stored predictions
        assert {"decision_boundaries", "confusion_matrix"} <= set(_pngs(tiny_copy))


def test_a_run_recorded_without_predictions_reports_from_its_model_and_stores_them(tiny_copy: Path) -> None:
    write_report(tiny_copy)
    drawn = _pngs(tiny_copy)
    RunPaths(tiny_copy).predictions.unlink()
    RunPaths(tiny_copy).figures_inputs.unlink()  # nothing reused: every figure drawn again
    write_report(tiny_copy)
    assert RunPaths(tiny_copy).predictions.is_file()
    assert _pngs(tiny_copy)["confusion_matrix"] == drawn["confusion_matrix"]
    assert _pngs(tiny_copy)["decision_boundaries"] == drawn["decision_boundaries"]


def test_a_report_draws_no_figure_again_whose_inputs_are_unchanged(tiny_copy: Path, monkeypatch) -> None:
    import fitsweep.figures

    write_report(tiny_copy)
    drawn = _pngs(tiny_copy)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("drawn again")

    for name in ("plot_learning_curves", "plot_decision_boundaries", "plot_confusion_matrix"):
        monkeypatch.setattr(fitsweep.figures, name, broken)
    html = write_report(tiny_copy).html.read_text(encoding="utf-8")
    assert "drawn again" not in html and _pngs(tiny_copy) == drawn
    run_info = RunPaths(tiny_copy).run_info
    run_info.write_text(run_info.read_text(encoding="utf-8").replace('"seed"', '"note": "edited", "seed"'))
    html = write_report(tiny_copy).html.read_text(encoding="utf-8")
    assert html.count("RuntimeError: drawn again") == len(FIGURES)  # an input changed: every figure is drawn


def test_a_report_whose_figures_are_all_reused_loads_no_plotting_library(tiny_copy: Path) -> None:
    """Nothing to draw: neither seaborn nor pyplot is imported (nor TensorFlow), and no drawing process is started."""
    write_report(tiny_copy)
    drawn = _pngs(tiny_copy)
    code, loaded = _fitsweep("report", str(tiny_copy), heavy=("seaborn", "matplotlib.pyplot", "tensorflow"))
    assert (code, loaded) == (0, [])
    assert _pngs(tiny_copy) == drawn


@pytest.mark.slow
def test_figures_drawn_in_parallel_are_the_figures_drawn_one_by_one(tiny_copy: Path) -> None:
    """Forked workers draw where no TensorFlow is loaded (a fresh interpreter), pixel for pixel as one process.

    Compared where a figure is deterministic: seaborn jitters a strip plot's dots from NumPy's global generator.
    """
    script = ("import sys\nimport fitsweep.report.drawing as drawing\nfrom fitsweep import load\n"
              "from fitsweep.report import build_report\n"
              "forked = []\noriginal = drawing._build_forked\n"
              "def counted(*args):\n    forked.append(args[3])\n    return original(*args)\n"
              "drawing._build_forked = counted\nrun = load(sys.argv[1])\n"
              "serial, parallel = (build_report(run, workers=n) for n in (1, 2))\n"
              "pngs = [{s.key: s.png for s in report.sections if s.png} for report in (serial, parallel)]\n"
              f"same = pngs[0].keys() == pngs[1].keys() and all(pngs[0][k] == pngs[1][k] for k in {FIGURES})\n"
              "print(forked, same, sorted(pngs[1]))")
    done = subprocess.run([sys.executable, "-c", script, str(tiny_copy)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    forked, same, drawn = done.stdout.strip().splitlines()[-1].split(" ", 2)
    assert (forked, same) == ("[2]", "True")
    assert all(f"'{figure}'" in drawn for figure in FIGURES)


def test_a_report_that_draws_no_figure_keeps_those_drawn_from_the_same_inputs(tiny_copy: Path) -> None:
    write_report(tiny_copy)
    drawn = _pngs(tiny_copy)
    run = load(tiny_copy)
    report = build_report(run, draw_figures=False)
    assert {section.key for section in report.sections if section.png} == set(drawn)
    save_report(run, report)
    assert _pngs(tiny_copy) == drawn
    RunPaths(tiny_copy).figures_inputs.unlink()  # no longer known to be this run's: none is reused
    report = build_report(run, draw_figures=False)
    notes = [section.note for section in report.sections if section.key in drawn]
    assert all(note and "fitsweep report" in note for note in notes)
    save_report(run, report)
    assert _pngs(tiny_copy) == {}
