"""Long sweeps: the tables are rewritten at a bounded cost, and SIGTERM stops a run as Ctrl-C does."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import fitsweep
from conftest import tiny_sweep, write_sweep
from fitsweep import parse_spec, run_sweep
from fitsweep.cli._signals import Terminated, Termination
from fitsweep.results import RunPaths
from fitsweep.search import runner
from fitsweep.search.runner import resume_sweep
from helpers import with_epochs, worker_processes


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_fused_group_is_written_once_its_last_trial_ends_and_rewrites_are_spaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock()
    monkeypatch.setattr(runner.time, "monotonic", clock)
    refresher = runner._TableRefresher(RunPaths(tmp_path), parse_spec(tiny_sweep()), None, 0.69, None)
    rewrites: list[float] = []

    def save(*args: Any, **kwargs: Any) -> None:
        rewrites.append(clock.now)
        clock.now += 2.0  # a rewrite of 2 s: the next waits 9 times that

    monkeypatch.setattr(refresher.tables, "save", save)
    for trial_id in ("0", "1", "2"):  # one fused group: they start together, end one after another
        refresher.trial_started(trial_id, {}, 3, 1)
    refresher.trial_ended("0", "COMPLETED", 0.5)
    refresher.trial_ended("1", "COMPLETED", 0.5)
    assert rewrites == []
    refresher.trial_ended("2", "COMPLETED", 0.5)
    assert rewrites == [1000.0]
    clock.now += 10.0  # past REFRESH_SECONDS, not past 9 x 2 s
    refresher.trial_started("3", {}, 3, 1)
    refresher.trial_ended("3", "COMPLETED", 0.5)
    assert rewrites == [1000.0]
    clock.now += 10.0
    refresher.trial_started("4", {}, 3, 1)  # the next trial's start writes the one that ended
    assert rewrites == [1000.0, 1022.0]
    clock.now += 60.0
    refresher.trial_ended("4", "COMPLETED", 0.5)
    assert len(rewrites) == 3


@pytest.fixture()
def written(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The trials each write of the run's tables holds, in the order they are written."""
    trials_written: list[int] = []
    write_tables = runner.write_tables

    def counted(paths: RunPaths, trials: pd.DataFrame, epochs: pd.DataFrame) -> None:
        trials_written.append(trials["trial_id"].nunique())
        write_tables(paths, trials, epochs)

    monkeypatch.setattr(runner, "write_tables", counted)
    return trials_written


def test_a_sweep_of_quick_trials_is_written_after_its_first_trial_and_at_its_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: list[int]) -> None:
    monkeypatch.setattr(runner, "REFRESH_SECONDS", 3600.0)
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 5}, train={"epochs": 1, "fused": False}))
    run = run_sweep(spec, results_dir=tmp_path)
    assert written == [1, 5]
    assert len(run.trials) == 5 and len(run.epochs) == 5 and run.trials["fit"].notna().all()
    models = sorted(p.parent.name for p in (run.path / "tuner").glob("trial_*/model.keras"))
    assert models == [f"trial_{run.info['best_trial']}"] and (run.path / "best_model.keras").is_file()


def test_the_last_trial_is_written_once_by_the_end_of_the_run(tmp_path: Path, written: list[int]) -> None:
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 1}, train={"epochs": 1}))
    run = run_sweep(spec, results_dir=tmp_path, report=True)
    assert written == [1]  # not once as the trial ends and again as the run ends
    assert run.trials["fit"].notna().all() and run.info["status"] == "completed"
    assert (run.path / "report.md").is_file()


def _run(arguments: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "fitsweep", *arguments, "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def _wait_for(condition: Any, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None and time.monotonic() < deadline, "the run never started a trial"
        time.sleep(0.1)


def _assert_interrupted_by_sigterm(process: subprocess.Popen[str], run_dir: Path) -> None:
    _, message = process.communicate(timeout=120)
    assert process.returncode == 143, message
    assert "Traceback" not in message and f"interrupted (SIGTERM); continue with: fitsweep resume {run_dir}" in message
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert not list(run_dir.rglob("*.tmp")), "a half-written file was left"
    stopped = fitsweep.load(run_dir)  # the folder reads as it was left
    assert set(stopped.epochs["trial_id"]) <= set(stopped.trials["trial_id"])
    assert not (stopped.trials["status"] == "failed").any(), "a trial cut short should be rerun, not failed"


def _assert_resumed_to_the_end(run_dir: Path, trials: int) -> None:
    resumed = resume_sweep(run_dir)
    assert resumed.info["status"] == "completed"
    assert resumed.trials["trial_id"].nunique() == trials and len(resumed.trials) == trials
    assert (resumed.trials["status"] == "completed").all()
    assert not resumed.epochs.duplicated(["trial_id", "execution", "epoch"]).any()


@pytest.mark.slow
def test_sigterm_stops_a_run_as_ctrl_c_does_and_resume_finishes_it(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 4}, train={"epochs": 300}))
    run_dir = tmp_path / "results" / "tiny"
    process = _run(["run", str(sweep), "--results-dir", str(tmp_path / "results")])
    _wait_for(lambda: list((run_dir / "tuner").glob("trial_*/trial.json")), process)
    process.send_signal(signal.SIGTERM)
    _assert_interrupted_by_sigterm(process, run_dir)
    _assert_resumed_to_the_end(run_dir, 4)


