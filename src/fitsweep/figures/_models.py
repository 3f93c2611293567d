"""Figures that need a trained model: decision boundaries (2-D data) and the confusion matrix.

Both draw the kept model's outputs (`fitsweep.predictions`), which the run stores as it ends, so
drawing them needs no TensorFlow; given a model instead, they predict with it.

Only one model is kept on disk (`best_model.keras`, at its best epoch): that of the best trial's
best execution (`kept_execution`), one of its repeats. The
decision boundaries of an overfit and an underfit trial therefore need those models rebuilt:
with `retrain=True` they are trained again from their hyperparameters and their execution's
seed, as the sweep trained them (deterministic on CPU), and each panel says whether the retrained
model reproduces the sweep's recorded validation loss. Without it only the best model is drawn.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fitsweep.figures._common import (
    VERDICT_COLORS,
    FigureError,
    as_run,
    hyperparameter_columns,
    new_figure,
    style,
    verdicts,
)
from fitsweep.predictions import Predictions, grid_points, kept_execution, model_outputs, predict
from fitsweep.vocabulary import Verdict

__all__ = ["kept_execution", "load_splits", "plot_confusion_matrix", "plot_decision_boundaries", "retrain_execution"]

_CLASS_COLORS = ("#1f4e9a", "#c2410c", "#15803d", "#7e22ce", "#a16207", "#0e7490", "#be123c", "#4d7c0f", "#6b21a8",
                 "#374151")


@dataclass(frozen=True)
class _Boundary:
    title: str
    fit: str
    probabilities: np.ndarray  # (GRID_SIZE, GRID_SIZE) for two classes, (GRID_SIZE, GRID_SIZE, classes) otherwise


@dataclass(frozen=True)
class _BoundariesInfo:
    panels: list[_Boundary]
    grid: tuple[np.ndarray, np.ndarray]
    x: np.ndarray  # training points
    y: np.ndarray
    n_classes: int
    note: str | None


@dataclass(frozen=True)
class _ConfusionInfo:
    counts: np.ndarray  # rows: true class, columns: predicted class
    labels: list[str]
    title: str


def load_splits(run: Any, data_dir: str | Path = ".") -> Any:
    """The run's train, validation and test splits, prepared from its sweep file as the run did.

    Args:
        run: A `SweepRun`.
        data_dir: The folder the sweep's relative data paths start at (the sweep file's folder).

    Example:
        >>> splits = load_splits(fitsweep.load("results/moons"))  # doctest: +SKIP
    """
    from fitsweep.data import prepare_data

    return prepare_data(run.spec.data, data_dir)


def plot_decision_boundaries(
    run: Any, *, splits: Any = None, data_dir: str | Path = ".", diagnosis: pd.DataFrame | None = None,
    model: Any = None, retrain: bool = False, predictions: Predictions | None = None,
) -> Figure:
    """What the models predict over the plane of a 2-feature data set, training points on top.

    The best model (at its best epoch) is always drawn. With `retrain=True`, so is the most
    overfit trial (widest final accuracy gap) and the most underfit one (highest final training
    loss), if the sweep has them, retrained to their last epoch; see the module docstring.

    Args:
        run: A `SweepRun` or its folder.
        splits: The run's splits (`load_splits(run)`); loaded if omitted.
        data_dir: Where relative data paths start, when `splits` is omitted.
        diagnosis: `diagnose`'s table; computed if omitted.
        model: The best model, if already loaded (`run.best_model`).
        retrain: Retrain an overfit and an underfit trial (seconds to minutes).
        predictions: The best model's stored outputs (`fitsweep.predictions.stored_predictions`):
            drawn without the model.

    Returns:
        A matplotlib Figure with one panel per model.

    Raises:
        FigureError: Data without exactly 2 features, or no model kept.

    Example:
        >>> plot_decision_boundaries("results/moons", retrain=True).savefig("boundaries.png")  # doctest: +SKIP
    """
    run = as_run(run)
    _require_classes(run, "decision boundaries")
    if predictions is None or retrain:  # stored predictions hold the points drawn; retraining needs the data
        splits = splits if splits is not None else load_splits(run, data_dir)
    n_features = predictions.n_features if predictions is not None else splits.n_features
    if n_features != 2:
        raise FigureError(f"decision boundaries need data with 2 features; this data has {n_features}")
    predictions = _best_predictions(run, splits, model, predictions)
    info = _decision_boundaries_info(run, splits, verdicts(run, diagnosis), predictions, retrain)
    with style():
        return _draw_boundaries(info)


def _require_classes(run: Any, figure: str) -> None:
    if run.spec.recorded_task == "regression":
        raise FigureError(f"{figure} needs classes; this run regresses a numeric target (see plot_predictions)")


def _best_predictions(run: Any, splits: Any, model: Any, predictions: Predictions | None) -> Predictions:
    if predictions is not None:
        return predictions
    model = model if model is not None else run.best_model
    if model is None:
        raise FigureError("no model was kept: the run has no best trial yet (best_model.keras is missing)")
    return predict(model, splits)


def _decision_boundaries_info(run: Any, splits: Any, diagnosis: pd.DataFrame, predictions: Predictions,
                              retrain: bool) -> _BoundariesInfo:
    if predictions.grid_axes is None or predictions.grid_outputs is None or predictions.train_points is None:
        raise FigureError("the best model's predictions hold no plane of two features to draw")
    xx, yy = np.meshgrid(*predictions.grid_axes)
    n_classes = predictions.n_classes
    best_id = str(run.info.get("best_trial") or "")
    kept = kept_execution(run)
    best_fit = _majority_fit(diagnosis, best_id) if kept is None else _execution_fit(diagnosis, *kept)
    panels = [_Boundary(f"kept model: {_kept_words(run, kept)} ({best_fit}), best epoch", best_fit,
                        _shaped(predictions.grid_outputs, xx.shape, n_classes))]
    others = _extreme_executions(diagnosis, exclude=best_id)
    if retrain:
        points = grid_points(predictions.grid_axes)
        for kind, (trial_id, execution) in others.items():
            retrained, note = _retrained(run, splits, diagnosis, trial_id, execution)
            panels.append(_Boundary(f"most {kind}: trial {trial_id}, run {execution}, last epoch\n{note}", kind,
                                    _shaped(model_outputs(retrained, points), xx.shape, n_classes)))
    caption = _boundaries_note(others, retrain)
    x_train, y_train = predictions.train_points
    return _BoundariesInfo(panels, (xx, yy), x_train, y_train, n_classes, caption)


def _boundaries_note(others: dict[str, tuple[str, int]], retrain: bool) -> str | None:
    if retrain or not others:
        return None
    named = " and ".join(f"an {kind} trial ({trial_id})" for kind, (trial_id, _) in others.items())
    them = "them" if len(others) > 1 else "it"
    return (f"Only the best model is kept on disk. The sweep also has {named}; "
            f"`fitsweep report --retrain` retrains {them} with the same seed to draw {them} here.")


def _shaped(output: np.ndarray, shape: tuple[int, ...], n_classes: int) -> np.ndarray:
    """Outputs over the plane as the grid's shape: P(class 1) for two classes, one layer per class otherwise."""
    # The last column is P(class 1) both for a single sigmoid output and for a softmax over two classes.
    return output[:, -1].reshape(shape) if n_classes == 2 else output.reshape(*shape, n_classes)


