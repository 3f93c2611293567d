"""Learning curves: every trial's losses and accuracies per epoch, coloured by its verdict."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullLocator

from fitsweep.figures._common import (
    VERDICT_COLORS,
    VERDICT_ORDER,
    FigureError,
    RunTables,
    as_run,
    cell_int,
    finite,
    log_scale,
    new_figure,
    objective_of,
    style,
    verdicts,
)
from fitsweep.vocabulary import TrialStatus, Verdict, verdict_tally

__all__ = ["plot_learning_curves"]

_COLUMNS = 6


@dataclass(frozen=True)
class _Curve:
    execution: int
    fit: str
    epoch: np.ndarray
    values: dict[str, np.ndarray]  # loss, val_loss, accuracy, val_accuracy (those recorded)


@dataclass(frozen=True)
class _Panel:
    trial_id: str
    rank: int | None  # 1 for the best trial; None for a trial without a score
    curves: list[_Curve]

    @property
    def fit(self) -> str:
        """The verdict most of the trial's executions got."""
        return Counter(curve.fit for curve in self.curves).most_common(1)[0][0]


@dataclass(frozen=True)
class _CurvesInfo:
    panels: list[_Panel]
    loss: str  # "loss" or "crossentropy": the epochs table's training-loss column
    accuracy: bool
    loss_range: tuple[float, float, bool]  # low, high, log axis
    epoch_range: tuple[float, float]
    accuracy_floor: float
    note: str | None  # which trials are shown, when not all
    distribution: list[_Band] | None = None  # every execution summarised, when not all trials are shown


def plot_learning_curves(
    run: RunTables | str | Path, *, diagnosis: pd.DataFrame | None = None, max_trials: int = 36
) -> Figure:
    """Small multiples of each trial's training and validation curves, coloured by verdict.

    One block per trial, best first: loss on top, accuracy below, validation solid and training
    dashed, every execution drawn. The colour is the execution's verdict (`verdicts_of`), so
    an overfit trial shows as an orange curve whose validation loss turns up. Axes are shared, so
    trials compare at a glance; a loss far above the rest (a diverged trial) is cut off at the top.

    Args:
        run: A `SweepRun`, its folder, or anything with `trials` and `epochs` tables.
        diagnosis: The run's verdicts, `verdicts_of(run)` (computed so when omitted).
        max_trials: At most this many blocks; a larger sweep shows trials spread evenly from best to worst.

    Returns:
        A matplotlib Figure (nothing saved).

    Raises:
        FigureError: No epoch recorded yet.

    Example:
        >>> figure = plot_learning_curves("results/moons")  # doctest: +SKIP
        >>> figure.savefig("curves.png")  # doctest: +SKIP
    """
    run = as_run(run)
    info = _learning_curves_info(run, verdicts(run, diagnosis), max_trials)
    with style(), mpl.rc_context({"xtick.labelsize": 7, "ytick.labelsize": 7, "xtick.major.pad": 1,
                                  "ytick.major.pad": 1}):
        return _draw(info)


def _learning_curves_info(run: Any, diagnosis: pd.DataFrame, max_trials: int) -> _CurvesInfo:
    epochs = run.epochs
    if epochs.empty:
        raise FigureError("no epoch recorded yet: no learning curve to draw")
    loss = "crossentropy" if _recorded(epochs, "crossentropy") and _recorded(epochs, "val_crossentropy") else "loss"
    accuracy = _recorded(epochs, "accuracy") and _recorded(epochs, "val_accuracy")
    fits = {(str(t), int(e)): str(f) for t, e, f in diagnosis[["trial_id", "execution", "fit"]].itertuples(index=False)}
    ranks = _ranks(run)
    trial_ids = sorted(epochs["trial_id"].astype(str).unique(), key=lambda t: (ranks.get(t) is None, ranks.get(t), t))
    shown, picked = _chosen(trial_ids, diagnosis, max_trials)
    ids = epochs["trial_id"].astype(str)
    curves = {trial_id: rows for trial_id, rows in epochs[ids.isin(shown).to_numpy()].groupby(ids, sort=False)}
    panels = [_panel(curves[trial_id], trial_id, ranks.get(trial_id), fits, loss) for trial_id in shown]
    healthy = ([c for p in panels for c in p.curves if c.fit != Verdict.DIVERGED]
               or [c for p in panels for c in p.curves])
    last = float(epochs["epoch"].max())
    distribution = _distribution(epochs, diagnosis, loss, accuracy) if len(shown) < len(trial_ids) else None
    return _CurvesInfo(panels, loss, accuracy, _loss_range(healthy), (1 - 0.02 * last, last * 1.02),
                       _accuracy_floor(healthy), _note(run, len(trial_ids), picked), distribution)


