"""Verdicts on real short runs whose textbook reading is known.

Each case is a small real sweep on two-moons data, trained by fitsweep and judged by
`diagnose` as `fitsweep run` judges it: a linear model among networks underfits by capacity, a
network under a heavy L2 penalty underfits by regularization, three epochs of slow SGD underfit
by too-short training, a large network on a tiny noisy training set overfits, and a healthy
network on the same data as each of them fits well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import tiny_sweep
from fitsweep import parse_spec, run_sweep

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, name: str, **sections: Any) -> pd.DataFrame:
    sweep = tiny_sweep(**sections)
    sweep["name"] = name
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path)
    return run.trials  # the trials table carries each execution's verdict, as fitsweep run writes it


def _fit_by(trials: pd.DataFrame, column: str) -> dict[Any, str]:
    return dict(zip(trials[column], trials["fit"], strict=True))


_DATA = {"source": "moons", "samples": 600, "noise": 0.2, "seed": 0}
_ADAM = {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 60}


def test_a_linear_model_among_networks_underfits_by_capacity(tmp_path: Path) -> None:
    trials = _run(tmp_path, "capacity", data=_DATA, train=_ADAM,
                  model={"layers": {"values": [[], [64, 64]]}, "dropout": 0.0, "l2": 0.0},
                  tuner={"algorithm": "grid", "max_trials": 2})
    fits = _fit_by(trials, "layers")
    assert fits == {"none": "underfit", "64-64": "good"}, trials["fit_reason"].tolist()
    reason = trials.set_index("layers").loc["none", "fit_reason"]
    assert "reachable" in reason and "small network" in reason


def test_a_heavy_penalty_underfits_by_regularization(tmp_path: Path) -> None:
    trials = _run(tmp_path, "penalty", data=_DATA, train=_ADAM,
                  model={"layers": [64, 64], "dropout": 0.0, "l2": {"values": [0.0, 0.1]}},
                  tuner={"algorithm": "grid", "max_trials": 2})
    assert _fit_by(trials, "l2") == {0.0: "good", 0.1: "underfit"}, trials["fit_reason"].tolist()
    assert "l2=0.1: weaken it" in trials.set_index("l2").loc[0.1, "fit_reason"]


def test_three_epochs_of_slow_sgd_underfit_by_too_short_training(tmp_path: Path) -> None:
    trials = _run(tmp_path, "short", data=_DATA,
                  train={"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32, "epochs": 3},
                  model={"layers": [64, 64], "dropout": 0.0, "l2": 0.0},
                  tuner={"algorithm": "grid", "max_trials": 1})
    (row,) = trials.itertuples()
    assert row.fit == "underfit" and "train longer" in row.fit_reason, row.fit_reason


def test_a_big_network_on_a_tiny_noisy_training_set_overfits(tmp_path: Path) -> None:
    trials = _run(tmp_path, "tiny", data={"source": "moons", "samples": 80, "noise": 0.4, "seed": 0},
                  train={"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "epochs": 300},
                  model={"layers": {"values": [[256, 256], [4]]}, "dropout": 0.0, "l2": 0.0},
                  tuner={"algorithm": "grid", "max_trials": 2})
    big = trials.set_index("layers").loc["256-256"]
    assert big["fit"] == "overfit", big["fit_reason"]
    assert "rose" in big["fit_reason"] and "small training set" in big["fit_reason"]


@pytest.mark.parametrize("epochs, fits", [(6, False), (15, True)])
def test_a_loss_still_falling_is_underfit_only_while_training_rows_are_misclassified(
        tmp_path: Path, epochs: int, fits: bool) -> None:
    # Nearly separable moons: 6 epochs leave training errors; by 15 every training row is right
    # and the loss falls on towards 0 only because the network grows more confident.
    sweep = {"name": "separable", "data": {"source": "moons", "samples": 600, "noise": 0.05, "seed": 0},
             "train": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": epochs},
             "model": {"layers": [64, 64]}, "tuner": {"algorithm": "grid", "max_trials": 1}}
    (row,) = run_sweep(parse_spec(sweep), results_dir=tmp_path).trials.itertuples()
    assert (row.train_accuracy >= 0.98) == fits, row
    if fits:
        assert row.fit == "good", row.fit_reason
    else:
        assert row.fit == "underfit" and "train longer" in row.fit_reason, row.fit_reason


def test_a_learning_rate_that_sends_keras_to_nan_diverges_beside_a_healthy_one(tmp_path: Path) -> None:
    # Plain Keras' model.fit of this network at SGD 10 on these rows goes NaN in the first epoch in
    # each of 5 seeds; a loss of clipped probabilities froze it instead, and it was called underfit.
    trials = _run(tmp_path, "diverging", data=_DATA,
                  train={"optimizer": "sgd", "learning_rate": {"values": [10.0, 0.1]}, "batch_size": 32, "epochs": 20},
                  model={"layers": [25, 50, 50, 25], "dropout": 0.0, "l2": 0.0},
                  tuner={"algorithm": "grid", "max_trials": 2})
    rows = trials.set_index("learning_rate")
    assert rows.loc[10.0, "fit"] == "diverged" and rows.loc[10.0, "status"] == "diverged", rows.loc[10.0, "fit_reason"]
    assert "epoch 1" in rows.loc[10.0, "fit_reason"]
    assert rows.loc[0.1, "fit"] != "diverged" and rows.loc[0.1, "val_accuracy"] > 0.85, rows.loc[0.1, "fit_reason"]