def _kept_words(run: Any, kept: tuple[str, int] | None) -> str:
    if kept is None:
        return f"trial {run.info.get('best_trial')}"
    return f"trial {kept[0]}, execution {kept[1]}"


def _execution_fit(diagnosis: pd.DataFrame, trial_id: str, execution: int) -> str:
    rows = diagnosis[(diagnosis["trial_id"].astype(str) == trial_id).to_numpy()
                     & (diagnosis["execution"] == execution).to_numpy()]
    return str(rows["fit"].iloc[0]) if len(rows) else "unknown"


def _majority_fit(diagnosis: pd.DataFrame, trial_id: str) -> str:
    fits = diagnosis.loc[diagnosis["trial_id"].astype(str) == trial_id, "fit"].astype(str)
    return fits.mode().iloc[0] if len(fits) else "unknown"


def _extreme_executions(diagnosis: pd.DataFrame, exclude: str) -> dict[str, tuple[str, int]]:
    """The most overfit execution (widest final accuracy gap) and the most underfit (highest final loss)."""
    rows = diagnosis[diagnosis["trial_id"].astype(str) != exclude]
    picks = {}
    for kind, column in ((Verdict.OVERFIT, "accuracy_gap"), (Verdict.UNDERFIT, "final_loss")):
        candidates = rows[rows["fit"].astype(str) == kind]
        candidates = candidates.assign(_key=pd.to_numeric(candidates[column], errors="coerce").fillna(-math.inf))
        if len(candidates):
            top = candidates.sort_values("_key", ascending=False, kind="stable").iloc[0]
            picks[kind.value] = (str(top["trial_id"]), int(top["execution"]))
    return picks


