"""Weight sparsity: how large and how sparse each regularization leaves the trained weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from fitsweep.figures._common import (
    VERDICT_COLORS,
    VERDICT_ORDER,
    FigureError,
    RunTables,
    as_run,
    completed_rows,
    drawn_points,
    join_diagnosis,
    new_figure,
    note_drawn,
    style,
    verdicts,
)

__all__ = ["WEIGHT_COLUMNS", "plot_weight_sparsity"]

WEIGHT_COLUMNS = {
    "weight_l1": "L1 norm of the kernels (sum of |w|)",
    "weight_l2": "L2 norm of the kernels",
    "near_zero_share": "share of weights near zero",
}


@dataclass(frozen=True)
class _WeightsInfo:
    points: pd.DataFrame  # regularizer_kind, fit, and the weight columns, one row per completed execution
    order: list[str]  # regularizers, most near-zero weights first


def plot_weight_sparsity(run: RunTables | str | Path, *, diagnosis: pd.DataFrame | None = None) -> Figure:
    """Weight norms and the share of near-zero weights for each regularization, one dot per execution.

    L2 shrinks weights (smaller norms); L1 switches many off (a larger near-zero share). Needs
    the trials table's `weight_l1`, `weight_l2` and `near_zero_share` columns.

    Args:
        run: A `SweepRun`, its folder, or anything with `trials` and `epochs` tables.
        diagnosis: `diagnose`'s table, for the dots' colours; computed if omitted.

    Returns:
        A matplotlib Figure with one panel per weight column.

    Raises:
        FigureError: The trials table has no weight columns, or no completed trial has them.

    Example:
        >>> plot_weight_sparsity("results/moons").savefig("weights.png")  # doctest: +SKIP
    """
    run = as_run(run)
    info = _weight_sparsity_info(run.trials, verdicts(run, diagnosis))
    with style():
        return _draw(info)


def _weight_sparsity_info(trials: pd.DataFrame, diagnosis: pd.DataFrame) -> _WeightsInfo:
    from fitsweep.analysis._common import with_derived_columns  # the labels compare groups by

    missing = [column for column in WEIGHT_COLUMNS if column not in trials.columns]
    if missing:
        raise FigureError(f"the trials table has no weight statistics ({', '.join(missing)}): "
                          "this sweep did not record them")
    rows = with_derived_columns(join_diagnosis(completed_rows(trials), diagnosis))
    rows["regularizer_kind"] = rows["regularizer_kind"].astype(str)
    rows = rows[rows[list(WEIGHT_COLUMNS)].notna().any(axis=1)]
    if rows.empty:
        raise FigureError("no completed trial recorded its weight statistics")
    for column in WEIGHT_COLUMNS:
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    order = list(rows.groupby("regularizer_kind")["near_zero_share"].mean().sort_values(ascending=False).index)
    return _WeightsInfo(rows[["regularizer_kind", "fit", *WEIGHT_COLUMNS]].reset_index(drop=True), order)


def _draw(info: _WeightsInfo) -> Figure:
    import seaborn as sns

    figure = new_figure(10.5, 1.3 + 0.45 * len(info.order))
    axes = figure.subplots(1, len(WEIGHT_COLUMNS), sharey=True)
    hue_order = [fit for fit in (*VERDICT_ORDER, "unknown") if fit in set(info.points["fit"])]
    for ax, (column, title) in zip(axes, WEIGHT_COLUMNS.items(), strict=True):
        sns.stripplot(data=drawn_points(info.points), x=column, y="regularizer_kind", order=info.order, hue="fit",
                      hue_order=hue_order, palette={**VERDICT_COLORS, "unknown": "black"}, jitter=0.2, size=4.5,
                      alpha=0.8, ax=ax, legend=ax is axes[-1])
        sns.pointplot(data=info.points, x=column, y="regularizer_kind", order=info.order, color="black", errorbar=None,
                      markers="D", markersize=4, linestyle="none", ax=ax)
        ax.set(title=title, xlabel="", ylabel="")
        ax.title.set(fontsize=9, horizontalalignment="left", position=(0, 1))
    if axes[-1].get_legend() is not None:
        sns.move_legend(axes[-1], "lower right", title="verdict", fontsize=8, title_fontsize=8)
    note_drawn(figure, len(info.points))
    return figure
