"""Importance: which hyperparameters the objective and the generalisation gap depend on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fitsweep.figures._common import FigureError, RunTables, as_run, new_figure, objective_of, style

__all__ = ["plot_importance"]


@dataclass(frozen=True)
class _ImportanceInfo:
    tables: dict[str, pd.DataFrame]  # target -> hyperparameter, importance, std (most important first)
    titles: dict[str, str]


def plot_importance(
    run: RunTables | str | Path, *, seed: int = 0, n_estimators: int = 100, n_repeats: int = 5
) -> Figure:
    """Permutation importance of each varied hyperparameter for the objective and the accuracy gap.

    From `fitsweep.analysis.importance`: a random forest learns the target from the
    hyperparameters, and a bar is how much its R^2 drops when that column is shuffled (the
    whisker is the spread over shuffles). It describes this sweep, measured on its own trials.

    Args:
        run: A `SweepRun`, its folder, or anything with `trials` and `epochs` tables.
        seed: Seeds the forest and the shuffles.
        n_estimators: Trees in the forest (fewer than `importance`'s default, to stay quick).
        n_repeats: Shuffles per hyperparameter.

    Returns:
        A matplotlib Figure with one panel per target.

    Raises:
        FigureError: Fewer than 4 completed executions, or no hyperparameter varied.

    Example:
        >>> plot_importance("results/moons").savefig("importance.png")  # doctest: +SKIP
    """
    run = as_run(run)
    info = _importance_info(run, seed=seed, n_estimators=n_estimators, n_repeats=n_repeats)
    with style():
        return _draw(info)


def _importance_info(run: RunTables, **settings: int) -> _ImportanceInfo:
    from fitsweep.analysis import AnalysisError, importance

    objective, direction = objective_of(run)
    targets = {objective: f"{objective} ({'lower' if direction == 'min' else 'higher'} is better)",
               "accuracy_gap": "accuracy gap (training - validation)"}
    try:
        tables = {target: importance(run.trials, target, **settings) for target in targets}
    except AnalysisError as error:
        raise FigureError(str(error)) from None
    return _ImportanceInfo(tables, targets)


def _draw(info: _ImportanceInfo) -> Figure:
    names = list(next(iter(info.tables.values()))["hyperparameter"])
    figure = new_figure(10, 1.3 + 0.38 * len(names))
    axes = figure.subplots(1, len(info.tables), sharey=True)
    for ax, (target, table) in zip(np.atleast_1d(axes), info.tables.items(), strict=True):
        table = table.set_index("hyperparameter").reindex(names)
        ax.barh(range(len(names)), table["importance"].clip(lower=0), xerr=table["std"], color="#4C72B0",
                height=0.6, error_kw={"elinewidth": 1, "ecolor": "#333333", "capsize": 2})
        ax.set_title(f"importance for {info.titles[target]}", fontsize=9, loc="left")
        ax.set_xlabel("drop in R^2 when shuffled")
        ax.grid(axis="y", visible=False)
    first = np.atleast_1d(axes)[0]
    first.set_yticks(range(len(names)), names)
    first.invert_yaxis()
    return figure