def _retrained(run: Any, splits: Any, diagnosis: pd.DataFrame, trial_id: str, execution: int) -> tuple[Any, str]:
    model, val_loss = retrain_execution(run, splits, trial_id, execution)
    recorded = run.epochs[(run.epochs["trial_id"].astype(str) == trial_id) & (run.epochs["execution"] == execution)]
    expected = float(recorded.sort_values("epoch")["val_loss"].iloc[-1]) if len(recorded) else math.nan
    same = math.isfinite(expected) and abs(val_loss - expected) <= 1e-4 * max(1.0, abs(expected))
    check = "matches the sweep" if same else f"sweep had {expected:.4g}"
    return model, f"retrained: val_loss {val_loss:.4g} ({check})"


def retrain_execution(run: Any, splits: Any, trial_id: str, execution: int,
                      epochs: int | None = None) -> tuple[Any, float]:
    """Train one execution of a trial again, as the sweep did: same hyperparameters, same seed, same path.

    It goes through `fitsweep.training.train_executions`, as the sweep's executions do: fused where
    the family fuses (alone or beside others, a member trains to the same weights up to float
    rounding), else alone (a user's build function). With TensorFlow's op determinism
    (enabled here, as `run_sweep` does) compare the returned validation loss with the epochs table.

    Args:
        run: A `SweepRun`.
        splits: Its splits (`load_splits(run)`).
        trial_id: The trial, as in the trials table.
        execution: Which of its executions (its seed).
        epochs: Epochs to train; by default as many as the execution ran.

    Returns:
        The model at its last epoch and its validation loss there.

    Example:
        >>> model, val_loss = retrain_execution(run, load_splits(run), "07", 0)  # doctest: +SKIP
    """
    from fitsweep.quiet_tensorflow import import_tensorflow

    import_tensorflow()
    from fitsweep.families import family_for
    from fitsweep.search.engine import execution_seed
    from fitsweep.training import Member, train_executions

    row = _trial_row(run.trials, trial_id, execution)
    values = {name: row[name] for name in hyperparameter_columns(run.trials)}
    epochs = int(epochs if epochs is not None else row["epochs_run"])
    family = family_for(run.spec)
    member = Member(trial_id, execution, values, execution_seed(run.spec.tuner.seed, trial_id, execution))
    last: dict[str, float] = {}

    def keep_last(_member: Member, _epoch: int, record: dict[str, float], _seconds: float) -> None:
        last.update(record)

    # objective None: keep the last epoch's weights
    [outcome] = train_executions([member], splits, family, epochs=epochs, objective=None, on_epoch=keep_last)
    return outcome.network(), last["val_loss"]


def _trial_row(trials: pd.DataFrame, trial_id: str, execution: int) -> pd.Series:
    rows = trials[(trials["trial_id"].astype(str) == trial_id) & (trials["execution"] == execution)]
    if rows.empty:
        raise FigureError(f"trial {trial_id} has no execution {execution} in the trials table")
    row: pd.Series = rows.iloc[0]
    return row


def _draw_boundaries(info: _BoundariesInfo) -> Figure:
    figure = new_figure(max(3.6 * len(info.panels) + 0.9, 6.0), 4.3 if info.note else 3.9)
    axes = figure.subplots(1, len(info.panels), squeeze=False)[0]
    for ax, panel in zip(axes, info.panels, strict=True):
        shading = _draw_boundary(ax, panel, info)
    if info.n_classes == 2:
        figure.colorbar(shading, ax=list(axes), shrink=0.7, label="P(class 1)", ticks=[0, 0.5, 1])
    if info.note:
        figure.supxlabel(textwrap.fill(info.note, 90), fontsize=8, color="#555555")
    return figure


