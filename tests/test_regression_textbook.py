"""Regression verdicts on real runs whose textbook reading was first made in plain Keras.

Each case was trained in plain Keras (`keras.Sequential` of the same Dense layers, the same
optimizer, loss, batch size and epochs, on the split fitsweep makes of the same data, the target
standardized for training as `standardize_target` does, MSE measured on every training and
validation row after each epoch); its docstring records those figures and what a textbook reader
says of them. fitsweep must give each execution that reading, and say why in its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1, make_regression

from conftest import REPO
from fitsweep import load_spec, parse_spec, run_sweep

pytestmark = pytest.mark.slow


def _friedman(folder: Path, noise: float, seed: int, outliers: bool = False) -> Path:
    """1,000 rows of scikit-learn's Friedman #1 target (nonlinear in 5 of 10 uniform features)."""
    x, y = make_friedman1(n_samples=1000, noise=noise, random_state=seed)
    if outliers:  # 5% of the rows shifted up by about 25, five times the target's spread
        draws = np.random.default_rng(seed)
        y = y + (draws.random(len(y)) < 0.05) * draws.normal(25, 5, len(y))
    path = folder / f"friedman-{noise}-{seed}.npz"
    np.savez(path, x_train=x, y_train=y)
    return path


def _sweep(name: str, data: dict[str, Any], train: dict[str, Any], model: dict[str, Any], trials: int
           ) -> dict[str, Any]:
    return {"name": name, "data": {"source": "npz", "standardize_target": True, **data}, "model": model,
            "train": {"optimizer": "adam", "batch_size": 32, **train},
            "tuner": {"algorithm": "grid", "max_trials": trials, "seed": 0}}


def _trials(folder: Path, sweep: dict[str, Any], by: str) -> pd.DataFrame:
    return run_sweep(parse_spec(sweep), results_dir=folder / "runs").trials.set_index(by)


def test_a_linear_model_underfits_friedman_and_a_64_64_network_trained_100_epochs_overfits_it(tmp_path: Path) -> None:
    """Friedman #1 with noise of variance 1, 640 training and 160 validation rows, Adam 0.01, 100 epochs.

    Plain Keras: the linear model levels off at training MSE 6.40, validation 7.30 (R² 0.74), the
    same as a least-squares fit (7.31): it cannot follow the target's curvature. The 64-64 network
    reaches validation 1.59 at epoch 47 while its training MSE falls on, below the noise's variance
    of 1, to 0.38 at epoch 100 (validation 1.66): it fits the noise of its training rows. Textbook:
    the linear model underfits (high bias, add capacity); the network overfits (a gap of four times).
    """
    sweep = _sweep("friedman", {"path": str(_friedman(tmp_path, 1.0, 0))}, {"learning_rate": 0.01, "epochs": 100},
                   {"layers": {"values": [[], [64, 64]]}}, 2)
    trials = _trials(tmp_path, sweep, "layers")
    linear, network = trials.loc["none"], trials.loc["64-64"]
    assert linear["fit"] == "underfit", linear["fit_reason"]
    assert "against" in linear["fit_reason"] and "add capacity" in linear["fit_reason"]
    assert network["fit"] == "overfit", network["fit_reason"]
    assert "validation MSE" in network["fit_reason"] and network["train_mse"] < 1.0 < network["val_mse"]


def test_a_256_256_256_network_that_interpolates_72_noisy_rows_overfits_though_its_best_epoch_came_early(
        tmp_path: Path) -> None:
    """make_regression: 20 features, 10 informative, noise sd 150; 72 training and 48 validation rows.

    Plain Keras, Adam 0.001, batch 16, 300 epochs: the 256-256-256 network's training MSE falls from
    26,550 to 239 by epoch 8 and to 1e-10 (it interpolates the rows, noise and all), while its
    validation MSE stays at 20,850-22,900 (lowest at epoch 61): the noise's variance is 22,500.
    A linear model, the true model's form, ends at training 20,550 and validation 27,250. Textbook:
    the big network overfits (training error 0, validation that of the noise); the linear model fits.
    fitsweep kept the big network's epoch-2 weights, before any gap: its verdict used to be good,
    as the rise after that minimum (18%) is within the noise of 48 validation rows.
    """
    x, y = make_regression(n_samples=520, n_features=20, n_informative=10, noise=150.0, random_state=0)[:2]
    np.savez(tmp_path / "noisy.npz", x_train=x[:120], y_train=y[:120], x_test=x[120:], y_test=y[120:])
    sweep = _sweep("noisy", {"path": str(tmp_path / "noisy.npz"), "validation_size": 0.4},
                   {"learning_rate": 0.001, "epochs": 300, "batch_size": 16},
                   {"layers": {"values": [[256, 256, 256], []]}}, 2)
    trials = _trials(tmp_path, sweep, "layers")
    big, linear = trials.loc["256-256-256"], trials.loc["none"]
    assert big["fit"] == "overfit", big["fit_reason"]
    assert "trained on past its selected epoch, it fitted its training rows' noise" in big["fit_reason"]
    assert "kept weights are epoch" in big["fit_reason"]
    assert linear["fit"] == "good", linear["fit_reason"]