def _recorded(epochs: pd.DataFrame, column: str) -> bool:
    return column in epochs.columns and bool(epochs[column].notna().any())


def _ranks(run: Any) -> dict[str, int]:
    """Each completed trial's rank by its score (1 = best)."""
    objective, direction = objective_of(run)
    trials = run.trials
    done = trials[trials["status"].astype("string").eq(TrialStatus.COMPLETED).fillna(False).to_numpy()]
    column = "score" if "score" in done and done["score"].notna().any() else objective
    scores = done.groupby(done["trial_id"].astype(str))[column].mean().dropna()
    ordered = scores.sort_values(ascending=direction == "min", kind="stable").index
    return {trial_id: rank for rank, trial_id in enumerate(ordered, start=1)}


def _chosen(trial_ids: list[str], diagnosis: pd.DataFrame, limit: int) -> tuple[list[str], dict[str, int]]:
    """The trials drawn, best first, and how many were picked for what.

    Up to `limit` trials, all of them. Beyond, a third each: the best by the objective, the most
    overfit (largest mean `variance` of their overfit executions) and the most underfit (largest
    mean `bias` of their underfit executions); places a verdict cannot fill go to trials spread
    evenly over the rest, from the best to the worst.
    """
    if len(trial_ids) <= limit:
        return trial_ids, {}
    limit = max(limit, 1)
    share = max(limit // 3, 1)
    picked: dict[str, list[str]] = {"best": trial_ids[:share]}
    frame = diagnosis.assign(trial_id=diagnosis["trial_id"].astype(str))
    known = set(trial_ids)
    for fit, column in ((Verdict.OVERFIT, "variance"), (Verdict.UNDERFIT, "bias")):
        rows = frame[frame["fit"].astype(str).eq(fit).to_numpy()]
        if column not in rows:
            picked[fit.value] = []
            continue
        severity = rows.groupby("trial_id")[column].mean().sort_values(ascending=False, kind="stable")
        taken = {t for ids in picked.values() for t in ids}
        picked[fit.value] = [t for t in severity.index if t in known and t not in taken][:share]
    taken = {t for ids in picked.values() for t in ids}
    rest = [t for t in trial_ids if t not in taken]
    spaces = limit - len(taken)
    spread: list[int] = (np.unique(np.linspace(0, len(rest) - 1, spaces).round().astype(int)).tolist()
                         if spaces > 0 and rest else [])
    picked["spread"] = [rest[i] for i in spread]
    order = {t: rank for rank, t in enumerate(trial_ids)}
    shown = [t for ids in (picked["best"], picked[Verdict.OVERFIT], picked[Verdict.UNDERFIT]) for t in ids]
    shown += sorted(picked["spread"], key=order.__getitem__)
    return shown, {name: len(ids) for name, ids in picked.items()}


def _note(run: Any, n_trials: int, picked: dict[str, int]) -> str | None:
    if not picked:
        return None
    n_shown = sum(picked.values())
    parts = [f"the {picked['best']} best by {objective_of(run)[0]}"]
    parts += [f"the {picked[fit]} most {fit}" for fit in (Verdict.OVERFIT, Verdict.UNDERFIT) if picked.get(fit)]
    if picked.get("spread"):
        parts.append(f"{picked['spread']} spread evenly over the rest")
    return (f"{n_shown} of {n_trials:,} trials: {', '.join(parts[:-1])} and {parts[-1]}"
            if len(parts) > 1 else f"{n_shown} of {n_trials:,} trials: {parts[0]}")


@dataclass(frozen=True)
class _Band:
    """One verdict's validation curves summarised over its executions: median and 10-90% band per epoch."""

    fit: str
    executions: int
    epoch: np.ndarray
    values: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # val_loss / val_accuracy: low, median, high


def _quantiles(values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    low, median, high = (values.quantile(q).to_numpy(dtype=float) for q in (0.1, 0.5, 0.9))
    return low, median, high


def _distribution(epochs: pd.DataFrame, diagnosis: pd.DataFrame, loss: str, accuracy: bool) -> list[_Band]:
    """Every execution's validation curves, as a median and a 10-90% band per verdict and epoch."""
    keys = ["trial_id", "execution"]
    fits = diagnosis[[*keys, "fit"]].astype({"trial_id": "string", "execution": "int64", "fit": "string"})
    columns = {"val_loss": f"val_{loss}", **({"val_accuracy": "val_accuracy"} if accuracy else {})}
    frame = epochs[[*keys, "epoch", *columns.values()]].astype({"trial_id": "string", "execution": "int64"})
    frame = frame.merge(fits, on=keys, how="left")
    frame["fit"] = frame["fit"].fillna("unknown")
    bands = []
    for fit, rows in frame.groupby("fit", sort=False):
        if str(fit) == Verdict.DIVERGED:
            continue  # their curves stop at the blow-up; the panels show them
        by_epoch = rows.groupby("epoch")
        quantiles = {key: _quantiles(by_epoch[column]) for key, column in columns.items()}
        epoch = np.asarray(list(by_epoch.groups), dtype=float)  # sorted, as groupby sorts its keys
        bands.append(_Band(str(fit), int(rows[keys].drop_duplicates().shape[0]), epoch, quantiles))
    rank = {fit: i for i, fit in enumerate(VERDICT_ORDER)}
    return sorted(bands, key=lambda band: rank.get(band.fit, len(rank)))


def _panel(rows: pd.DataFrame, trial_id: str, rank: int | None, fits: dict[tuple[str, int], str],
           loss: str) -> _Panel:
    curves = []
    for execution, curve in rows.sort_values("epoch").groupby("execution", sort=True):
        names = {"loss": loss, "val_loss": f"val_{loss}", "accuracy": "accuracy", "val_accuracy": "val_accuracy"}
        values = {key: pd.to_numeric(curve[column], errors="coerce").to_numpy(dtype=float)
                  for key, column in names.items() if column in curve}
        fit = fits.get((trial_id, cell_int(execution)), "unknown")
        curves.append(_Curve(cell_int(execution), fit, curve["epoch"].to_numpy(dtype=float), values))
    return _Panel(trial_id, rank, curves)


def _loss_range(curves: list[_Curve]) -> tuple[float, float, bool]:
    """Shared loss limits, on a log axis when losses span more than a factor of 30."""
    losses = [finite(c.values.get(k, [])) for c in curves for k in ("loss", "val_loss")]
    values = np.concatenate(losses or [np.array([1.0])])
    values = values[values > 0] if (values > 0).any() else np.array([1.0])
    low, high = float(np.quantile(values, 0.005)), float(np.quantile(values, 0.995))
    if high / low > 30:
        return low / 1.3, high * 1.3, True
    return 0.0, high * 1.08, False


def _accuracy_floor(curves: list[_Curve]) -> float:
    accuracies = [finite(c.values.get(k, [])) for c in curves for k in ("accuracy", "val_accuracy")]
    values = np.concatenate(accuracies or [np.array([0.0])])
    if not len(values):
        return 0.0
    return max(0.0, math.floor((float(np.quantile(values, 0.01)) - 0.02) * 20) / 20)


# --- drawing -------------------------------------------------------------------------------

# Fixed margins (inches): a layout engine costs more than all the drawing for 30 small multiples.
_CELL_WIDTH, _LEFT, _RIGHT, _TOP, _BOTTOM = 1.75, 0.6, 0.15, 0.75, 0.5


_BAND_HEIGHT = 2.3  # inches of the distribution row above the panels


def _draw(info: _CurvesInfo) -> Figure:
    columns = min(_COLUMNS, len(info.panels))
    rows = math.ceil(len(info.panels) / columns)
    block_height = 2.25 if info.accuracy else 1.55
    width = max(_LEFT + _RIGHT + _CELL_WIDTH * columns, 6.5)  # room for the legend above one or two blocks
    band = _BAND_HEIGHT if info.distribution else 0.0
    height = _TOP + _BOTTOM + (0.25 if info.note else 0) + block_height * rows + band
    figure = new_figure(width, height, layout=None)
    outer = figure.add_gridspec(rows, columns, left=_LEFT / width, right=1 - _RIGHT / width,
                                top=1 - (_TOP + band) / height,
                                bottom=(_BOTTOM + (0.25 if info.note else 0)) / height, hspace=0.55, wspace=0.12)
    if info.distribution:
        _draw_distribution(figure, info, width, height)
    for index, panel in enumerate(info.panels):
        cell = outer[index // columns, index % columns]
        inner = cell.subgridspec(2, 1, height_ratios=[3, 2], hspace=0.1) if info.accuracy else cell.subgridspec(1, 1)
        # Equal limits are set on every block; sharing axes would only make each limit change ripple through all.
        # No grid from the style: its lines would come with tick objects, several artists each, on every axes.
        with mpl.rc_context({"axes.grid": False}):
            block = [figure.add_subplot(inner[cell]) for cell in range(inner.nrows * inner.ncols)]
        _draw_panel(block, panel, info, first_column=index % columns == 0)
    figure.legend(handles=_legend(info), loc="upper center", ncols=7, frameon=False, fontsize=9,
                  bbox_to_anchor=(0.5, 1 - 0.04 / height))
    note_height = 0.25 if info.note else 0
    figure.text(0.5, (0.06 + note_height) / height, "epoch", ha="center", va="bottom", fontsize=9)
    if info.note:
        figure.text(0.5, 0.06 / height, info.note, ha="center", va="bottom", fontsize=8, color="#555555")
    return figure


def _draw_panel(block: list[Axes], panel: _Panel, info: _CurvesInfo, first_column: bool) -> None:
    loss_ax = block[0]
    low, high, _ = info.loss_range
    _draw_curves(loss_ax, panel.curves, "loss", (low, high))
    if info.accuracy:
        _draw_curves(block[1], panel.curves, "accuracy", (info.accuracy_floor, 1.0))
    blown = _diverged_epoch(panel)
    if blown is not None:
        loss_ax.text(0.5, 0.5, f"non-finite loss\nat epoch {blown}", transform=loss_ax.transAxes, ha="center",
                     va="center", fontsize=7.5, color=VERDICT_COLORS[Verdict.DIVERGED])
    rank = "" if panel.rank is None else (" · best" if panel.rank == 1 else f" · #{panel.rank}")
    loss_ax.set_title(f"trial {panel.trial_id}{rank}\n{_fits_text(panel)}",
                      color=VERDICT_COLORS.get(panel.fit, "black"), fontsize=8.5, loc="left")
    _set_axes(block, info, first_column)


def _set_axes(block: list[Axes], info: _CurvesInfo, first_column: bool) -> None:
    """Shared limits and fixed ticks: computed once per figure, cheap to set on each of many small axes."""
    low, high, log = info.loss_range
    if log:
        log_scale(block[0], "y")
    limits = [(low, high), (info.accuracy_floor, 1.0)]
    names = ["cross-entropy" if info.loss == "crossentropy" else "loss", "accuracy"]
    epochs = _ticks(*info.epoch_range, integer=True)
    for index, ax in enumerate(block):
        ax.set_xlim(*info.epoch_range)
        ax.set_ylim(*limits[index])
        ticks = _ticks(*limits[index], log=log and index == 0)
        # Labels on the first column and the bottom axes only; the grid, drawn as lines, on all of them.
        _grid(ax, ticks, epochs if index == len(block) - 1 else [])
        if first_column:
            ax.set_yticks(ticks, [f"{tick:g}" for tick in ticks])
        else:
            ax.yaxis.set_major_locator(NullLocator())
        if index == len(block) - 1:
            ax.set_xticks(epochs, [f"{tick:g}" for tick in epochs])
        else:
            ax.xaxis.set_major_locator(NullLocator())
        ax.set_ylabel(names[index] if first_column else "", fontsize=8, labelpad=2)


def _grid(ax: Axes, y: list[float], x: list[float]) -> None:
    """The style's grid lines at these ticks, as one collection per direction rather than a line per tick."""
    look = {"colors": mpl.rcParams["grid.color"], "linewidths": mpl.rcParams["grid.linewidth"], "zorder": 0.5}
    ax.hlines(y, 0, 1, transform=ax.get_yaxis_transform(), **look)
    if x:
        ax.vlines(x, 0, 1, transform=ax.get_xaxis_transform(), **look)


def _ticks(low: float, high: float, log: bool = False, integer: bool = False) -> list[float]:
    if log:
        return [10.0**power for power in range(math.ceil(math.log10(low)), math.floor(math.log10(high)) + 1)]
    return [float(tick) for tick in MaxNLocator(4, integer=integer).tick_values(low, high) if low <= tick <= high]


def _fits_text(panel: _Panel) -> str:
    return verdict_tally((curve.fit for curve in panel.curves), short=True)


def _draw_curves(ax: Axes, curves: list[_Curve], metric: str, limits: tuple[float, float]) -> None:
    """Training dashed, validation solid; values beyond the shared limits are drawn at the edge.

    The lines of an axes are one collection: drawn alike, at a fraction of the cost of a line each.
    """
    lines: list[np.ndarray] = []
    looks: list[tuple[tuple[float, float, float, float], tuple[float, tuple[int, int] | None]]] = []
    for curve in curves:
        color = VERDICT_COLORS.get(curve.fit, "black")
        for key, dashes in ((metric, (3, 2)), (f"val_{metric}", None)):
            values = curve.values.get(key)
            if values is None:
                continue
            shown = np.clip(values, *limits)  # NaN stays NaN: the line stops where the loss blew up
            alpha = 0.7 if dashes else 0.9
            if np.isfinite(shown).sum() < 3:  # one or two epochs make no visible line: dots instead
                ax.plot(curve.epoch, shown, color=color, linewidth=1.1, dashes=dashes or (), alpha=alpha, marker="o",
                        markersize=3)
            else:
                lines.append(np.column_stack([curve.epoch, shown]))
                looks.append((to_rgba(color, alpha), (0.0, dashes)))
            _mark_divergence(ax, curve, values, shown, limits[1], color)
    if lines:
        ax.add_collection(LineCollection(lines, colors=[color for color, _ in looks], linewidths=1.1,
                                         linestyles=[dashes for _, dashes in looks]), autolim=False)


def _mark_divergence(ax: Axes, curve: _Curve, values: np.ndarray, shown: np.ndarray, top: float, color: str) -> None:
    """A cross where a diverged curve's last finite value is (at the top when it has none)."""
    finite_epochs = np.flatnonzero(np.isfinite(values))
    if curve.fit == Verdict.DIVERGED and len(finite_epochs) < len(values):
        last = int(finite_epochs[-1]) if len(finite_epochs) else 0
        ax.plot(curve.epoch[last], shown[last] if len(finite_epochs) else top, marker="x", color=color,
                markersize=7, clip_on=False)


def _diverged_epoch(panel: _Panel) -> int | None:
    """The first epoch with a non-finite loss among the panel's curves."""
    epochs = [int(curve.epoch[~np.isfinite(values)][0]) for curve in panel.curves for values in curve.values.values()
              if (~np.isfinite(values)).any()]
    return min(epochs) if epochs else None


def _legend(info: _CurvesInfo) -> list[Line2D]:
    present = {curve.fit for panel in info.panels for curve in panel.curves}
    handles = [Line2D([], [], color="#333333", linewidth=1.2, label="validation"),
               Line2D([], [], color="#333333", linewidth=1.2, dashes=(3, 2), label="training")]
    for fit in [*VERDICT_ORDER, *sorted(present - set(VERDICT_ORDER))]:
        if fit in present:
            handles.append(Line2D([], [], color=VERDICT_COLORS.get(fit, "black"), linewidth=3, label=fit))
    return handles


def _draw_distribution(figure: Figure, info: _CurvesInfo, width: float, height: float) -> None:
    """Every execution at once: per verdict, the median validation curve and its 10-90% band."""
    bands = info.distribution or []
    metrics = [("val_loss", info.loss_range[:2], "cross-entropy" if info.loss == "crossentropy" else "loss")]
    if info.accuracy:
        metrics.append(("val_accuracy", (info.accuracy_floor, 1.0), "accuracy"))
    top, bottom = 1 - (_TOP + 0.3) / height, 1 - (_TOP + _BAND_HEIGHT - 0.35) / height
    span = (1 - _RIGHT / width) - _LEFT / width
    executions = sum(band.executions for band in bands)
    for index, (key, limits, name) in enumerate(metrics):
        left = _LEFT / width + index * span / len(metrics)
        ax = figure.add_axes((left, bottom, span / len(metrics) - 0.6 / width, top - bottom))
        for band in bands:
            low, median, high = band.values[key]
            color = VERDICT_COLORS.get(band.fit, "black")
            ax.fill_between(band.epoch, np.clip(low, *limits), np.clip(high, *limits), color=color, alpha=0.18,
                            linewidth=0)
            ax.plot(band.epoch, np.clip(median, *limits), color=color, linewidth=1.6,
                    label=f"{band.fit} ({band.executions:,})")
        if info.loss_range[2] and key == "val_loss":
            log_scale(ax, "y")
        ax.set_xlim(*info.epoch_range)
        ax.set_ylim(*limits)
        ax.set_ylabel(f"validation {name}", fontsize=8, labelpad=2)
        ax.legend(fontsize=7, frameon=False, loc="upper right" if key == "val_loss" else "lower right")
    figure.text(0.5, top + 0.08 / height, f"All {executions:,} executions (diverged ones aside): median validation "
                "curve per verdict, shaded from the 10th to the 90th percentile; below, single trials",
                ha="center", va="bottom", fontsize=8.5)
