"""Fit-aware stopping in a sweep: a settled configuration's repeats stop early together; their verdicts agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import tiny_sweep
from fitsweep import parse_spec, run_sweep
from fitsweep.verdicts import verdicts_of


def stopping_sweep(stopping: str) -> dict[str, object]:
    """Two configurations on the moons: one that fits, one whose L1 penalty keeps it far above it."""
    return tiny_sweep(
        data={"source": "moons", "samples": 600, "noise": 0.2, "seed": 3},
        model={"layers": [32, 32], "l1": {"values": [0.0, 0.05]}, "dropout": 0.0, "l2": 0.0},
        train={"epochs": 60, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.01},
        tuner={"algorithm": "grid", "max_trials": 2, "executions_per_trial": 2, "seed": 1, "stopping": stopping},
    )


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
