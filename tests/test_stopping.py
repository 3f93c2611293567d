"""Fit-aware stopping in a sweep: a settled configuration's repeats stop early together; their verdicts agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import tiny_sweep
from fitsweep import parse_spec, run_sweep
from fitsweep.search.parallel import run_parallel
from fitsweep.search.runner import resume_sweep
from fitsweep.verdicts import verdicts_of

STOP_COLUMNS = ["trial_id", "execution", "epochs_run", "stopped_at", "stop_reason"]


def stopping_sweep(stopping: str, train: dict[str, Any] | None = None, model: dict[str, Any] | None = None,
                   tuner: dict[str, Any] | None = None) -> dict[str, object]:
    """Two configurations on the moons: one that fits, one whose L1 penalty keeps it far above it."""
    return tiny_sweep(
        data={"source": "moons", "samples": 600, "noise": 0.2, "seed": 3},
        model={"layers": [32, 32], "l1": {"values": [0.0, 0.05]}, "dropout": 0.0, "l2": 0.0, **(model or {})},
        train={"epochs": 60, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.01, **(train or {})},
        tuner={"algorithm": "grid", "max_trials": 2, "executions_per_trial": 2, "seed": 1, "stopping": stopping,
               **(tuner or {})},
    )


def assert_stopped_as_their_verdicts(run: Any) -> None:
    trials = run.trials.set_index(["trial_id", "execution"])
    reasons = trials["stop_reason"].dropna()
    verdicts = verdicts_of(run).set_index(["trial_id", "execution"])["fit"]
    assert (verdicts.loc[reasons.index] == reasons).all()


@pytest.mark.slow
def test_a_clearly_underfit_execution_stops_early_and_its_verdict_says_underfit(tmp_path: Path) -> None:
    run = run_sweep(parse_spec(stopping_sweep("verdict")), results_dir=tmp_path / "on")
    trials = run.trials.set_index(["trial_id", "execution"])
    stopped = trials[trials["stop_reason"].notna()]
    assert not stopped.empty and (stopped["stop_reason"] == "underfit").all()
    assert (stopped["l1"] == 0.05).all()
    assert len(stopped) == 2 and stopped["stopped_at"].nunique() == 1  # its repeats stop together
    assert (stopped["epochs_run"] < 60).all() and (stopped["stopped_at"] == stopped["epochs_run"]).all()
    assert (trials.loc[trials["l1"] == 0.0, "epochs_run"] == 60).all()  # the one that fits trains to the end
    verdicts = verdicts_of(run).set_index(["trial_id", "execution"]).loc[stopped.index]
    assert (verdicts["fit"] == "underfit").all()
    assert not verdicts["fit_reason"].str.contains("train longer").any()
    assert verdicts["fit_reason"].str.contains("as settled").all()


def test_stopping_is_off_unless_asked_for() -> None:
    assert parse_spec(stopping_sweep("off")).tuner.stopping == "off"
    assert parse_spec(tiny_sweep()).tuner.stopping == "off"


class _StopAtSecondTrial:
    """Interrupts the run, as Ctrl-C would, when its second trial starts."""

    def trial_started(self, trial_id: str, *args: object) -> None:
        if trial_id == "1":
            raise KeyboardInterrupt

    def epoch_ended(self, *args: object) -> None:
        pass

    def trial_ended(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_a_resumed_sweep_stops_as_the_uninterrupted_one(tmp_path: Path) -> None:
    # One trial a model: the second (the L1 one) is judged against the first, which a resume reads back.
    spec = parse_spec(stopping_sweep("verdict", train={"fused_trials": 1}))
    whole = run_sweep(spec, results_dir=tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, results_dir=tmp_path / "cut", observer=_StopAtSecondTrial())
    resumed = resume_sweep(tmp_path / "cut" / "tiny")
    assert resumed.info["status"] == "completed"
    assert whole.trials["stop_reason"].notna().any()
    pd.testing.assert_frame_equal(resumed.trials[STOP_COLUMNS], whole.trials[STOP_COLUMNS])
    assert_stopped_as_their_verdicts(resumed)


@pytest.mark.slow
def test_workers_stop_no_execution_that_fits_and_agree_with_the_verdicts(tmp_path: Path) -> None:
    sweep = stopping_sweep("verdict", model={"layers": {"values": [[32, 32], [16]]}}, tuner={"max_trials": 4})
    run = run_parallel(parse_spec(sweep), workers=2, results_dir=tmp_path)
    assert run.info["status"] == "completed" and len(run.trials) == 8
    assert (run.trials.loc[run.trials["l1"] == 0.0, "epochs_run"] == 60).all()
    assert_stopped_as_their_verdicts(run)
