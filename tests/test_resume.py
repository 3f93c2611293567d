"""Crash safety: one writer per run folder, and resume after a kill at any moment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import invoke_cli, tiny_sweep, write_sweep
from fitsweep import ResultsError, parse_spec, run_sweep
from fitsweep.results import RunPaths, run_lock
from fitsweep.search.runner import resume_sweep
from helpers import EVERY_STAGE, run_killed_at, start_run

TIMINGS = ["fit_seconds", "started", "ended"]


def test_a_second_writer_is_refused_and_a_stale_lock_taken_over(tmp_path: Path) -> None:
    paths = RunPaths(tmp_path)
    with run_lock(paths), pytest.raises(ResultsError, match="another fitsweep process"), run_lock(paths):
        pass
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    paths.lock.write_text(f"{socket.gethostname()} {dead.stdout.strip()}")
    with run_lock(paths):
        assert paths.lock.read_text().endswith(str(os.getpid()))
    assert not paths.lock.exists()


def test_overwrite_refuses_a_run_being_written(tmp_path: Path) -> None:
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1}))
    run_sweep(spec, results_dir=tmp_path)
    with run_lock(RunPaths(tmp_path / "tiny")), pytest.raises(ResultsError, match="another fitsweep process"):
        run_sweep(spec, results_dir=tmp_path, overwrite=True)


def test_resuming_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 2}, train={"epochs": 2}))
    finished = run_sweep(spec, results_dir=tmp_path)
    resumed = resume_sweep(tmp_path / "tiny")
    pd.testing.assert_frame_equal(finished.trials, resumed.trials)
    assert resumed.info["status"] == "completed"


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("replacement, said", [
    (tiny_sweep(name="other", tuner={"max_trials": 1}, train={"epochs": 1}), "name 'tiny' there, 'other' here"),
    (tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 2}), "not the one the run wrote"),
], ids=["another sweep", "the same name, trained otherwise"])
def test_resume_refuses_a_sweep_file_that_is_not_its_runs(replacement: dict[str, Any], said: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    run_sweep(parse_spec(tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1})), results_dir=tmp_path)
    run_dir = tmp_path / "tiny"
    (run_dir / "sweep.yaml").write_text(parse_spec(replacement).to_yaml(), encoding="utf-8")
    before = _contents(run_dir)
    code, output = invoke_cli(["resume", str(run_dir)], monkeypatch, capsys)
    lines = output.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in output, output
    assert str(run_dir / "sweep.yaml") in lines[0] and str(run_dir / "run.json") in lines[0] and said in lines[0]
    assert _contents(run_dir) == before


@pytest.mark.slow
def test_resume_after_sigkill_at_every_stage_keeps_every_trial_once(tmp_path: Path) -> None:
    raw = tiny_sweep(tuner={"max_trials": 6, "executions_per_trial": 2}, train={"epochs": 4, "fused_trials": 2})
    reference = run_sweep(parse_spec(raw), results_dir=tmp_path / "reference")
    results = tmp_path / "killed"
    run_killed_at(EVERY_STAGE, write_sweep(tmp_path, raw), results)
    resumed = pd.read_parquet(results / "tiny" / "trials.parquet")
    epochs = pd.read_parquet(results / "tiny" / "epochs.parquet")
    assert json.loads((results / "tiny" / "run.json").read_text())["status"] == "completed"
    assert sorted(resumed["trial_id"].unique()) == sorted(reference.trials["trial_id"].unique())
    assert not epochs.duplicated(["trial_id", "execution", "epoch"]).any()
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMINGS), reference.trials.drop(columns=TIMINGS))
    pd.testing.assert_frame_equal(epochs.drop(columns=["seconds"]), reference.epochs.drop(columns=["seconds"]))


def _wait_for_first_trial(run_dir: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not list((run_dir / "tuner").glob("trial_*/trial.json")):
        assert process.poll() is None and time.monotonic() < deadline, "the run never started a trial"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("presses", [1, 2], ids=["ctrl-c", "ctrl-c-twice"])
def test_ctrl_c_marks_the_run_interrupted_and_resume_finishes_it(tmp_path: Path, presses: int) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 4}, train={"epochs": 300}))
    results, run_dir = tmp_path / "results", tmp_path / "results" / "tiny"
    process = start_run(sweep, results)
    _wait_for_first_trial(run_dir, process)
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=120)
    message = stderr.decode()
    # A second press may land while Python shuts down, where the default handler ends the process
    # by SIGINT; a shell reports both as 130.
    assert process.returncode in ((130,) if presses == 1 else (130, -signal.SIGINT)), message
    assert "Traceback" not in message and "fitsweep: interrupted" in message
    if presses == 1:
        assert f"fitsweep resume {run_dir}" in message
        assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert not list(run_dir.rglob("*.tmp")), "a half-written file was left"
    resumed = resume_sweep(run_dir)
    assert resumed.info["status"] == "completed"
    assert resumed.trials["trial_id"].nunique() == 4 and len(resumed.trials) == 4
    assert (resumed.trials["status"] == "completed").all()


class _StopAt:
    """An observer that interrupts the run, as Ctrl-C would, when a given trial starts."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id

    def trial_started(self, trial_id: str, values: object, epochs: int, executions: int) -> None:
        if trial_id == self.trial_id:
            raise KeyboardInterrupt

    def epoch_ended(self, *args: object) -> None:
        pass

    def trial_ended(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("fused_trials", [1, 32])
@pytest.mark.parametrize("stopped_at", ["1", "2"])
def test_an_interrupted_grid_resumes_to_every_point_once(tmp_path: Path, fused_trials: int, stopped_at: str) -> None:
    grid = tiny_sweep(model={"depth": 1, "width": {"values": [4, 8, 16]}, "dropout": {"values": [0.0, 0.5]},
                             "l2": 0.0},
                      tuner={"algorithm": "grid", "max_trials": 6}, train={"epochs": 1, "fused_trials": fused_trials})
    with pytest.raises(KeyboardInterrupt):
        run_sweep(parse_spec(grid), results_dir=tmp_path, observer=_StopAt(stopped_at))
    resumed = resume_sweep(tmp_path / "tiny")
    assert resumed.info["status"] == "completed"
    points = sorted(zip(resumed.trials["width"], resumed.trials["dropout"], strict=True))
    assert points == sorted((width, dropout) for width in (4, 8, 16) for dropout in (0.0, 0.5))
    assert (resumed.trials["status"] == "completed").all()


def _regression_csv(folder: Path) -> Path:
    """A numeric target of two features and a colour, as a CSV a user brings."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 2))
    colour = rng.choice(["red", "blue"], size=160)
    target = 2 * x[:, 0] - x[:, 1] + (colour == "red") + 0.2 * rng.normal(size=160)
    path = folder / "target.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "colour": colour, "target": target}).to_csv(path, index=False)
    return path


def test_an_interrupted_regression_resumes_to_the_uninterrupted_runs_tables(tmp_path: Path) -> None:
    sweep = tiny_sweep(data={"source": "csv", "path": str(_regression_csv(tmp_path))},
                       model={"depth": 1, "width": {"values": [4, 8, 16]}, "dropout": 0.0, "l2": 0.0},
                       tuner={"algorithm": "grid", "max_trials": 3}, train={"epochs": 3, "fused_trials": 1})
    sweep["data"] = {key: value for key, value in sweep["data"].items() if key in ("source", "path")}
    reference = run_sweep(parse_spec(sweep), results_dir=tmp_path / "reference")
    with pytest.raises(KeyboardInterrupt):
        run_sweep(parse_spec(sweep), results_dir=tmp_path / "stopped", observer=_StopAt("2"))
    run_dir = tmp_path / "stopped" / "tiny"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    resumed = resume_sweep(run_dir)
    assert resumed.info["status"] == "completed" and resumed.info["data"]["task"] == "regression"
    assert {"val_mse", "fit", "fit_reason"} <= set(resumed.trials.columns)
    pd.testing.assert_frame_equal(resumed.trials.drop(columns=[*TIMINGS, "worker"], errors="ignore"),
                                  reference.trials.drop(columns=[*TIMINGS, "worker"], errors="ignore"))
    pd.testing.assert_frame_equal(resumed.epochs.drop(columns=["seconds"]), reference.epochs.drop(columns=["seconds"]))
    assert resumed.info["linear_reference"] == reference.info["linear_reference"]
    assert resumed.info["chance_loss"] == reference.info["chance_loss"]
