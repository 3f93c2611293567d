"""The learning curve over training-set size: error (a regression's MSE) against training rows, with its power law.

Drawn as scikit-learn draws its learning curves (the mean over repeats, a band of one standard
deviation, training and validation), plus the fitted power law carried on to 4x the data, and
the 2x and 4x predictions with their bootstrap intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fitsweep.figures._common import FigureError, log_scale, new_figure, style
from fitsweep.vocabulary import TrialStatus

__all__ = ["plot_training_size_curves"]

_TRAIN, _VALIDATION, _FIT = "#0072B2", "#D55E00", "#444444"
_LABELS = {"error": "error", "crossentropy": "cross-entropy", "mse": "MSE"}


@dataclass(frozen=True)
class _Panel:
    trial_id: str
    verdict: str
    rows: np.ndarray  # training rows per size
    train: tuple[np.ndarray, np.ndarray]  # mean, standard deviation over repeats
    validation: tuple[np.ndarray, np.ndarray]
    fit: dict[str, float]


def plot_training_size_curves(table: pd.DataFrame, verdicts: pd.DataFrame | None = None,
                              metric: str | None = None) -> Figure:
    """One panel per trial: training and validation `metric` against training rows, the fit and its extrapolation.

    Args:
        table: The learning-curve table (`fitsweep.load_learning_curve`).
        verdicts: `training_size_verdicts(table, metric=metric)`; computed if omitted.
        metric: "error" or "crossentropy" for a classification, "mse" for a regression; by
            default the table's task's (`fitsweep.analysis.learning_curve_metric`).

    Returns:
        A matplotlib Figure.

    Raises:
        FigureError: A table without a completed row.

    Example:
        >>> plot_training_size_curves(load_learning_curve("results/moons")).savefig("size.png")  # doctest: +SKIP
    """
    from fitsweep.analysis import learning_curve_metric, training_size_verdicts

    completed = table[table["status"].astype(str) == TrialStatus.COMPLETED]
    if completed.empty:
        raise FigureError("the learning-curve table has no completed training: nothing to plot")
    metric = metric or learning_curve_metric(completed)
    verdicts = verdicts if verdicts is not None else training_size_verdicts(completed, metric=metric)
    panels = _panels(completed, verdicts, metric)
    with style():
        return _draw(panels, metric)


def _panels(table: pd.DataFrame, verdicts: pd.DataFrame, metric: str) -> list[_Panel]:
    fits = {str(row["trial_id"]): row for row in verdicts.to_dict("records")}
    panels = []
    for trial_id, group in table.groupby(table["trial_id"].astype(str), sort=True):
        stats = group.groupby("train_rows")[[f"train_{metric}", f"val_{metric}"]].agg(["mean", "std"]).fillna(0.0)
        fit = fits.get(str(trial_id), {})
        panels.append(_Panel(
            str(trial_id), str(fit.get("verdict", "uncertain")), stats.index.to_numpy(dtype="float64"),
            (stats[(f"train_{metric}", "mean")].to_numpy(), stats[(f"train_{metric}", "std")].to_numpy()),
            (stats[(f"val_{metric}", "mean")].to_numpy(), stats[(f"val_{metric}", "std")].to_numpy()),
            {str(key): float(value) for key, value in fit.items() if isinstance(value, (int, float))},
        ))
    return panels


def _draw(panels: list[_Panel], metric: str) -> Figure:
    columns = min(len(panels), 3)
    lines = math.ceil(len(panels) / columns)
    figure = new_figure(4.4 * columns + 0.4, 3.6 * lines)
    axes = figure.subplots(lines, columns, squeeze=False).ravel()
    for ax, panel in zip(axes, panels, strict=False):
        _draw_panel(ax, panel, metric)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(loc="upper right", fontsize=7.5)
    return figure


def _draw_panel(ax: Axes, panel: _Panel, metric: str) -> None:
    for (mean, sd), color, label in ((panel.train, _TRAIN, "training"), (panel.validation, _VALIDATION, "validation")):
        ax.fill_between(panel.rows, mean - sd, mean + sd, color=color, alpha=0.15, linewidth=0)
        ax.plot(panel.rows, mean, "o-", color=color, markersize=4, label=f"{label} {_LABELS[metric]}")
    fit = panel.fit
    if all(math.isfinite(fit.get(key, math.nan)) for key in ("a", "b", "c")):
        from fitsweep.analysis import power_law

        n_max = panel.rows.max()
        grid = np.geomspace(panel.rows.min(), 4 * n_max, 80)
        ax.plot(grid, power_law(grid, fit["a"], fit["b"], fit["c"], n_max), "--", color=_FIT, linewidth=1.2,
                label="power law fit")
        for factor in (2, 4):
            name = f"predicted_{factor}x"
            low, high = fit.get(f"{name}_low", math.nan), fit.get(f"{name}_high", math.nan)
            ax.errorbar([factor * n_max], [fit[name]], yerr=[[fit[name] - low], [high - fit[name]]], fmt="s",
                        color=_FIT, markersize=4, capsize=3, label="extrapolated (interval)" if factor == 2 else None)
        ax.axvline(n_max, color="#999999", linewidth=0.8, linestyle=":")
    log_scale(ax, "x", base=2)
    ax.set(xlabel="training rows", ylabel=f"{_LABELS[metric]} at the selected epoch")
    ax.set_title(f"trial {panel.trial_id}: {panel.verdict}", loc="left")
