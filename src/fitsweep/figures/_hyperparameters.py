"""Hyperparameters against the objective: one strip or scatter per varied hyperparameter."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fitsweep.figures._common import (
    VERDICT_COLORS,
    VERDICT_ORDER,
    FigureError,
    RunTables,
    as_run,
    completed_rows,
    drawn_points,
    hyperparameter_columns,
    join_diagnosis,
    log_scale,
    natural_key,
    new_figure,
    note_drawn,
    objective_of,
    style,
    verdicts,
)

__all__ = ["plot_hyperparameters"]

_COLUMNS = 3
_MAX_CATEGORIES = 12  # more distinct numbers than this are drawn on a continuous axis


@dataclass(frozen=True)
class _Axis:
    name: str
    categories: list[str] | None  # None: a continuous axis
    log: bool


@dataclass(frozen=True)
class _HyperparametersInfo:
    points: pd.DataFrame  # one row per completed execution: the hyperparameters, the objective, fit
    axes: list[_Axis]
    objective: str
    direction: str


def plot_hyperparameters(run: RunTables | str | Path, *, diagnosis: pd.DataFrame | None = None) -> Figure:
    """The objective of every completed execution against each hyperparameter the sweep varied.

    Choices are strips (one column of dots per value, a black bar at the value's mean);
    ranges are scatters, on a log axis when they span two decades or more. Dots are coloured by
    verdict, so a value whose dots are orange tends to overfit.

    Args:
        run: A `SweepRun`, its folder, or anything with `trials` and `epochs` tables.
        diagnosis: `diagnose`'s table; computed if omitted.

    Returns:
        A matplotlib Figure with one panel per varied hyperparameter.

    Raises:
        FigureError: No completed trial, or no hyperparameter varied.

    Example:
        >>> plot_hyperparameters("results/moons").savefig("hyperparameters.png")  # doctest: +SKIP
    """
    run = as_run(run)
    info = _hyperparameters_info(run, verdicts(run, diagnosis))
    with style():
        return _draw(info)


def _hyperparameters_info(run: RunTables, diagnosis: pd.DataFrame) -> _HyperparametersInfo:
    objective, direction = objective_of(run)
    rows = join_diagnosis(completed_rows(run.trials), diagnosis)
    rows = rows[np.isfinite(pd.to_numeric(rows[objective], errors="coerce").astype(float))]
    varied = hyperparameter_columns(rows, varied_only=True)
    if rows.empty or not varied:
        raise FigureError("no hyperparameter varies across the completed trials: nothing to plot against the objective")
    return _HyperparametersInfo(rows.reset_index(drop=True), [_axis(rows[name]) for name in varied], objective,
                                direction)


def _axis(values: pd.Series) -> _Axis:
    numeric = pd.api.types.is_numeric_dtype(values)
    distinct = values.dropna().unique()
    if not numeric or len(distinct) <= _MAX_CATEGORIES:
        return _Axis(str(values.name), [_text(v) for v in sorted(distinct, key=natural_key)], log=False)
    low, high = float(np.min(distinct)), float(np.max(distinct))
    return _Axis(str(values.name), None, log=low > 0 and high / low >= 100)


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


# --- drawing -------------------------------------------------------------------------------


def _draw(info: _HyperparametersInfo) -> Figure:
    columns = len(info.axes) if len(info.axes) <= 4 else _COLUMNS
    rows = math.ceil(len(info.axes) / columns)
    figure = new_figure(3.4 * columns + 0.4, 2.9 * rows + 0.5)
    grid = figure.subplots(rows, columns, squeeze=False, sharey=True)
    for index, ax in enumerate(grid.flat):
        if index < len(info.axes):
            _draw_axis(ax, info, info.axes[index])
            ax.set_ylabel(info.objective if index % columns == 0 else "")
        else:
            ax.set_visible(False)
    present = [fit for fit in (*VERDICT_ORDER, "unknown") if fit in set(info.points["fit"])]
    handles = [grid.flat[0].scatter([], [], color=VERDICT_COLORS.get(fit, "black"), label=fit) for fit in present]
    better = "lower" if info.direction == "min" else "higher"
    figure.legend(handles=handles, loc="outside upper center", ncols=len(handles) + 1, frameon=False, fontsize=9,
                  title=f"verdict ({info.objective}: {better} is better)", title_fontsize=9)
    note_drawn(figure, len(info.points))
    return figure


def _draw_axis(ax: Axes, info: _HyperparametersInfo, axis: _Axis) -> None:
    import seaborn as sns

    points = info.points.assign(_y=pd.to_numeric(info.points[info.objective], errors="coerce").astype(float))
    palette = {**VERDICT_COLORS, "unknown": "black"}
    common = dict(y="_y", hue="fit", palette=palette, ax=ax, legend=False, alpha=0.8)
    if axis.categories is None:
        points["_x"] = pd.to_numeric(points[axis.name], errors="coerce").astype(float)
        sns.scatterplot(x="_x", s=22, linewidth=0, data=drawn_points(points), **common)
        if axis.log:
            log_scale(ax, "x")
    else:
        points["_x"] = points[axis.name].map(_text)
        sns.stripplot(x="_x", order=axis.categories, jitter=0.2, size=4.5, data=drawn_points(points), **common)
        means = points.groupby("_x")["_y"].mean()
        for index, category in enumerate(axis.categories):
            ax.hlines(means.get(category, np.nan), index - 0.32, index + 0.32, color="black", linewidth=1.8)
        long = max(map(len, axis.categories)) > 6
        if long:
            ax.tick_params(axis="x", labelrotation=30)
            for label in ax.get_xticklabels():
                label.set(horizontalalignment="right", rotation_mode="anchor")
        ax.grid(axis="x", visible=False)
    ax.set(xlabel=axis.name, ylabel="")
