"""Verdicts on real short regression runs whose textbook reading is known.

The target is clearly nonlinear: y = sin(2 x1) + x2² / 2 + noise, x uniform on [-2, 2]². In plain
Keras (Adam 0.01, MSE, 60 epochs, 600 rows of noise sd 0.1) a linear model stays at a training MSE
of about 0.71, while a 64-64 relu network reaches a validation MSE of about 0.016: the linear model
underfits, the network fits. A 256-256 network trained 300 epochs on 40 rows of noise sd 0.5 fits
them to a training MSE of 0.03 while its validation MSE is 0.45, above the noise's 0.25: it
overfits; fitsweep must read each run so. Near the baseline of predicting the mean, on scikit-learn's
diabetes data, a network that has not started training underfits (a linear regression reads the
features), and one at the baseline of a target of pure noise is as good as the data allow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fitsweep import parse_spec, run_sweep
from fitsweep.verdicts import run_verdicts

pytestmark = pytest.mark.slow


def _write(path: Path, rows: int, noise: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (rows, 2))
    y = np.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2 + rng.normal(0, noise, rows)
    pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "target": y}).to_csv(path, index=False)
    return path


def _run(tmp_path: Path, name: str, data: dict[str, Any], train: dict[str, Any], layers: list[list[int]]
         ) -> pd.DataFrame:
    sweep = {"name": name, "data": {"source": "csv", "scaling": "none", **data},
             "model": {"layers": {"values": layers}}, "train": {"optimizer": "adam", "learning_rate": 0.01, **train},
             "tuner": {"algorithm": "grid", "max_trials": len(layers)}}
    return run_sweep(parse_spec(sweep), results_dir=tmp_path / "runs").trials.set_index("layers")


def test_a_linear_model_underfits_a_nonlinear_target_that_a_network_fits(tmp_path: Path) -> None:
    csv = _write(tmp_path / "curve.csv", 600, 0.1, 0)
    trials = _run(tmp_path, "capacity", {"path": str(csv)}, {"batch_size": 32, "epochs": 60}, [[], [64, 64]])
    assert trials.loc["none", "fit"] == "underfit", trials["fit_reason"].tolist()
    assert trials.loc["64-64", "fit"] == "good", trials["fit_reason"].tolist()
    reason = trials.loc["none", "fit_reason"]
    assert "training MSE" in reason and "reachable" in reason and "small network" in reason
    assert "R²" in trials.loc["64-64", "fit_reason"] and trials.loc["64-64", "val_r2"] > 0.9


def test_a_big_network_on_a_tiny_noisy_set_overfits(tmp_path: Path) -> None:
    train = _write(tmp_path / "tiny.csv", 80, 0.5, 0)
    test = _write(tmp_path / "test.csv", 400, 0.5, 1)
    trials = _run(tmp_path, "tiny", {"path": str(train), "test_path": str(test), "validation_size": 0.5},
                  {"batch_size": 16, "epochs": 300}, [[256, 256], [4]])
    big = trials.loc["256-256"]
    assert big["fit"] == "overfit", big["fit_reason"]
    assert "validation MSE" in big["fit_reason"] and big["train_mse"] < big["val_mse"] / 3


def _diabetes_sweep(name: str, model: dict[str, Any], train: dict[str, Any], trials: int) -> dict[str, Any]:
    return {"name": name, "data": {"source": "diabetes", "standardize_target": True}, "model": model,
            "train": {"optimizer": "adam", "batch_size": 32, "epochs": 30, **train},
            "tuner": {"algorithm": "grid", "max_trials": trials}}


def test_a_pure_noise_target_leaves_a_modest_network_good_and_says_the_features_do_not_predict_it(
        tmp_path: Path) -> None:
    """The diabetes features with a target of pure noise: nothing predicts it, and that is no underfitting.

    Plain Keras, the same split (282 training, 71 validation rows, standardized), an 8-unit network,
    Adam 0.001, batch 32, 30 epochs: training R² 0.03, validation 0.08 (the validation rows' own
    spread, not skill); a linear regression does worse than the mean on the same validation rows
    (paired gain -211 ± 273). Alone, a training MSE at the baseline used to read as "learned nothing".
    """
    from sklearn.datasets import load_diabetes

    x, _ = load_diabetes(return_X_y=True, scaled=False)
    noise = np.random.default_rng(0).normal(150, 77, len(x))
    np.savez(tmp_path / "noise.npz", x_train=x, y_train=noise)
    sweep = _diabetes_sweep("noise", {"layers": [8]}, {"learning_rate": 0.001}, 1)
    sweep["data"] = {"source": "npz", "path": str(tmp_path / "noise.npz"), "standardize_target": True}
    trials = run_sweep(parse_spec(sweep), results_dir=tmp_path / "runs").trials
    assert trials["fit"].tolist() == ["good"], trials["fit_reason"].tolist()
    assert "no configuration beats predicting the training mean beyond noise" in trials["fit_reason"][0]
    assert "the features hardly predict this target" in trials["fit_reason"][0]


def test_networks_that_cannot_fit_diabetes_underfit_beside_a_healthy_one_and_against_a_linear_fit(
        tmp_path: Path) -> None:
    """An 8-unit network on diabetes at Adam 0.01 fits; at 0.00001, or under L2 10, it does not.

    Plain Keras, the same split (282 training, 71 validation rows), batch 32, 60 epochs: at 0.01
    training R² 0.65, validation 0.44 (a linear regression: 0.53); at 0.00001 training R² -0.86 and
    validation -1.32, worse than predicting the mean; under L2 10 on every layer's kernel training
    R² 0.00 and validation -0.13: it predicts the mean. The network at 0.01 fits its training rows
    better than the linear fit and validates worse: its validation MSE is level from epoch 15 while
    its training MSE creeps down, to 1.5 times below it at epoch 60, on the line between good and
    overfit (the gap of a squared error that counts). Beside the healthy network both underfit
    against the sweep; in a sweep of only those two, whose best is near R² 0, against the linear
    regression, which the sweep alone could not show.
    """
    sweep = _diabetes_sweep("crippled", {"layers": [8], "l2": {"values": [0.0, 10.0]}},
                            {"learning_rate": {"values": [1e-5, 1e-2]}, "epochs": 60}, 4)
    run = run_sweep(parse_spec(sweep), results_dir=tmp_path / "runs")
    trials = run.trials.set_index(["learning_rate", "l2"])
    assert trials.loc[(1e-2, 0.0), "fit"] in ("good", "overfit"), trials["fit_reason"].tolist()
    assert trials.loc[(1e-5, 0.0), "fit"] == "underfit", trials["fit_reason"].tolist()
    assert trials.loc[(1e-2, 10.0), "fit"] == "underfit", trials["fit_reason"].tolist()
    assert "learning rate (1e-05)" in trials.loc[(1e-5, 0.0), "fit_reason"]
    assert "regularization l2=10: weaken it" in trials.loc[(1e-2, 10.0), "fit_reason"]
    crippled = run.trials[(run.trials["learning_rate"] == 1e-5) != (run.trials["l2"] == 10.0)]
    alone = run_verdicts(run.epochs[run.epochs["trial_id"].isin(crippled["trial_id"])], crippled, run.info)
    assert alone["fit"].tolist() == ["underfit", "underfit"], alone["fit_reason"].tolist()
    assert alone["fit_reason"].str.contains(
        "reachable (the validation MSE of a linear regression fitted on the training split)", regex=False).all()