@pytest.mark.slow
def test_sigterm_stops_a_resumed_run_too(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 3}, train={"epochs": 300, "fused": False}))
    run_dir = tmp_path / "results" / "tiny"
    process = _run(["run", str(sweep), "--results-dir", str(tmp_path / "results")])
    _wait_for(lambda: list((run_dir / "tuner").glob("trial_*/trial.json")), process)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)
    process = _run(["resume", str(run_dir)])
    _wait_for(lambda: json.loads((run_dir / "run.json").read_text()).get("resumed"), process)
    resumed = (run_dir / "run.json").stat().st_mtime_ns
    _wait_for(lambda: _an_epoch_recorded_since(run_dir, resumed), process)  # mid-trial, the trial rerun
    process.send_signal(signal.SIGTERM)
    _assert_interrupted_by_sigterm(process, run_dir)
    _assert_resumed_to_the_end(run_dir, 3)


def _an_epoch_recorded_since(run_dir: Path, since_ns: int) -> bool:
    """Whether a running trial saved an epoch after `since_ns` (KerasTuner saves a trial's first epoch at once)."""
    for path in (run_dir / "tuner").glob("trial_*/trial.json"):
        with contextlib.suppress(OSError, ValueError):  # replaced meanwhile
            if path.stat().st_mtime_ns > since_ns and with_epochs([json.loads(path.read_text())]):
                return True
    return False


@pytest.mark.slow
def test_sigterm_to_a_chief_and_its_workers_at_once_leaves_their_trials_to_rerun(tmp_path: Path) -> None:
    """As Slurm or systemd stop a job: every process gets SIGTERM, the workers first here."""
    sweep = write_sweep(tmp_path, tiny_sweep(tuner={"max_trials": 4}, train={"epochs": 300}))
    run_dir = tmp_path / "results" / "tiny"
    process = _run(["run", str(sweep), "--workers", "2", "--results-dir", str(tmp_path / "results")])
    _wait_for(lambda: len(worker_processes(tmp_path)) == 2 and list((run_dir / "tuner").glob("trial_*/trial.json")),
              process)
    for worker in worker_processes(tmp_path):
        os.kill(worker, signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    _assert_interrupted_by_sigterm(process, run_dir)
    assert worker_processes(tmp_path) == []
    _assert_resumed_to_the_end(run_dir, 4)


def _first_connection(listening: socket.socket, process: subprocess.Popen[str]) -> socket.socket:
    """The first connection `process` makes to `listening` (which must have a timeout)."""
    deadline = time.monotonic() + 300  # a safety net: the worker connects once TensorFlow is imported
    while True:
        try:
            return listening.accept()[0]
        except TimeoutError:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the worker never connected"


@pytest.mark.slow
def test_sigterm_stops_a_worker_with_one_line_and_exit_143(tmp_path: Path) -> None:
    """A preempted `fitsweep worker` (here still waiting for its chief) ends as Ctrl-C would, not killed mid-word."""
    sweep = write_sweep(tmp_path, tiny_sweep())
    with socket.socket() as silent_chief:  # accepts the worker's connection and never answers it
        silent_chief.bind(("127.0.0.1", 0))
        silent_chief.listen()
        silent_chief.settimeout(1.0)
        command = [sys.executable, "-c", "from fitsweep.cli import main; main()", "worker", str(sweep),
                   "--chief", f"127.0.0.1:{silent_chief.getsockname()[1]}", "--results-dir", str(tmp_path / "results")]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        connection = _first_connection(silent_chief, process)  # the worker is waiting for its chief now
        process.send_signal(signal.SIGTERM)
        _, error = process.communicate(timeout=60)
        connection.close()
    assert process.returncode == 143
    assert "Traceback" not in error and error.strip().splitlines()[-1] == "fitsweep: interrupted (SIGTERM)"


@pytest.mark.parametrize("signal_number, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)])
def test_a_signal_a_finaliser_swallowed_is_raised_again_at_the_next_progress_event(signal_number: int,
                                                                                    raised: Any) -> None:
    """Python drops an exception raised in a finaliser: the run must stop at its next epoch all the same."""
    from fitsweep.search.engine import NullObserver

    termination = Termination(NullObserver())
    with contextlib.suppress(KeyboardInterrupt):  # as a finaliser would
        termination.handle(signal_number, None)
    termination.handle(signal_number, None)  # a second signal is ignored: the run is writing its last files
    with pytest.raises(KeyboardInterrupt) as stopped:
        termination.epoch_ended("00", 0, 1, {})
    assert type(stopped.value) is raised