def test_a_learning_rate_that_sends_keras_to_nan_is_diverged_beside_a_healthy_one(tmp_path: Path) -> None:
    """Friedman #1 (noise variance 1), a 64-64 network under SGD, batch 32, 20 epochs.

    Plain Keras at 3.0: NaN in the first epoch. At 0.01: training MSE 23.7 to 6.87, validation 21.2
    to 7.50, lowest at the last epoch, falling 1-2% an epoch at the end, level with a least-squares
    fit (7.31). Textbook: the first diverged; the second fits as well as the sweep shows possible.
    """
    sweep = _sweep("diverge", {"path": str(_friedman(tmp_path, 1.0, 0))},
                   {"optimizer": "sgd", "learning_rate": {"values": [0.01, 3.0]}, "epochs": 20},
                   {"layers": [64, 64]}, 2)
    trials = _trials(tmp_path, sweep, "learning_rate")
    assert trials.loc[3.0, "fit"] == "diverged", trials.loc[3.0, "fit_reason"]
    assert "became nan at epoch 1" in trials.loc[3.0, "fit_reason"]
    assert trials.loc[0.01, "fit"] == "good", trials.loc[0.01, "fit_reason"]


def test_a_network_trained_on_outliers_under_huber_overfits_when_it_memorises_them(tmp_path: Path) -> None:
    """Friedman #1 (noise sd 0.5) with 5% of the rows shifted up by about 25; loss huber, Adam 0.01, 100 epochs.

    Plain Keras: the linear model levels off at training MSE 30.4 and validation 43.6 (lowest 42.8
    at epoch 23; a least-squares fit: 43.0): the outliers, which nothing predicts, dominate both.
    The 64-64 network's training MSE falls from 33.8 to 4.0: it learns the outliers of its own rows
    too, while its validation MSE, 41.7 at epoch 2 (40.3 at its lowest, epoch 82), is 45.1 at
    epoch 51 and 50.1 at epoch 100.
    Textbook: the network overfits; the linear model, level and without a clear gap, is as good as
    the sweep shows possible.
    """
    sweep = _sweep("huber", {"path": str(_friedman(tmp_path, 0.5, 1, outliers=True))},
                   {"learning_rate": 0.01, "epochs": 100, "loss": "huber"}, {"layers": {"values": [[], [64, 64]]}}, 2)
    trials = _trials(tmp_path, sweep, "layers")
    network, linear = trials.loc["64-64"], trials.loc["none"]
    assert network["fit"] == "overfit", network["fit_reason"]
    assert "fitted its training rows' noise" in network["fit_reason"]
    assert linear["fit"] == "good", linear["fit_reason"]


def test_eight_epochs_at_a_small_learning_rate_underfit_and_name_train_longer(tmp_path: Path) -> None:
    """Friedman #1 (noise variance 1), a 64-64 network, Adam 0.0003, batch 32, 8 epochs.

    Plain Keras: training MSE 24.0, 22.4, ..., 12.7 and validation 21.6 to 11.8, both still falling
    about 10% an epoch at the end, far above a least-squares fit's validation MSE of 7.31. Textbook:
    undertrained: it underfits, and more epochs (or a higher learning rate) is the remedy.
    """
    sweep = _sweep("short", {"path": str(_friedman(tmp_path, 1.0, 0))}, {"learning_rate": 0.0003, "epochs": 8},
                   {"layers": [64, 64]}, 1)
    trials = run_sweep(parse_spec(sweep), results_dir=tmp_path / "runs").trials
    reason = trials["fit_reason"][0]
    assert trials["fit"].tolist() == ["underfit"], reason
    assert "a linear regression" in reason and "train longer" in reason


def test_five_epochs_of_diabetes_underfit_however_wide_the_noise_of_71_validation_rows(tmp_path: Path) -> None:
    """The diabetes study's sweep cut to its four 8-unit configurations and 5 epochs, 3 repeats each.

    Plain Keras, the same split (282 training, 71 validation rows), Adam 0.001, batch 32: after 5
    epochs every one of the 12 networks (no regularization, dropout 0.5, L2 0.01, L1 0.001; seeds
    0-2) has both curves still falling at the end (2.6-7.1% in the last epoch), training MSE
    3,765-12,560 against a linear regression's validation MSE of 2,837 (R² 0.53). Textbook:
    undertrained, all of them: underfit, train longer. fitsweep read the L1 configuration (its
    repeats' mean: training 5,842, validation 6,459, R² -0.08) as good, within the noise bound of
    the comparison on 71 rows.
    """
    spec = load_spec(REPO / "sweeps" / "diabetes.yaml").with_overrides(max_trials=4, epochs=5)
    trials = run_sweep(spec, results_dir=tmp_path / "runs", data_dir=REPO / "sweeps").trials
    assert (trials["fit"] == "underfit").all(), trials["fit_reason"].tolist()
    assert trials["fit_reason"].str.contains("train longer").all()
