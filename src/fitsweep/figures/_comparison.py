"""Regularizer comparison: the test metric, its gap and overfitting per regularization, with 95% intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fitsweep.figures._common import (
    VERDICT_COLORS,
    FigureError,
    RunTables,
    as_run,
    cell_float,
    cell_int,
    completed_rows,
    drawn_points,
    join_diagnosis,
    new_figure,
    note_drawn,
    style,
    verdicts,
)
from fitsweep.vocabulary import Verdict

if TYPE_CHECKING:
    from fitsweep.analysis import ComparedMetric

__all__ = ["plot_regularizer_comparison"]

_POINT = "#4C4C4C"


@dataclass(frozen=True)
class _Group:
    label: str
    n_executions: int
    test: tuple[float, float, float]  # mean, interval low, interval high (NaN without spread)
    gap: tuple[float, float, float]
    overfit_share: float
    baseline: bool
    p_value: float  # Holm-adjusted


@dataclass(frozen=True)
class _ComparisonInfo:
    groups: list[_Group]  # best mean of the test metric first
    points: pd.DataFrame  # regularizer_kind, test, gap (one row per execution)
    confidence: float
    metric: ComparedMetric


def plot_regularizer_comparison(
    run: RunTables | str | Path, *, diagnosis: pd.DataFrame | None = None, confidence: float = 0.95
) -> Figure:
    """Test accuracy (a regression's MSE), its gap and share overfit for each regularization the sweep tried.

    The share-overfit panel is left out when no execution overfit: an empty panel says nothing.

    Groups are those of `fitsweep.analysis.compare(by="regularizer_kind")`: "none", "l1", "l2",
    "dropout" or a combination. Each execution is a grey dot; the black bar is the group mean
    with its t-based `confidence` interval. The label gives the number of executions and the
    Holm-adjusted Welch p-value against the best group (marked "best"); * marks p_holm < 1 - confidence.
    The gap is how far training beats validation: accuracy train - val, MSE val - train.

    Args:
        run: A `SweepRun`, its folder, or anything with `trials` and `epochs` tables.
        diagnosis: `diagnose`'s table, for the share of overfit executions; computed if omitted.
        confidence: Level of the intervals.

    Returns:
        A matplotlib Figure with three panels (two when no execution overfit).

    Raises:
        FigureError: No completed trial, or every trial used the same regularization.

    Example:
        >>> plot_regularizer_comparison("results/moons").savefig("regularizers.png")  # doctest: +SKIP
    """
    run = as_run(run)
    info = _regularizer_comparison_info(run.trials, verdicts(run, diagnosis), confidence)
    with style():
        return _draw(info)


def _regularizer_comparison_info(trials: pd.DataFrame, diagnosis: pd.DataFrame, confidence: float) -> _ComparisonInfo:
    from fitsweep.analysis import compare
    from fitsweep.analysis._common import with_derived_columns  # the labels compare groups by

    rows = with_derived_columns(join_diagnosis(completed_rows(trials), diagnosis))
    from fitsweep.analysis import metric_of_table

    table = compare(rows, by="regularizer_kind", confidence=confidence)
    if len(table) < 2:
        label = table["regularizer_kind"].iloc[0]
        raise FigureError(f"every completed trial used the same regularization ({label}): nothing to compare")
    metric = metric_of_table(table)

    def values(split: str) -> np.ndarray:
        return pd.to_numeric(rows[f"{split}_{metric.name}"], errors="coerce").to_numpy(dtype=float)

    points = pd.DataFrame({"regularizer_kind": rows["regularizer_kind"].astype(str).to_numpy(),
                           "test": values("test"), "gap": metric.gap_values(values("train"), values("val"))})
    return _ComparisonInfo([_group(row, metric) for row in table.to_dict("records")], points, confidence, metric)


def _group(row: Mapping[Hashable, object], metric: ComparedMetric) -> _Group:
    n = cell_int(row["n_executions"])

    def described(name: str) -> tuple[float, float, float]:
        return cell_float(row[f"{name}_mean"]), cell_float(row[f"{name}_ci_low"]), cell_float(row[f"{name}_ci_high"])

    test, gap = described(metric.test), described(metric.gap)
    share = cell_float(row.get("overfit_share", math.nan))
    return _Group(str(row["regularizer_kind"]), n, test, gap, share, bool(row["baseline"]), cell_float(row["p_holm"]))


# --- drawing -------------------------------------------------------------------------------


def _draw(info: _ComparisonInfo) -> Figure:
    any_overfit = any(group.overfit_share > 0 for group in info.groups)  # NaN > 0 is False
    ratios = [3, 3, 2] if any_overfit else [3, 3]
    figure = new_figure(10.5 if any_overfit else 8.5, 1.2 + 0.5 * len(info.groups))
    axes = figure.subplots(1, len(ratios), sharey=True, gridspec_kw={"width_ratios": ratios})
    level, label = f"{info.confidence:.0%}", info.metric.label
    between = "train - val" if info.metric.higher_is_better else "val - train"
    _draw_metric(axes[0], info, "test", lambda g: g.test, f"test {label} (mean, {level} interval)")
    _draw_metric(axes[1], info, "gap", lambda g: g.gap, f"{label} gap, {between} (mean, {level} interval)")
    axes[1].axvline(0, color="#999999", linewidth=0.8, zorder=0)
    if any_overfit:
        _draw_overfit_share(axes[2], info)
    note_drawn(figure, len(info.points))
    axes[0].set_yticks(range(len(info.groups)), [_label(group, info.confidence) for group in info.groups])
    axes[0].invert_yaxis()
    return figure


def _draw_metric(ax: Axes, info: _ComparisonInfo, column: str,
                 pick: Callable[[_Group], tuple[float, float, float]], title: str) -> None:
    rng = np.random.default_rng(0)
    points = drawn_points(info.points)
    for position, group in enumerate(info.groups):
        values = points.loc[points["regularizer_kind"] == group.label, column].to_numpy()
        jitter = rng.uniform(-0.18, 0.18, len(values))
        ax.scatter(values, position + jitter, s=16, color=_POINT, alpha=0.5, linewidths=0)
        mean, low, high = pick(group)
        if math.isfinite(low):
            ax.hlines(position, low, high, color="black", linewidth=2.2)
        ax.plot(mean, position, marker="D", color="black", markersize=5)
    ax.set_title(title, fontsize=9, loc="left")
    ax.grid(axis="y", visible=False)


def _draw_overfit_share(ax: Axes, info: _ComparisonInfo) -> None:
    shares = [0.0 if math.isnan(g.overfit_share) else g.overfit_share for g in info.groups]
    ax.barh(range(len(info.groups)), shares, color=VERDICT_COLORS[Verdict.OVERFIT], height=0.55)
    ax.set_xlim(0, 1)
    ax.set_title("share of executions overfit", fontsize=9, loc="left")
    ax.grid(axis="y", visible=False)


def _label(group: _Group, confidence: float) -> str:
    if group.baseline:
        versus = "best"
    elif math.isnan(group.p_value):
        versus = "p: n/a"
    else:
        versus = f"p_holm = {group.p_value:.2g}" + (" *" if group.p_value < 1 - confidence else "")
    return f"{group.label}\n(n = {group.n_executions}, {versus})"
