"""How a decision boundary forms as a network trains: one execution retrained to a few epochs, a panel each.

A sweep keeps only the best model, at its best epoch. This figure retrains one execution with
`retrain_execution` (its hyperparameters, its seed, the sweep's training path) to each epoch
asked for, so each panel is that execution as it stood after that epoch, as the sweep trained it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fitsweep.figures._common import FigureError, as_run, style
from fitsweep.figures._models import (
    _BoundariesInfo,
    _Boundary,
    _draw_boundaries,
    _shaped,
    _trial_row,
    load_splits,
    retrain_execution,
)
from fitsweep.predictions import boundary_grid, grid_points, model_outputs

__all__ = ["plot_decision_boundary_epochs"]

_PANELS = 4  # epochs drawn when none are asked for


def plot_decision_boundary_epochs(
    run: Any, *, trial_id: str | None = None, execution: int = 0, epochs: Sequence[int] | None = None,
    splits: Any = None, data_dir: str | Path = ".",
) -> Figure:
    """One execution's decision boundary after a few of its epochs, on a 2-feature data set.

    Args:
        run: A `SweepRun` or its folder.
        trial_id: The trial to draw; by default the best one.
        execution: Which of its executions (its seed).
        epochs: The epochs to draw (each capped at the epochs the execution ran); by default four,
            spread from the first to the last on a log scale.
        splits: The run's splits (`load_splits(run)`); loaded if omitted.
        data_dir: Where relative data paths start, when `splits` is omitted.

    Returns:
        A matplotlib Figure with one panel per epoch, titled by its epoch and validation loss.

    Raises:
        FigureError: Data without exactly 2 features, no best trial to default to, or an unknown trial.

    Example:
        >>> plot_decision_boundary_epochs("results/moons", epochs=[1, 10, 50, 200])  # doctest: +SKIP
    """
    run = as_run(run)
    splits = splits if splits is not None else load_splits(run, data_dir)
    if splits.n_features != 2:
        raise FigureError(f"decision boundaries need data with 2 features; this data has {splits.n_features}")
    chosen = str(trial_id if trial_id is not None else run.info.get("best_trial") or "")
    if not chosen:
        raise FigureError("the run has no best trial yet: name the trial to draw (trial_id=...)")
    info = _boundary_epochs_info(run, splits, chosen, execution, epochs)
    with style():
        return _draw_boundaries(info)


def _boundary_epochs_info(run: Any, splits: Any, trial_id: str, execution: int,
                          epochs: Sequence[int] | None) -> _BoundariesInfo:
    row = _trial_row(run.trials, trial_id, execution)
    last = int(row["epochs_run"])
    shown = sorted({min(max(int(epoch), 1), last) for epoch in epochs}) if epochs else spread_epochs(last)
    fit = str(row["fit"]) if "fit" in row.index and not pd.isna(row["fit"]) else "unknown"
    axes = boundary_grid(splits)
    points = grid_points(axes)
    xx, yy = np.meshgrid(*axes)
    panels = []
    for epoch in shown:
        model, val_loss = retrain_execution(run, splits, trial_id, execution, epochs=epoch)
        panels.append(_Boundary(f"trial {trial_id}, run {execution}: epoch {epoch}\nval_loss {val_loss:.4g}", fit,
                                _shaped(model_outputs(model, points), xx.shape, splits.n_classes)))
    return _BoundariesInfo(panels, (xx, yy), splits.x_train, splits.y_train, splits.n_classes, None)


def spread_epochs(last: int, count: int = _PANELS) -> list[int]:
    """`count` epochs from 1 to `last`, evenly on a log scale (a boundary changes most early on)."""
    if last <= count:
        return list(range(1, last + 1))
    return sorted({round(last ** (step / (count - 1))) for step in range(count)})
