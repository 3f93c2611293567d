"""Long sweeps: the tables are rewritten at a bounded cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import tiny_sweep
from fitsweep import parse_spec, run_sweep, runner
from fitsweep.results import RunPaths


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


def test_a_sweep_of_quick_trials_is_written_after_its_first_trial_and_at_its_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[int] = []
    write_tables = runner.write_tables

    def counted(paths: RunPaths, trials: pd.DataFrame, epochs: pd.DataFrame) -> None:
        written.append(trials["trial_id"].nunique())
        write_tables(paths, trials, epochs)

    monkeypatch.setattr(runner, "write_tables", counted)
    monkeypatch.setattr(runner, "REFRESH_SECONDS", 3600.0)
    spec = parse_spec(tiny_sweep(tuner={"max_trials": 5}, train={"epochs": 1, "fused": False}))
    run = run_sweep(spec, results_dir=tmp_path)
    assert written == [1, 5]
    assert len(run.trials) == 5 and len(run.epochs) == 5 and run.trials["fit"].notna().all()
    models = sorted(p.parent.name for p in (run.path / "tuner").glob("trial_*/model.keras"))
    assert models == [f"trial_{run.info['best_trial']}"] and (run.path / "best_model.keras").is_file()
