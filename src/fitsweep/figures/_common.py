"""What every figure shares: its error, the run it reads, verdict colours and a blank Agg figure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, SupportsFloat, SupportsInt, cast

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.rcsetup import cycler
from matplotlib.ticker import NullLocator

from fitsweep.errors import FitsweepError
from fitsweep.jupyter import enable_inline_figures
from fitsweep.results.columns import HYPERPARAMETERS, decode_layers, table_hyperparameters
from fitsweep.vocabulary import TrialStatus, Verdict

__all__ = [
    "FigureError", "RunTables", "VERDICT_COLORS", "VERDICT_ORDER", "as_run", "cell_float", "cell_int", "completed_rows",
    "drawn_points", "finite", "hyperparameter_columns",
    "join_diagnosis", "log_scale", "note_drawn", "natural_key", "new_figure", "objective_of", "style", "verdicts",
]

# Okabe-Ito colours: told apart with any colour vision, and in grey print by lightness.
VERDICT_COLORS = {Verdict.GOOD.value: "#009E73", Verdict.OVERFIT.value: "#D55E00", Verdict.UNDERFIT.value: "#0072B2",
                  Verdict.DIVERGED.value: "#666666"}
VERDICT_ORDER = tuple(VERDICT_COLORS)  # the order of the legends
# Dots drawn in one figure at most: beyond a few thousand a scatter shows no more, and costs seconds to draw.
MAX_DRAWN_POINTS = 4000


class FigureError(FitsweepError):
    """Tables that hold nothing a figure can show: no completed trial, one value only, no model."""


class RunTables(Protocol):
    """What a figure reads: a `SweepRun`, or anything with its `trials` and `epochs` tables."""

    trials: pd.DataFrame
    epochs: pd.DataFrame


def as_run(run: RunTables | str | Path) -> RunTables:
    """A run as tables: a results folder's path is loaded, anything else is used as it is."""
    if isinstance(run, (str, Path)):
        from fitsweep.results import load

        return load(run)
    return run


def objective_of(run: Any) -> tuple[str, str]:
    """The run's objective column and direction ("min" or "max"); val_loss without a spec."""
    spec = getattr(run, "spec", None)
    if spec is None:
        return "val_loss", "min"
    return spec.tuner.objective, spec.tuner.direction


def completed_rows(trials: pd.DataFrame) -> pd.DataFrame:
    """The completed executions, or `FigureError` when there are none."""
    rows = trials[trials["status"].astype("string").eq(TrialStatus.COMPLETED).fillna(False).to_numpy()]
    if rows.empty:
        raise FigureError("no completed trial yet: nothing to plot")
    completed: pd.DataFrame = rows
    return completed


def verdicts(run: Any, diagnosis: pd.DataFrame | None) -> pd.DataFrame:
    """The run's verdicts: the diagnosis given, or the run's own (`fitsweep.verdicts.verdicts_of`)."""
    if diagnosis is not None:
        return diagnosis
    from fitsweep.analysis import AnalysisError
    from fitsweep.verdicts import verdicts_of

    try:
        return verdicts_of(run)
    except AnalysisError as error:
        raise FigureError(str(error)) from None


def join_diagnosis(trials: pd.DataFrame, diagnosis: pd.DataFrame, columns: tuple[str, ...] = ("fit",)) -> pd.DataFrame:
    """`trials` with the diagnosis' `columns` joined on trial_id and execution."""
    keys = ["trial_id", "execution"]
    right = diagnosis[[*keys, *columns]].astype({"trial_id": "string", "execution": "int64"})
    left = trials.drop(columns=[c for c in columns if c in trials.columns])
    merged = left.astype({"trial_id": "string", "execution": "int64"}).merge(right, on=keys, how="left")
    if "fit" in merged:
        merged["fit"] = merged["fit"].astype("string").fillna("unknown")
    joined: pd.DataFrame = merged
    return joined


def hyperparameter_columns(trials: pd.DataFrame, varied_only: bool = False) -> list[str]:
    """The trials table's hyperparameter columns, in table order (only those that vary, if asked)."""
    names = table_hyperparameters(trials.columns, HYPERPARAMETERS)
    if not varied_only:
        return names
    return [name for name in names if trials[name].astype("string").nunique(dropna=False) > 1]


def natural_key(value: Any) -> tuple[Any, ...]:
    """Sort key for hyperparameter values: numbers by size, layer strings ("64-64") by shape."""
    text = str(value)
    try:
        return (0, float(text))
    except ValueError:
        pass
    try:
        widths = decode_layers(text)
    except ValueError:
        return (2, text)
    return (1, len(widths), *widths)


def new_figure(width: float, height: float,
               layout: Literal["constrained", "compressed", "tight"] | None = "constrained") -> Figure:
    """A blank figure on an Agg canvas: no window, no pyplot state, nothing to close; in a notebook, shown inline."""
    enable_inline_figures()
    figure = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(figure)
    return figure


def log_scale(ax: Axes, axis: Literal["x", "y"], base: float = 10) -> None:
    """A log scale without minor ticks: unseen in `style` (no tick marks, major grid lines only), yet slow to draw."""
    if axis == "x":
        ax.set_xscale("log", base=base)
        ax.xaxis.set_minor_locator(NullLocator())
    else:
        ax.set_yscale("log", base=base)
        ax.yaxis.set_minor_locator(NullLocator())


@contextmanager
def style() -> Iterator[None]:
    """seaborn's white grid at a size that stays legible in a report column, for this figure only."""
    import seaborn as sns

    rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("paper", font_scale=1.1)}
    # A fixed title height skips matplotlib's search for overlapping tick labels, the slowest step.
    rc.update({"axes.titlesize": 10, "axes.titleweight": "bold", "axes.titley": 1.0, "axes.titlepad": 4,
               "axes.prop_cycle": cycler(color=["#4C72B0"])})  # seaborn's 10-colour cycle costs time per axes
    with mpl.rc_context(rc):
        yield


def cell_float(value: object) -> float:
    """A table cell known to hold a number, as a float (pandas-stubs types a cell as any scalar)."""
    return float(cast(SupportsFloat, value))


def cell_int(value: object) -> int:
    """A table cell known to hold a number, as an int (pandas-stubs types a cell as any scalar)."""
    return int(cast(SupportsInt, value))


def finite(values: Any) -> np.ndarray:
    """A column as floats, non-finite values dropped."""
    array: np.ndarray = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()
    kept: np.ndarray = array[np.isfinite(array)]
    return kept


def drawn_points(points: pd.DataFrame, limit: int = MAX_DRAWN_POINTS) -> pd.DataFrame:
    """The rows a scatter draws: all of them, or a seeded random `limit` of them, in their order.

    Statistics drawn over the dots (means, intervals, correlations) are computed from every row.
    """
    if len(points) <= limit:
        return points
    kept = np.sort(np.random.default_rng(0).choice(len(points), size=limit, replace=False))
    return points.iloc[kept]


def note_drawn(figure: Figure, total: int, limit: int = MAX_DRAWN_POINTS) -> None:
    """Say under the figure that its dots are a sample, when they are."""
    if total > limit:
        figure.supxlabel(f"dots: a random {limit:,} of {total:,} executions; statistics use all of them",
                         fontsize=8, color="#555555")
