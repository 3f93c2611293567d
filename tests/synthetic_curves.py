"""Synthetic learning curves and trials tables whose verdicts are known by construction.

Every curve is a binary task (chance-level loss ln 2 = 0.693): exponential approach to a floor,
plus a seeded jitter. `EXPECTED` maps the clear kinds to their verdict; `BORDERLINE` kinds sit
on a threshold, where any verdict is acceptable but the analysis must not crash.
"""

from __future__ import annotations

import itertools
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
    "stuck": "underfit",
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
        # A network that never trains (a learning rate of 1e-6, dead relu units): priors at every epoch.
        "stuck": (np.full_like(t, CHANCE), np.full_like(t, CHANCE), np.full_like(t, 0.5), np.full_like(t, 0.5)),
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
    jitter = {"noisy": 0.03, "stuck": 0.0}.get(kind, 0.002)
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


# --- a whole run folder, for analysis and report at scale ----------------------------------

_LAYERS = {"8": [8], "32": [32], "64-64": [64, 64], "128-128": [128, 128], "256-256-256": [256, 256, 256],
           "600-400-200": [600, 400, 200]}
_ROWS = {"train_rows": 12_800, "train_measured_rows": 3_200, "val_rows": 3_200, "test_rows": 4_000}
_MAX_EPOCHS, _MIN_EPOCHS, _PATIENCE = 50, 20, 10


def _params(widths: list[int], features: int = 2) -> int:
    sizes = [features, *widths, 1]
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


