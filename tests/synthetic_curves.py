"""Synthetic learning curves and trials tables whose verdicts are known by construction.

Every curve is a binary task (chance-level loss ln 2 = 0.693): exponential approach to a floor,
plus a seeded jitter. `EXPECTED` maps the clear kinds to their verdict; `BORDERLINE` kinds sit
on a threshold, where any verdict is acceptable but the analysis must not crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

CHANCE = math.log(2)

EXPECTED = {
    "good": "good",
    "good_dropout": "good",
    "overfit": "overfit",
    "overfit_rise": "overfit",
    "overfit_gap": "overfit",
    "underfit": "underfit",
    "diverged": "diverged",
    "diverged_inf": "diverged",
}
BORDERLINE = ("rise_at_threshold", "gap_at_threshold", "loss_at_half_chance", "one_epoch", "flat", "noisy", "unstable")


def _decay(t: np.ndarray, start: float, floor: float, scale: float) -> np.ndarray:
    return floor + (start - floor) * np.exp(-(t - 1) / scale)


def _shape(kind: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Loss, val_loss, accuracy and val_accuracy of one kind, before jitter."""
    late = np.maximum(t - 8, 0)
    acc = _decay(t, 0.55, 0.97, 4)
    shapes = {
        "good": (_decay(t, 0.68, 0.08, 4), _decay(t, 0.68, 0.10, 4), acc, acc - 0.01),
        # Dropout makes the training loss (measured with dropout on) sit above the validation loss.
        "good_dropout": (_decay(t, 0.68, 0.14, 4), _decay(t, 0.66, 0.10, 4), acc - 0.03, acc),
        "overfit": (_decay(t, 0.66, 0.005, 5), _decay(t, 0.66, 0.22, 3) + 0.02 * late,
                    _decay(t, 0.55, 1.0, 4), _decay(t, 0.55, 0.86, 3)),
        "overfit_rise": (_decay(t, 0.66, 0.05, 5), _decay(t, 0.66, 0.20, 3) + 0.006 * late, acc, acc - 0.04),
        "overfit_gap": (_decay(t, 0.66, 0.01, 3), np.full_like(t, 0.45), _decay(t, 0.55, 1.0, 3),
                        _decay(t, 0.55, 0.78, 3)),
        "underfit": (_decay(t, 0.69, 0.62, 10), _decay(t, 0.69, 0.63, 10), _decay(t, 0.5, 0.64, 10),
                     _decay(t, 0.5, 0.63, 10)),
        "rise_at_threshold": (_decay(t, 0.66, 0.08, 3), _decay(t, 0.66, 0.20, 3) + 0.0018 * late, acc, acc - 0.02),
        "gap_at_threshold": (_decay(t, 0.66, 0.05, 3), _decay(t, 0.66, 0.15, 3), acc, acc - 0.10),
        "loss_at_half_chance": (_decay(t, 0.69, CHANCE / 2, 4), _decay(t, 0.69, CHANCE / 2, 4), acc, acc),
        "one_epoch": (_decay(t, 0.68, 0.08, 4), _decay(t, 0.68, 0.10, 4), acc, acc),
        "flat": (np.full_like(t, 0.3), np.full_like(t, 0.3), np.full_like(t, 0.8), np.full_like(t, 0.8)),
        "noisy": (_decay(t, 0.68, 0.10, 4), _decay(t, 0.68, 0.12, 4), acc, acc - 0.02),
        "unstable": (_decay(t, 0.68, 0.10, 3) + 0.01 * late, _decay(t, 0.68, 0.12, 3) + 0.012 * late, acc, acc),
    }
    shapes["diverged"] = shapes["diverged_inf"] = shapes["good"]
    return shapes[kind]


def curve(kind: str, *, epochs: int = 30, seed: int = 0) -> pd.DataFrame:
    """One execution's epochs (epoch, loss, val_loss, accuracy, val_accuracy, seconds) of `kind`."""
    epochs = 1 if kind == "one_epoch" else epochs
    t = np.arange(1, epochs + 1, dtype=float)
    loss, val_loss, accuracy, val_accuracy = (np.array(a, dtype=float) for a in _shape(kind, t))
    rng = np.random.default_rng(seed)
    jitter = 0.03 if kind == "noisy" else 0.002
    loss = loss * (1 + jitter / 4 * rng.standard_normal(epochs))  # training loss is an epoch mean: smoother
    val_loss = val_loss * (1 + jitter * rng.standard_normal(epochs))
    frame = pd.DataFrame({"epoch": t.astype(int), "loss": loss, "val_loss": val_loss,
                          "accuracy": np.clip(accuracy, 0, 1), "val_accuracy": np.clip(val_accuracy, 0, 1),
                          "seconds": 0.1})
    return _blow_up(frame, kind)


