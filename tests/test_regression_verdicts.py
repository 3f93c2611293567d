"""Verdicts on real short regression runs whose textbook reading is known.

The target is clearly nonlinear: y = sin(2 x1) + x2² / 2 + noise, x uniform on [-2, 2]². In plain
Keras (Adam 0.01, MSE, 60 epochs, 600 rows of noise sd 0.1) a linear model stays at a training MSE
of about 0.71, while a 64-64 relu network reaches a validation MSE of about 0.016: the linear model
underfits, the network fits. A 256-256 network trained 300 epochs on 40 rows of noise sd 0.5 fits
them to a training MSE of 0.03 while its validation MSE is 0.45, above the noise's 0.25: it
overfits; fitsweep must read each run so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fitsweep import parse_spec, run_sweep

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