def synthetic_run_tables(n_trials: int, *, executions: int = 2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trials and epochs tables of a moons-like sweep of `n_trials` trials, built without training.

    Hyperparameters layers, dropout, l1, l2, learning_rate and batch_size are drawn per trial; they
    make each trial lean good, overfit (a large unregularised network: the validation loss turns up
    after its minimum) or underfit (strong L1/L2, a slow learning rate or 8 units: both losses stay
    high), and about 0.5% diverge (a NaN loss at an early epoch). Executions jitter around their
    trial's curve. Early stopping (patience 10 on val_crossentropy) ends each execution between
    epoch 20 and 50. Columns, dtypes and row counts (12,800 training rows, 3,200 measured, 3,200
    validation, 4,000 test) are those of `fitsweep.results.tables`; arrays are built whole, so 10,000
    trials take a second or two.
    """
    rng = np.random.default_rng(seed)
    names = np.array(list(_LAYERS))
    layers = rng.choice(names, n_trials)
    dropout = rng.choice([0.0, 0.2, 0.5], n_trials)
    l1 = rng.choice([0.0, 0.0, 1e-5, 1e-4, 1e-3], n_trials)
    l2 = rng.choice([0.0, 0.0, 1e-5, 1e-4, 1e-3], n_trials)
    learning_rate = 10 ** rng.uniform(-4, -1, n_trials)
    batch_size = rng.choice([32, 128, 256], n_trials)
    params = np.array([_params(_LAYERS[str(name)]) for name in layers])
    strong = (l1 >= 1e-3) | (l2 >= 1e-3)
    p_under = np.clip(0.08 + 0.6 * strong + 0.4 * (learning_rate < 3e-4) + 0.5 * (layers == "8"), 0, 0.9)
    free = (dropout == 0) & (l1 < 1e-4) & (l2 < 1e-4)
    p_over = np.clip(0.1 + 0.6 * ((params > 20_000) & free), 0, 1 - p_under)
    draw = rng.uniform(size=n_trials)
    kind = np.where(draw < p_under, 2, np.where(draw < p_under + p_over, 1, 0))  # 0 good, 1 overfit, 2 underfit
    diverged = rng.uniform(size=n_trials) < 0.005 * (1 + 2 * (learning_rate > 0.03))

    n = n_trials * executions
    trial = np.repeat(np.arange(n_trials), executions)
    execution = np.tile(np.arange(executions), n_trials)
    k = kind[trial]
    t = np.arange(1, _MAX_EPOCHS + 1, dtype=float)[None, :]
    scale = np.where(k == 2, rng.uniform(6, 16, n), rng.uniform(2, 7, n))[:, None]
    train_floor = np.choose(k, [rng.uniform(0.04, 0.055, n), rng.uniform(0.005, 0.03, n), rng.uniform(0.25, 0.4, n)])
    val_floor = np.choose(k, [train_floor + rng.uniform(0.005, 0.015, n), rng.uniform(0.09, 0.13, n),
                              train_floor + rng.uniform(0.0, 0.02, n)])
    rise_from = rng.uniform(12, 40, n)[:, None]
    rise = np.where(k == 1, rng.uniform(0.003, 0.012, n), 0.0)[:, None] * np.maximum(t - rise_from, 0)
    decay = np.exp(-(t - 1) / scale)
    crossentropy = (train_floor[:, None] + (CHANCE - train_floor[:, None]) * decay) * (
        1 + 0.004 * rng.standard_normal((n, _MAX_EPOCHS)))
    val_crossentropy = (val_floor[:, None] + (CHANCE - val_floor[:, None]) * decay + rise) * (
        1 + 0.01 * rng.standard_normal((n, _MAX_EPOCHS)))
    accuracy = np.clip(1 - (0.004 + 0.4 * crossentropy), 0.5, 1)
    val_accuracy = np.clip(1 - (0.006 + 0.4 * np.minimum.accumulate(val_crossentropy, axis=1) + 0.05 * rise)
                           + 0.003 * rng.standard_normal((n, _MAX_EPOCHS)), 0.5, 1)
    penalty = (300 * l1 + 30 * l2)[trial][:, None] * (1 - 0.5 * decay)
    drop = dropout[trial][:, None]

    # Early stopping on val_crossentropy, never before epoch 20; a diverged trial stops at its NaN.
    best_so_far = np.minimum.accumulate(val_crossentropy, axis=1)
    last_best = np.maximum.accumulate(np.where(val_crossentropy <= best_so_far, np.arange(_MAX_EPOCHS), 0), axis=1)
    waited = np.arange(_MAX_EPOCHS)[None, :] - last_best >= _PATIENCE
    waited[:, :_MIN_EPOCHS - 1] = False
    stop = np.where(waited.any(axis=1), waited.argmax(axis=1) + 1, _MAX_EPOCHS)
    blown_at = rng.integers(3, 16, n_trials)[trial]
    stop = np.where(diverged[trial], blown_at, stop)
    kept = np.arange(_MAX_EPOCHS)[None, :] < stop[:, None]

    trial_ids = np.array([f"{i:0{len(str(n_trials))}d}" for i in range(n_trials)])
    columns = {
        "loss": crossentropy + penalty, "val_loss": val_crossentropy + penalty, "accuracy": accuracy,
        "val_accuracy": val_accuracy, "crossentropy": crossentropy, "val_crossentropy": val_crossentropy,
        "crossentropy_sd": 2.5 * crossentropy, "val_crossentropy_sd": 2.5 * val_crossentropy,
        "running_loss": (crossentropy + penalty) * (1 + 0.6 * drop), "running_accuracy": accuracy - 0.06 * drop,
        "running_crossentropy": crossentropy * (1 + 0.6 * drop),
        "seconds": np.broadcast_to((0.02 + params[trial] / 2e6)[:, None], (n, _MAX_EPOCHS)),
    }
    blown = diverged[trial][:, None] & (np.arange(_MAX_EPOCHS)[None, :] == stop[:, None] - 1)
    for name in ("loss", "crossentropy", "running_loss", "running_crossentropy", "val_loss", "val_crossentropy"):
        columns[name] = np.where(blown, np.nan, columns[name])
    rows, epochs_at = np.nonzero(kept)
    epochs = pd.DataFrame({
        "trial_id": pd.array(trial_ids[trial[rows]], dtype="string"), "execution": execution[rows].astype("int64"),
        "epoch": (epochs_at + 1).astype("int64"), **{name: values[rows, epochs_at] for name, values in columns.items()},
    })

    # The trials table: each execution at its best epoch (lowest val_crossentropy before any NaN).
    finite_val = np.where(kept & ~blown, val_crossentropy, np.inf)
    best = finite_val.argmin(axis=1)
    at = np.arange(n), best
    score = pd.Series(val_crossentropy[at]).groupby(trial).transform("mean").to_numpy()
    started = pd.Timestamp("2026-12-01", tz="UTC") + pd.to_timedelta(trial * 30.0, unit="s")
    fit_seconds = columns["seconds"][:, 0] * stop
    status = np.where(diverged[trial], "diverged", "completed")
    trials = pd.DataFrame({
        "trial_id": pd.array(trial_ids[trial], dtype="string"), "execution": execution.astype("int64"),
        "status": pd.array(status, dtype="string"), "layers": layers[trial], "activation": "relu",
        "dropout": dropout[trial], "l1": l1[trial], "l2": l2[trial], "optimizer": "adam",
        "learning_rate": learning_rate[trial], "batch_size": batch_size[trial].astype("int64"),
        "epochs_run": pd.array(stop, dtype="Int64"), "best_epoch": pd.array(best + 1, dtype="Int64"),
        "train_loss": columns["loss"][at], "val_loss": columns["val_loss"][at],
        "test_loss": columns["val_loss"][at] * (1 + 0.02 * rng.standard_normal(n)),
        "train_accuracy": accuracy[at], "val_accuracy": val_accuracy[at],
        "test_accuracy": np.clip(val_accuracy[at] + 0.004 * rng.standard_normal(n), 0, 1),
        "train_crossentropy": crossentropy[at], "val_crossentropy": val_crossentropy[at],
        "test_crossentropy": val_crossentropy[at] * (1 + 0.02 * rng.standard_normal(n)),
        "params": pd.array(params[trial], dtype="Int64"),
        "weight_l1": params[trial] * 0.05 * (1 - 0.7 * (l1[trial] > 0)),
        "weight_l2": np.sqrt(params[trial]) * 0.1 * (1 - 0.5 * (l2[trial] > 0)),
        "near_zero_share": np.where(l1[trial] > 0, rng.uniform(0.3, 0.7, n), rng.uniform(0.005, 0.02, n)),
        **{name: pd.array(np.full(n, rows_), dtype="Int64") for name, rows_ in _ROWS.items()},
        "fit_seconds": fit_seconds, "started": started, "ended": started + pd.to_timedelta(fit_seconds, unit="s"),
        "score": score,
        "error": pd.array(np.where(diverged[trial], "FailedTrialError: Diverged: a loss became NaN or infinite",
                                   None), dtype="string"),
    })
    for name in ("train_loss", "val_loss", "train_crossentropy", "val_crossentropy", "test_loss", "test_crossentropy",
                 "score"):
        trials.loc[diverged[trial], name] = np.nan
    return trials, epochs


def synthetic_sweep_file(n_trials: int, executions: int = 2) -> dict[str, Any]:
    """The sweep file `synthetic_run_tables` stands for (a moons sweep of 20,000 samples)."""
    return {
        "name": f"synthetic-{n_trials}",
        "data": {"source": "moons", "samples": 20_000, "noise": 0.2, "test_size": 0.2},
        "model": {"layers": {"values": [widths for widths in _LAYERS.values()]},
                  "dropout": {"values": [0.0, 0.2, 0.5]}, "l1": {"values": [0.0, 1e-5, 1e-4, 1e-3]},
                  "l2": {"values": [0.0, 1e-5, 1e-4, 1e-3]}},
        "train": {"optimizer": "adam", "learning_rate": {"min": 1e-4, "max": 1e-1, "sampling": "log"},
                  "batch_size": {"values": [32, 128, 256]}, "epochs": _MAX_EPOCHS, "early_stopping": _PATIENCE},
        "tuner": {"algorithm": "random", "max_trials": n_trials, "executions_per_trial": executions, "seed": 0},
    }


def write_synthetic_run(root: Any, n_trials: int, *, executions: int = 2, seed: int = 0) -> Any:
    """A results folder of `synthetic_run_tables`, written by fitsweep's own writers, with verdicts as a run has.

    Returns its `RunPaths`. The trials table carries `fit` and `fit_reason` as `fitsweep run` writes them.
    """
    from pathlib import Path

    from fitsweep.analysis import diagnose
    from fitsweep.results import RunPaths, write_run_info, write_spec, write_tables
    from fitsweep.spec import parse_spec

    paths = RunPaths(Path(root))
    paths.root.mkdir(parents=True, exist_ok=True)
    trials, epochs = synthetic_run_tables(n_trials, executions=executions, seed=seed)
    verdicts = diagnose(epochs, trials, chance_loss=CHANCE)[["trial_id", "execution", "fit", "fit_reason"]]
    trials = trials.merge(verdicts.astype({"fit": "string", "fit_reason": "string"}), on=["trial_id", "execution"],
                          how="left")
    spec = parse_spec(synthetic_sweep_file(n_trials, executions))
    write_spec(paths, spec)
    best = trials.loc[trials["score"].idxmin(), "trial_id"]
    statuses = trials.drop_duplicates("trial_id")["status"].value_counts()
    write_run_info(paths, {
        "name": spec.name, "status": "completed", "started": "2026-12-01T00:00:00+00:00",
        "finished": "2026-12-04T12:00:00+00:00", "seed": 0, "algorithm": "random", "objective": "val_crossentropy",
        "host": "synthetic", "data": {"source": "moons", "train": 12_800, "validation": 3_200, "test": 4_000,
                                      "features": 2, "classes": 2},
        "chance_loss": CHANCE, "trials": {str(k): int(v) for k, v in statuses.items()},
        "best_trial": str(best), "best_score": float(trials["score"].min()),
    })
    write_tables(paths, trials, epochs)
    return paths


# --- labelled curves at realistic noise, without row counts ---------------------------------

LABELLED_KINDS = ("good", "overfit", "underfit", "diverged")


def labelled_runs(n_runs: int, *, epochs: int = 40, seed: int = 0) -> pd.DataFrame:
    """An epochs table of `n_runs` sweeps (a `run` column), each one trial of every `LABELLED_KINDS` kind.

    The trial id is the kind. Shapes are drawn per curve: a good network's losses settle at a floor
    (training 0.04-0.12, validation 0.01-0.04 above it: the best of its sweep); an overfit one's
    validation loss turns up 0.5-2% of a unit per epoch from epoch 10-20 while its training loss
    falls towards 0; an underfit one's
    losses settle at 0.45-0.6 (65-87% of chance); a diverged one is good until a NaN at epoch 3-20.
    The validation loss carries the epoch-to-epoch noise of a real run, 1-5% of its level (its
    accuracy 0.3-1 point), the training loss a quarter of it. No row counts: the tables of an
    imported search or an older run.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(1, epochs + 1, dtype=float)
    frames = []
    for run in range(n_runs):
        for kind in LABELLED_KINDS:
            loss, val = _labelled_shape(kind, t, rng)
            noise = rng.uniform(0.01, 0.05)
            loss = loss * (1 + noise / 4 * rng.standard_normal(epochs))
            val = val * (1 + noise * rng.standard_normal(epochs))
            accuracy = np.clip(1 - (0.004 + 0.4 * loss), 0.5, 1)
            val_accuracy = np.clip(1 - (0.006 + 0.4 * np.minimum.accumulate(val)) - 0.3 * (val - np.minimum.accumulate(
                val)) + rng.uniform(0.003, 0.01) * rng.standard_normal(epochs), 0.5, 1)
            frame = pd.DataFrame({"run": f"r{run}", "trial_id": kind, "execution": 0, "epoch": t.astype(int),
                                  "loss": loss, "val_loss": val, "accuracy": accuracy, "val_accuracy": val_accuracy})
            if kind == "diverged":
                blown = int(rng.integers(3, 21))
                frame = frame.iloc[:blown].copy()
                frame.loc[frame.index[-1], ["loss", "val_loss"]] = np.nan
            frames.append(frame)
    return pd.concat(frames, ignore_index=True).astype({"trial_id": "string", "execution": "int64"})


def _labelled_shape(kind: str, t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    scale = rng.uniform(2, 6)
    if kind == "overfit":
        train_floor, val_floor = rng.uniform(0.005, 0.05), rng.uniform(0.15, 0.3)
        rise = rng.uniform(0.005, 0.02) * np.maximum(t - rng.uniform(10, 20), 0)
        return _decay(t, CHANCE, train_floor, scale), _decay(t, CHANCE, val_floor, scale) + rise
    if kind == "underfit":
        train_floor = rng.uniform(0.45, 0.6)
        scale = rng.uniform(6, 12)
        return _decay(t, CHANCE, train_floor, scale), _decay(t, CHANCE, train_floor + rng.uniform(0, 0.02), scale)
    train_floor = rng.uniform(0.04, 0.12)  # the sweep's best: its validation floor is what the sweep reaches
    return _decay(t, CHANCE, train_floor, scale), _decay(t, CHANCE, train_floor + rng.uniform(0.01, 0.04), scale)