def _draw_boundary(ax: Axes, panel: _Boundary, info: _BoundariesInfo) -> Any:
    xx, yy = info.grid
    shading = None
    if info.n_classes == 2:
        shading = ax.contourf(xx, yy, panel.probabilities, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55,
                              vmin=0, vmax=1)
        ax.contour(xx, yy, panel.probabilities, levels=[0.5], colors="black", linewidths=1.2)
    else:
        regions = panel.probabilities.argmax(axis=-1)
        from matplotlib.colors import ListedColormap

        cmap = ListedColormap(list(_CLASS_COLORS[: info.n_classes]))
        ax.contourf(xx, yy, regions, levels=np.arange(info.n_classes + 1) - 0.5, cmap=cmap, alpha=0.3)
    colors = [_CLASS_COLORS[int(label) % len(_CLASS_COLORS)] for label in info.y]
    ax.scatter(info.x[:, 0], info.x[:, 1], c=colors, s=9, edgecolors="white", linewidths=0.3)
    ax.set_title(panel.title, fontsize=8.5, color=VERDICT_COLORS.get(panel.fit, "black"), loc="left")
    ax.set(xticks=[], yticks=[], xlabel="feature 1", ylabel="feature 2")
    ax.set_aspect("equal", adjustable="box")
    return shading


def plot_confusion_matrix(run: Any, *, splits: Any = None, data_dir: str | Path = ".", model: Any = None,
                          predictions: Predictions | None = None) -> Figure:
    """The best model's confusion matrix on the held-out test split.

    Cells hold counts; their shade is the share of the true class (the row), so a pale
    diagonal cell is a class the model often gets wrong, whatever its size.

    Args:
        run: A `SweepRun` or its folder.
        splits: The run's splits (`load_splits(run)`); loaded if omitted.
        data_dir: Where relative data paths start, when `splits` is omitted.
        model: The best model, if already loaded (`run.best_model`).
        predictions: The best model's stored outputs (`fitsweep.predictions.stored_predictions`):
            drawn without the model or the splits.

    Returns:
        A matplotlib Figure.

    Raises:
        FigureError: No model kept.

    Example:
        >>> plot_confusion_matrix("results/moons").savefig("confusion.png")  # doctest: +SKIP
    """
    run = as_run(run)
    _require_classes(run, "a confusion matrix")
    if predictions is None:
        splits = splits if splits is not None else load_splits(run, data_dir)
        predictions = _best_predictions(run, splits, model, None)
    info = _confusion_matrix_info(run, predictions)
    with style():
        return _draw_confusion(info)


def _confusion_matrix_info(run: Any, predictions: Predictions) -> _ConfusionInfo:
    n_classes = predictions.n_classes
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (predictions.test_labels.astype(int), predictions.test_predicted), 1)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    title = (f"kept model: {_kept_words(run, kept_execution(run))}, test split\n"
             f"accuracy {accuracy:.3f} on {counts.sum()} samples")
    names = (run.info.get("data") or {}).get("class_names")  # a text target's values, else the class indices
    labels = [str(name) for name in names] if names else [str(label) for label in range(n_classes)]
    return _ConfusionInfo(counts, labels, title)


def _draw_confusion(info: _ConfusionInfo) -> Figure:
    import seaborn as sns

    size = min(2.6 + 0.42 * len(info.labels), 8.0)
    figure = new_figure(size + 1.2, size)
    ax = figure.subplots()
    shares = info.counts / np.maximum(info.counts.sum(axis=1, keepdims=True), 1)
    sns.heatmap(shares, annot=info.counts, fmt="d", cmap="Blues", vmin=0, vmax=1, square=True, ax=ax,
                xticklabels=info.labels, yticklabels=info.labels,
                annot_kws={"fontsize": 8 if len(info.labels) > 6 else 10},
                cbar_kws={"label": "share of the true class", "shrink": 0.8}, linewidths=0.5, linecolor="white")
    ax.set(xlabel="predicted class", ylabel="true class")
    ax.set_title(info.title, fontsize=9, loc="left")
    return figure
