"""The learning curve over training-set size: chosen trials of a finished run retrained on shares of its data.

Each repeat draws one stratified order of the training split (a regression's: a plain random
order, a numeric target has no classes); a size keeps the first rows of that order, so the
subsets of one repeat are nested (the smaller inside the larger) and every subset of a
classification holds the classes in the split's shares. The validation and test splits stay fixed. Repeat r of
a trial trains with the seed of the sweep's execution r, its subset's rows in the split's order,
so at size 1.0 it trains as that execution did. Each size trains its trials and repeats as one
fused model, each member stepping through its own subset (`training.Member.rows`); sizes train
apart, since a fused model steps all its members through the same number of rows (a family fitsweep does
not fuse, such as conv, trains each member alone, as its sweep did). Training keeps
the sweep's epochs, early stopping and objective. Training and validation error and cross-entropy
(a regression's MSE and R²) are read at each member's selected epoch, measured as the verdicts
measure them: inference mode, penalty-free, the training error on the subset's own rows.

The table (`learning_curve.parquet` in the run folder) is written after every size, so a
stopped run loses at most one size; run again, it trains only the sizes and repeats it lacks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.errors import FitsweepError, ResultsError
from fitsweep.families import family_for
from fitsweep.results import RunPaths, SweepRun, load, run_lock, write_atomic
from fitsweep.results.columns import HYPERPARAMETERS, present

__all__ = [
    "COLUMNS", "DEFAULT_SIZES", "LearningCurveError", "check_sizes", "load_learning_curve", "parse_sizes",
    "run_learning_curve", "select_trials", "stratified_order", "subset_rows", "training_order",
]

DEFAULT_SIZES = (0.1, 0.25, 0.5, 1.0)
# Each task's measurements, read at the selected epoch; the other task's columns are NaN.
_MEASURED = {"classification": {"train_error": "accuracy", "val_error": "val_accuracy",
                                "train_crossentropy": "crossentropy", "val_crossentropy": "val_crossentropy"},
             "regression": {"train_mse": "mse", "val_mse": "val_mse", "train_r2": "r2", "val_r2": "val_r2"}}
_ADDED_FOR_REGRESSION = tuple(_MEASURED["regression"])  # absent from tables written before regression curves
COLUMNS = ("trial_id", "size", "repeat", "train_rows", "seed", "epochs", "status", "epochs_run", "best_epoch",
           *_MEASURED["classification"], *_MEASURED["regression"], "fit_seconds")
_KEYS = ["trial_id", "size", "repeat"]

# Told after each size has trained: its share, its training rows, executions trained, seconds.
SizeListener = Callable[[float, int, int, float], None]


class LearningCurveError(FitsweepError):
    """A learning curve that cannot be measured: bad sizes, trials or repeats, or an unfinished run."""


def run_learning_curve(
    run_dir: str | Path,
    *,
    trials: Sequence[str] = ("best",),
    sizes: Sequence[float] = DEFAULT_SIZES,
    repeats: int = 3,
    epochs: int | None = None,
    data_dir: str | Path | None = None,
    on_size: SizeListener | None = None,
) -> pd.DataFrame:
    """Retrain trials of a finished run on nested shares of its training split (stratified for a classification).

    Everything is checked before anything trains or is written; sizes and repeats already in the
    run's table are kept, not trained again.

    Args:
        run_dir: A finished run's folder.
        trials: "best" (the run's best trial) or trial ids as in the trials table ("3" finds "03").
        sizes: Shares of the training split, each in (0, 1].
        repeats: Subsets and seeds per size, at least 1 (3 or more for intervals worth reading).
        epochs: Epochs per training; by default the sweep's (with its early stopping).
        data_dir: Where the sweep's relative data paths start; by default the one the run recorded.
        on_size: Told after each size has trained.

    Returns:
        The whole table, one row per trial, size and repeat (see `COLUMNS`).

    Raises:
        LearningCurveError: Bad sizes, repeats or trials, a run that is not finished, or a table
            made with other epochs.

    Example:
        >>> table = run_learning_curve("results/moons", trials=["best"], sizes=[0.25, 0.5, 1.0])  # doctest: +SKIP
        >>> training_size_verdicts(table)[["trial_id", "verdict"]]  # doctest: +SKIP
    """
    run = load(run_dir)
    shares = check_sizes(sizes)
    if repeats < 1:
        raise LearningCurveError(f"--repeats {repeats}: allowed is a whole number from 1")
    trial_ids = select_trials(run, trials)
    epochs = int(epochs if epochs is not None else run.spec.train.epochs)
    if epochs < 1:
        raise LearningCurveError(f"--epochs {epochs}: allowed is a whole number from 1")
    paths = RunPaths(run.path)
    done = _earlier_table(paths, epochs)
    from fitsweep.data import prepare_data

    splits = prepare_data(run.spec.data, data_dir if data_dir is not None else run.info.get("data_dir", "."))
    rows = subset_rows(splits.y_train, 0 if splits.task.regression else splits.n_classes, shares)
    with run_lock(paths):
        return _train_missing(run, paths, splits, trial_ids, dict(zip(shares, rows, strict=True)), repeats, epochs,
                              done, on_size)


def parse_sizes(text: str) -> list[float]:
    """`--sizes` as numbers: comma-separated shares such as "0.1,0.25,0.5,1.0"."""
    try:
        return check_sizes([float(part) for part in text.split(",") if part.strip()])
    except ValueError:
        raise LearningCurveError(f"--sizes {text}: give shares of the training split such as 0.1,0.25,0.5,1.0, "
                                 "each in (0, 1]") from None


def check_sizes(sizes: Sequence[float]) -> list[float]:
    """The sizes sorted and without duplicates, or `LearningCurveError` naming the one outside (0, 1]."""
    if not len(sizes):
        raise LearningCurveError("--sizes: give at least one share of the training split, such as 0.25,0.5,1.0")
    for size in sizes:
        if not (isinstance(size, (int, float)) and math.isfinite(size) and 0 < size <= 1):
            raise LearningCurveError(f"--sizes {size}: each size is a share of the training split, in (0, 1]")
    return sorted({float(size) for size in sizes})


def select_trials(run: SweepRun, selectors: Sequence[str]) -> list[str]:
    """The trial ids `selectors` name, in order and once each; each must have a completed execution.

    Raises:
        LearningCurveError: A run that is not finished or has no completed trial, or a selector
            that names no trial (the message lists the allowed ones).
    """
    if run.info.get("imported"):
        raise LearningCurveError(f"{run.path}: was imported from KerasTuner, whose model and data fitsweep does "
                                 "not have, so it cannot retrain its trials on less data")
    status = run.info.get("status")
    if status != "completed":
        raise LearningCurveError(f"{run.path}: the run is {status or 'of unknown status'}, not completed; "
                                 f"finish it first (fitsweep resume {run.path})")
    completed = run.trials[run.trials["status"].astype(str) == "completed"]
    ids = list(dict.fromkeys(run.trials["trial_id"].astype(str)))
    usable = list(dict.fromkeys(completed["trial_id"].astype(str)))
    if not usable:
        raise LearningCurveError(f"{run.path}: the run has no completed trial to retrain")
    if not selectors:
        raise LearningCurveError("--trials: name at least one trial: best, or trial ids such as 03")
    chosen = []
    for selector in selectors:
        trial_id = _trial_named(str(selector).strip(), run, ids)
        if trial_id not in usable:
            raise LearningCurveError(f"--trials {selector}: trial {trial_id} has no completed execution; "
                                     f"allowed: best, {_listed(usable)}")
        if trial_id not in chosen:
            chosen.append(trial_id)
    return chosen


def _trial_named(selector: str, run: SweepRun, ids: list[str]) -> str:
    if selector == "best":
        best = run.info.get("best_trial")
        if best is None:
            raise LearningCurveError(f"--trials best: {run.path} records no best trial")
        return str(best)
    if selector in ids:
        return selector
    numeric = [trial_id for trial_id in ids if selector.isdecimal() and trial_id.isdecimal()
               and int(trial_id) == int(selector)]
    if len(numeric) == 1:
        return numeric[0]
    raise LearningCurveError(f"--trials {selector}: no such trial in {run.path}; allowed: best, {_listed(ids)}")


def _listed(ids: list[str], most: int = 12) -> str:
    shown = ", ".join(ids[:most])
    return shown if len(ids) <= most else f"{shown}, ... ({len(ids)} trials)"


def stratified_order(y: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """An order of the rows whose every prefix holds each class in about its share.

    Rows are shuffled within each class by `seed`; the i-th row of a class of m rows is placed
    at (i + 0.5) / m, and the rows are sorted by place (ties by class). So where the classes
    fall in the order does not depend on the seed: the same prefix lengths hold every class for
    every repeat.

    Example:
        >>> stratified_order(np.array([0, 0, 0, 1]), 2, seed=0)[:2].tolist() in ([0, 3], [1, 3], [2, 3])
        True
    """
    generator = np.random.default_rng(seed)
    places, rows, classes = [], [], []
    for label in range(n_classes):
        members = generator.permutation(np.flatnonzero(y == label))
        places.append((np.arange(len(members)) + 0.5) / max(len(members), 1))
        rows.append(members)
        classes.append(np.full(len(members), label))
    order = np.lexsort((np.concatenate(classes), np.concatenate(places)))
    ordered: np.ndarray = np.concatenate(rows)[order]
    return ordered


def training_order(y: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """The order whose prefixes are a repeat's subsets: stratified for classes, plain random for a regression (0).

    Example:
        >>> sorted(training_order(np.array([2.5, 0.1, 7.0]), 0, seed=0).tolist())
        [0, 1, 2]
    """
    if n_classes == 0:
        order: np.ndarray = np.random.default_rng(seed).permutation(len(y))
        return order
    return stratified_order(y, n_classes, seed)


def subset_rows(y: np.ndarray, n_classes: int, shares: Sequence[float]) -> list[int]:
    """Each share's row count; `LearningCurveError` for a share too small to hold every class (or 2 rows).

    `n_classes` is 0 for a regression, whose subsets need only two rows (a spread to measure R² on).
    """
    if n_classes == 0:
        return [_regression_rows(share, len(y)) for share in shares]
    order = stratified_order(y, n_classes, seed=0)  # class positions are the same for every seed
    labels = y[order]
    rows = []
    for share in shares:
        count = max(1, round(share * len(y)))
        if len(np.unique(labels[:count])) < n_classes:
            smallest = next(k for k in range(1, len(y) + 1) if len(np.unique(labels[:k])) == n_classes)
            raise LearningCurveError(
                f"--sizes {share:g}: {count} training row(s) cannot hold all {n_classes} classes; "
                f"allowed: sizes from {math.ceil(smallest / len(y) * 1000) / 1000:g} ({smallest} rows) to 1")
        rows.append(count)
    return rows


def _regression_rows(share: float, total: int) -> int:
    count = round(share * total)
    if count < 2:
        raise LearningCurveError(f"--sizes {share:g}: {count} training row(s) cannot measure a regression; allowed: "
                                 f"sizes from {math.ceil(2 / total * 1000) / 1000:g} (2 rows) to 1")
    return count


def _earlier_table(paths: RunPaths, epochs: int) -> pd.DataFrame:
    """The rows already measured; `LearningCurveError` when they were trained for other epochs."""
    if not paths.learning_curve.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    table = load_learning_curve(paths.root)
    earlier = sorted({int(value) for value in table["epochs"]})
    if earlier and earlier != [epochs]:
        raise LearningCurveError(
            f"--epochs {epochs}: {paths.learning_curve} was trained with {earlier[0]} epochs; pass --epochs "
            f"{earlier[0]} to add to it, or delete the file to start again")
    return table


def load_learning_curve(run_dir: str | Path) -> pd.DataFrame:
    """A run's learning-curve table, or `ResultsError` when it has none yet.

    Example:
        >>> table = load_learning_curve("results/moons")  # doctest: +SKIP
    """
    path = RunPaths(Path(run_dir)).learning_curve
    if not path.exists():
        raise ResultsError(f"{path}: no learning curve yet; measure one with: fitsweep learning-curve {run_dir}")
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise ResultsError(f"{path}: cannot be read ({error})") from None
    table = table.assign(**{name: np.nan for name in _ADDED_FOR_REGRESSION if name not in table.columns})
    missing = [column for column in COLUMNS if column not in table.columns]
    if missing:
        raise ResultsError(f"{path}: not a learning-curve table (missing {', '.join(missing)})")
    return table


def _train_missing(run: SweepRun, paths: RunPaths, splits: Any, trial_ids: list[str], rows: dict[float, int],
                   repeats: int, epochs: int, table: pd.DataFrame, on_size: SizeListener | None) -> pd.DataFrame:
    have = {(str(t), float(s), int(r)) for t, s, r in table[_KEYS].itertuples(index=False)}
    n_classes = 0 if splits.task.regression else splits.n_classes
    orders = [training_order(splits.y_train, n_classes, seed=_order_seed(run, repeat)) for repeat in range(repeats)]
    for share, count in rows.items():
        wanted = [(trial_id, repeat) for trial_id in trial_ids for repeat in range(repeats)
                  if (trial_id, share, repeat) not in have]
        if not wanted:
            continue
        started = time.perf_counter()
        new_rows = _train_size(run, splits, wanted, orders, count, share, epochs)
        new = pd.DataFrame(new_rows, columns=list(COLUMNS))
        table = new if table.empty else pd.concat([table, new], ignore_index=True)
        table = table.sort_values(_KEYS, kind="stable", ignore_index=True)
        _write_table(paths, table)
        if on_size is not None:
            on_size(share, count, len(new_rows), time.perf_counter() - started)
    return table


def _write_table(paths: RunPaths, table: pd.DataFrame) -> None:
    write_atomic(paths.learning_curve, lambda path: table.to_parquet(path, index=False))


def _order_seed(run: SweepRun, repeat: int) -> int:
    from fitsweep.spec import KerasTunerData

    data = run.spec.data
    assert not isinstance(data, KerasTunerData), "select_trials refuses imported runs"
    return int(np.random.SeedSequence([data.split_seed, repeat]).generate_state(1)[0])


def _train_size(run: SweepRun, splits: Any, wanted: list[tuple[str, int]], orders: list[np.ndarray], count: int,
                share: float, epochs: int) -> list[dict[str, Any]]:
    """One size's trials and repeats, fused where the sweep fused (each member on its own subset), one row each."""
    from fitsweep.search.engine import execution_seed
    from fitsweep.training import MAX_FUSED_MEMBERS, Member, fusion_groups

    members = [Member(trial_id, repeat, _values(run, trial_id), execution_seed(run.spec.tuner.seed, trial_id, repeat),
                      rows=tuple(int(row) for row in np.sort(orders[repeat][:count])))
               for trial_id, repeat in wanted]
    limit = MAX_FUSED_MEMBERS if run.spec.train.fused and family_for(run.spec).train_fused is not None else 1
    records = []
    for group in fusion_groups(members, epochs, limit):
        records += _train_members(run, splits, group, share, epochs)
    return records


def _train_members(run: SweepRun, splits: Any, members: list[Any], share: float, epochs: int) -> list[dict[str, Any]]:
    from fitsweep.training import train_executions

    history: dict[tuple[str, int], list[dict[str, float]]] = {}

    def on_epoch(member: Any, epoch: int, record: dict[str, float], seconds: float) -> None:
        history.setdefault((member.trial_id, member.execution), []).append(record)

    started = time.perf_counter()
    tuner, family = run.spec.tuner, family_for(run.spec)
    outcomes = train_executions(members, splits, family, epochs=epochs, objective=tuner.objective,
                                direction=tuner.direction, patience=run.spec.train.early_stopping, on_epoch=on_epoch)
    seconds = (time.perf_counter() - started) / len(members)
    return [_row(outcome, history.get((outcome.member.trial_id, outcome.member.execution), []), splits, share,
                 epochs, seconds) for outcome in outcomes]


def _row(outcome: Any, epochs_seen: list[dict[str, float]], splits: Any, share: float, epochs: int,
         seconds: float) -> dict[str, Any]:
    member = outcome.member
    row: dict[str, Any] = {"trial_id": member.trial_id, "size": share, "repeat": member.execution,
                           "train_rows": len(member.rows), "seed": member.seed, "epochs": epochs,
                           "epochs_run": len(epochs_seen), "fit_seconds": seconds,
                           **dict.fromkeys(COLUMNS[COLUMNS.index("train_error"):-1], math.nan)}
    if outcome.diverged_at is not None or outcome.best_epoch < 0:
        return {**row, "status": "diverged", "best_epoch": -1}
    best = epochs_seen[outcome.best_epoch]
    measured = {column: best[name] for column, name in _MEASURED[splits.task.kind].items()}
    if not splits.task.regression:  # an error rate, from the accuracy
        measured.update(train_error=1.0 - measured["train_error"], val_error=1.0 - measured["val_error"])
    return {**row, "status": "completed", "best_epoch": outcome.best_epoch + 1, **measured}


def _values(run: SweepRun, trial_id: str) -> dict[str, Any]:
    """A trial's hyperparameters, from its first completed row of the trials table."""
    rows = run.trials[(run.trials["trial_id"].astype(str) == trial_id)
                      & (run.trials["status"].astype(str) == "completed")]
    first = rows.iloc[0]
    return {name: first[name] for name in present(run.trials.columns, HYPERPARAMETERS)}
