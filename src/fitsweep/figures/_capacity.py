"""Gap against capacity: do bigger networks generalise worse in this sweep?"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fitsweep.figures._common import (
    VERDICT_COLORS,
    VERDICT_ORDER,
    FigureError,
    RunTables,
    as_run,
    cell_float,
    cell_int,
    completed_rows,
    drawn_points,
    join_diagnosis,
    log_scale,
    new_figure,
    note_drawn,
    style,
    verdicts,
)

__all__ = ["plot_gap_vs_capacity"]

_GAPS = ("accuracy_gap", "loss_gap")  # drawn, each named as `fitsweep.analysis.GAP_NAMES` names it


@dataclass(frozen=True)
class _CapacityInfo:
    points: pd.DataFrame  # params, accuracy_gap, loss_gap, fit, trial_id
    rho: dict[str, tuple[float, float, int]]  # gap -> (Spearman rho, p-value, n)
    log_x: bool


def plot_gap_vs_capacity(run: RunTables | str | Path, *, diagnosis: pd.DataFrame | None = None) -> Figure:
    """The generalisation gap of every execution against its network's parameter count.

    The gaps are those at the last epoch (from `diagnose`), where overfitting shows even when
    the best epoch came early. Each panel's title gives Spearman's rank correlation from
    `fitsweep.analysis.capacity`: a positive rho means bigger networks had wider gaps.

    Args:
        run: A `SweepRun`, its folder, or anything with `trials` and `epochs` tables.
        diagnosis: `diagnose`'s table; computed if omitted.

    Returns:
        A matplotlib Figure with one panel per gap the run measured (a regression has no accuracy gap).

    Raises:
        FigureError: No completed execution with a parameter count, or a single network size.

    Example:
        >>> plot_gap_vs_capacity("results/moons").savefig("gap.png")  # doctest: +SKIP
    """
    run = as_run(run)
    info = _gap_vs_capacity_info(run.trials, verdicts(run, diagnosis))
    with style():
        return _draw(info)


def _gap_vs_capacity_info(trials: pd.DataFrame, diagnosis: pd.DataFrame) -> _CapacityInfo:
    from fitsweep.analysis import capacity

    rows = join_diagnosis(completed_rows(trials), diagnosis, ("fit", *_GAPS))
    rows = rows.assign(params=pd.to_numeric(rows["params"], errors="coerce").astype(float))
    rows = rows[np.isfinite(rows["params"]) & rows[list(_GAPS)].notna().any(axis=1)]
    if rows.empty:
        raise FigureError("no completed execution has both a parameter count and a gap")
    if rows["params"].nunique() < 2:
        raise FigureError(f"every network in this sweep has {int(rows['params'].iloc[0]):,} parameters: "
                          "the gap cannot be read against capacity")
    table = capacity(trials, diagnosis)
    table = table[table["capacity"] == "params"].set_index("gap")
    rho = {gap: (cell_float(table.loc[gap, "spearman_rho"]), cell_float(table.loc[gap, "p_value"]),
                 cell_int(table.loc[gap, "n"]))
           for gap in _GAPS if gap in table.index}
    params = rows["params"].to_numpy()
    log_x = bool(params.min() > 0 and params.max() / params.min() >= 10)
    return _CapacityInfo(rows[["trial_id", "params", *_GAPS, "fit"]].reset_index(drop=True), rho, log_x)


def _draw(info: _CapacityInfo) -> Figure:
    import seaborn as sns

    from fitsweep.analysis import GAP_NAMES

    # A regression has no accuracy: only the gaps it measured get a panel.
    gaps = [gap for gap in _GAPS if info.points[gap].notna().any()]
    figure = new_figure(5 * len(gaps), 3.8)
    axes = list(figure.subplots(1, len(gaps), squeeze=False)[0])
    order = [fit for fit in (*VERDICT_ORDER, "unknown") if fit in set(info.points["fit"])]
    points = drawn_points(info.points)
    for ax, gap in zip(axes, gaps, strict=True):
        label = GAP_NAMES[gap].replace(" (", "\n(")  # the bracket on its own line
        sns.scatterplot(data=points, x="params", y=gap, hue="fit", hue_order=order, ax=ax, s=45, alpha=0.8,
                        palette={**VERDICT_COLORS, "unknown": "black"}, legend=ax is axes[0], edgecolor="white")
        ax.axhline(0, color="#999999", linewidth=0.8, zorder=0)
        if info.log_x:
            log_scale(ax, "x")
        ax.set(xlabel="parameters", ylabel=label, title=_rho_text(info.rho.get(gap)))
    if axes[0].get_legend() is not None:
        axes[0].legend(title="verdict", fontsize=8, title_fontsize=8)
    note_drawn(figure, len(info.points))
    return figure


def _rho_text(rho: tuple[float, float, int] | None) -> str:
    if rho is None or math.isnan(rho[0]):
        return "Spearman rho: n/a (under 3 trials, or one size)"
    value, p_value, n = rho
    return f"Spearman rho = {value:+.2f} (p = {p_value:.2g}, n = {n})"
