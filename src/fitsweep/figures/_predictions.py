"""A regression's kept model on the test split: predicted against actual, and the residuals.

Where a classifier shows its confusion matrix, a regression shows how far each prediction lands
from its row's target: points on the diagonal are exact, a tilt away from it is a bias towards
the mean (an underfit model flattens its predictions), and residuals that fan out or curve with
the prediction show what the model has not learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fitsweep.figures._common import FigureError, as_run, new_figure, style
from fitsweep.figures._models import _kept_words, kept_execution, load_splits
from fitsweep.predictions import Predictions, model_outputs

__all__ = ["plot_predictions"]


@dataclass(frozen=True)
class _PredictionsInfo:
    actual: np.ndarray
    predicted: np.ndarray
    title: str


def plot_predictions(run: Any, splits: Any = None, data_dir: str | Path = ".", model: Any = None,
                     predictions: Predictions | None = None) -> Figure:
    """A regression's kept model on the test split: predicted against actual, and residuals against predicted.

    Args:
        run: A `SweepRun` or its folder.
        splits: The run's splits (`load_splits(run)`); loaded if omitted.
        data_dir: Where relative data paths start, when `splits` is omitted.
        model: The best model, if already loaded (`run.best_model`).
        predictions: Its stored outputs (`fitsweep.predictions.stored_predictions`), if any: then no model is loaded.

    Returns:
        A matplotlib Figure with two panels.

    Raises:
        FigureError: A classification run (see `plot_confusion_matrix`), or no model kept.

    Example:
        >>> plot_predictions("results/diabetes").savefig("predictions.png")  # doctest: +SKIP
    """
    run = as_run(run)
    splits = splits if splits is not None else load_splits(run, data_dir)
    if not splits.task.regression:
        raise FigureError("predicted against actual is drawn for a regression; a classifier has its confusion matrix")
    if predictions is not None:
        outputs = predictions.test_outputs
    else:
        model = model if model is not None else run.best_model
        if model is None:
            raise FigureError("no model was kept: the run has no best trial yet (best_model.keras is missing)")
        outputs = model_outputs(model, splits.x_test)
    info = _predictions_info(run, splits, outputs)
    with style():
        return _draw(info)


def _predictions_info(run: Any, splits: Any, outputs: np.ndarray) -> _PredictionsInfo:
    predicted = np.asarray(outputs).reshape(-1) * splits.target_scale + splits.target_center  # the target's own units
    actual = np.asarray(splits.y_test, dtype="float64")
    mse = float(np.mean((predicted - actual) ** 2))
    r2 = 1 - mse / float(np.var(actual)) if np.var(actual) > 0 else float("nan")
    title = (f"kept model: {_kept_words(run, kept_execution(run))}, test split\n"
             f"MSE {mse:.4g}, R² {r2:.3f} on {len(actual)} samples")
    return _PredictionsInfo(actual, predicted, title)


def _draw(info: _PredictionsInfo) -> Figure:
    figure = new_figure(9.0, 4.0)
    scatter, residuals = figure.subplots(1, 2)
    low = float(min(info.actual.min(), info.predicted.min()))
    high = float(max(info.actual.max(), info.predicted.max()))
    scatter.scatter(info.actual, info.predicted, s=12, alpha=0.7, color="#1f4e9a", edgecolor="none")
    scatter.plot([low, high], [low, high], color="#374151", linewidth=1, linestyle="--", label="exact")
    scatter.set(xlabel="actual", ylabel="predicted", title="predicted against actual")
    scatter.legend(loc="upper left", fontsize=8)
    residuals.scatter(info.predicted, info.actual - info.predicted, s=12, alpha=0.7, color="#c2410c",
                      edgecolor="none")
    residuals.axhline(0.0, color="#374151", linewidth=1, linestyle="--")
    residuals.set(xlabel="predicted", ylabel="actual - predicted", title="residuals")
    figure.suptitle(info.title, fontsize=9, x=0.01, ha="left")
    return figure
