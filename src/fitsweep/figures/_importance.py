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
    tables: dict[str, pd.DataFrame]  # target -> hyperparameter, variance_share, noise_share (most important first)
    titles: dict[str, str]


def plot_importance(run: RunTables | str | Path, *, confidence: float = 0.95) -> Figure:
    """How much of the objective's and the gap's variance each varied hyperparameter explains.

    The gap is the accuracy gap, or a regression's MSE gap (validation - training). From
    `fitsweep.analysis.importance`: a bar is the share of the variance across
    configurations that the hyperparameter's marginal means explain; the tick is the share
    noise alone would give it. It describes this sweep, measured on its own trials.

    Args:
        run: A `SweepRun`, its folder, or anything with `trials` and `epochs` tables.
        confidence: Level of `importance`'s intervals.

    Returns:
        A matplotlib Figure with one panel per target.

    Raises:
        FigureError: Too few configurations to trust importance (the error says how many are
            needed), or no hyperparameter varied.

    Example:
        >>> plot_importance("results/moons").savefig("importance.png")  # doctest: +SKIP
    """
    info = _importance_info(as_run(run), confidence)
    with style():
        return _draw(info)


def _importance_info(run: RunTables, confidence: float) -> _ImportanceInfo:
    from fitsweep.analysis import AnalysisError, importance

    objective, direction = objective_of(run)
    gap = (("mse_gap", "MSE gap (validation - training)") if "val_mse" in run.trials.columns
           else ("accuracy_gap", "accuracy gap (training - validation)"))
    targets = {objective: f"{objective} ({'lower' if direction == 'min' else 'higher'} is better)", gap[0]: gap[1]}
    try:
        tables = {target: importance(run.trials, target, confidence=confidence) for target in targets}
    except AnalysisError as error:
        raise FigureError(str(error)) from None
    reason = tables[objective].attrs.get("reason")
    if reason:
        raise FigureError(reason)
    ranked = {target: table.drop_duplicates("hyperparameter") for target, table in tables.items()}
    return _ImportanceInfo(ranked, targets)


def _draw(info: _ImportanceInfo) -> Figure:
    names = list(next(iter(info.tables.values()))["hyperparameter"])
    figure = new_figure(10, 1.3 + 0.38 * len(names))
    axes = figure.subplots(1, len(info.tables), sharey=True)
    for ax, (target, table) in zip(np.atleast_1d(axes), info.tables.items(), strict=True):
        table = table.set_index("hyperparameter").reindex(names)
        ax.barh(range(len(names)), table["variance_share"].fillna(0), color="#4C72B0", height=0.6)
        ax.scatter(table["noise_share"], range(len(names)), marker="|", s=220, color="#333333", zorder=3,
                   label="noise alone")
        ax.set_xlim(0, 1)
        ax.set_title(f"importance for {info.titles[target]}", fontsize=9, loc="left")
        ax.set_xlabel("share of variance across configurations")
        ax.grid(axis="y", visible=False)
    first = np.atleast_1d(axes)[0]
    first.set_yticks(range(len(names)), names)
    first.invert_yaxis()
    first.legend(loc="lower right", fontsize=8, frameon=False)
    return figure