def _blow_up(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    # The engine stops at the first non-finite epoch and records it; so does this curve.
    if kind == "diverged":
        frame = frame.iloc[:7].copy()
        frame.loc[frame.index[-1], ["loss", "val_loss"]] = np.nan
    elif kind == "diverged_inf":
        frame = frame.iloc[:5].copy()
        frame.loc[frame.index[-1], "val_loss"] = np.inf
    return frame


def sweep(kinds: Mapping[str, str] | Sequence[str], *, executions: int = 1, epochs: int = 30,
          seed: int = 0) -> pd.DataFrame:
    """An epochs table: one trial per kind (trial ids "0", "1", ... or the mapping's keys)."""
    named = dict(kinds) if isinstance(kinds, Mapping) else {str(i): kind for i, kind in enumerate(kinds)}
    frames = [
        curve(kind, epochs=epochs, seed=seed + 100 * index + execution).assign(trial_id=trial_id, execution=execution)
        for index, (trial_id, kind) in enumerate(named.items())
        for execution in range(executions)
    ]
    table = pd.concat(frames, ignore_index=True)
    columns = ["trial_id", "execution", "epoch", "loss", "val_loss", "accuracy", "val_accuracy", "seconds"]
    return table[columns].astype({"trial_id": "string", "execution": "int64", "epoch": "int64"})


def synthetic_trials(*, n_trials: int = 24, executions: int = 2, seed: int = 0) -> pd.DataFrame:
    """A trials table where learning_rate drives val_loss, l2 and dropout close the gap, batch_size does nothing.

    val_loss = 0.2 + 0.15 * |log10(learning_rate) + 3| + noise; the accuracy gap is 0.12 without
    regularization, 0.04 less with l2 and 0.05 less with dropout; params grow with depth x width
    and so does the gap.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for trial in range(n_trials):
        values: dict[str, Any] = {
            "depth": int(rng.integers(1, 4)), "width": int(rng.choice([16, 64, 256])),
            "activation": str(rng.choice(["relu", "tanh"])), "dropout": float(rng.choice([0.0, 0.3])),
            "l1": 0.0, "l2": float(rng.choice([0.0, 1e-3])), "optimizer": "adam",
            "learning_rate": float(10 ** rng.uniform(-5, -1)), "batch_size": int(rng.choice([32, 128])),
        }
        params = values["depth"] * values["width"] ** 2
        for execution in range(executions):
            rows.append(_trial_row(str(trial), execution, values, params, rng))
    return pd.DataFrame(rows).astype({"trial_id": "string", "status": "string", "params": "Int64"})


def _trial_row(trial_id: str, execution: int, values: dict[str, Any], params: int,
               rng: np.random.Generator) -> dict[str, Any]:
    val_loss = 0.2 + 0.15 * abs(math.log10(float(values["learning_rate"])) + 3) + 0.01 * rng.standard_normal()
    gap = 0.12 - 0.04 * (values["l2"] > 0) - 0.05 * (values["dropout"] > 0) + 0.02 * math.log10(params / 1000)
    val_accuracy = 0.9 - 0.1 * val_loss + 0.005 * rng.standard_normal()
    return {
        "trial_id": trial_id, "execution": execution, "status": "completed", **values,
        "epochs_run": 20, "best_epoch": 10, "train_loss": val_loss * 0.6, "val_loss": val_loss,
        "test_loss": val_loss * 1.02, "train_accuracy": min(val_accuracy + gap, 1.0), "val_accuracy": val_accuracy,
        "test_accuracy": val_accuracy - 0.005 + 0.005 * rng.standard_normal(), "params": params,
        "fit_seconds": 1.0, "score": val_loss, "error": None,
    }


def trials_of(test_accuracy: list[float], **columns: list[object]) -> pd.DataFrame:
    """A trials table of one completed execution per test accuracy (training 0.05 above), with extra columns."""
    n = len(test_accuracy)
    frame = pd.DataFrame({
        "trial_id": [str(i) for i in range(n)], "execution": 0, "status": "completed",
        "train_accuracy": [a + 0.05 for a in test_accuracy], "val_accuracy": test_accuracy,
        "test_accuracy": test_accuracy,
    })
    return frame.assign(**columns)
