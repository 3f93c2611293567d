"""What an imported KerasTuner search measured: its task and its loss, read from the metric names Keras logged.

KerasTuner keeps neither the model nor its `compile` arguments (trial.json has the metrics'
names and values, checkpoint.weights.h5 the weights only), so `fitsweep import` reads the task
from the names Keras gave the metrics: `mse`, `mean_absolute_error` or `r2_score` are a
regression's, an accuracy or a cross-entropy a classification's. The loss has no name of its own
(Keras logs it as `loss`); where it equals a recorded MSE or MAE at every epoch, it is that
measure. A search that logged its loss alone says neither, and its measure stays "loss".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

__all__ = ["ImportedMeasures", "fitsweep_metric", "imported_measures"]

# Keras names accuracy after the metric object; fitsweep's tables call every one of them "accuracy".
_ACCURACY_NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")
# Keras' names of the regression measures fitsweep's tables have columns for, in fitsweep's spelling.
_REGRESSION_COLUMNS = {"mse": "mse", "mean_squared_error": "mse", "mae": "mae", "mean_absolute_error": "mae",
                       "r2_score": "r2", "r2": "r2"}
# Other Keras metrics that only a regression has.
_REGRESSION_ONLY = ("root_mean_squared_error", "rmse", "mean_absolute_percentage_error", "mape",
                    "mean_squared_logarithmic_error", "msle", "log_cosh", "logcosh", "huber", "cosine_similarity")
_CLASSIFICATION_ONLY = ("crossentropy", "auc", "precision", "recall", "hinge")
# A loss equal to a recorded measure at every epoch is that measure (both are Keras' sample-weighted means).
_SAME = 1e-4
_LABELS = {"mse": "MSE", "mae": "MAE"}


@dataclass(frozen=True)
class ImportedMeasures:
    """The task and loss an imported search recorded, as far as its metric names tell.

    Attributes:
        task: "classification", "regression", or None when only the loss was logged.
        evidence: The metric names that decided the task ("" when none did).
        loss: "MSE" or "MAE" where the loss equals that recorded measure at every epoch, else "loss".
    """

    task: str | None
    evidence: str
    loss: str


def fitsweep_metric(name: str) -> str:
    """A Keras metric name in fitsweep's spelling: every accuracy is "accuracy", "mean_squared_error" is "mse".

    Example:
        >>> fitsweep_metric("val_mean_absolute_error"), fitsweep_metric("acc")
        ('val_mae', 'accuracy')
    """
    prefix, bare = ("val_", name[4:]) if name.startswith("val_") else ("", name)
    if bare in _ACCURACY_NAMES:
        return prefix + "accuracy"
    return prefix + _REGRESSION_COLUMNS.get(bare, bare)


def imported_measures(names: Iterable[str], objective: str | None, epochs: pd.DataFrame) -> ImportedMeasures:
    """The task the metric names (and KerasTuner's objective) show, and which measure the loss is.

    Args:
        names: Every metric name the project recorded, as Keras logged them.
        objective: The metric KerasTuner ranked by, when known (`val_mse`, `val_mean_squared_error`).
        epochs: The imported epochs table, metrics in fitsweep's spelling (`fitsweep_metric`).

    Example:
        >>> imported_measures(["loss", "val_loss", "mae", "val_mae"], "val_loss", pd.DataFrame()).task
        'regression'
    """
    bare = sorted({name.removeprefix("val_") for name in [*names, *([objective] if objective else [])]})
    regression = [n for n in bare if n in _REGRESSION_COLUMNS or n in _REGRESSION_ONLY]
    classification = [n for n in bare if n in _ACCURACY_NAMES or n.endswith(_CLASSIFICATION_ONLY)]
    if regression and not classification:
        task, evidence = "regression", regression
    elif classification and not regression:
        task, evidence = "classification", classification
    else:  # the loss alone, or both kinds (a custom model): nothing to go by
        task, evidence = None, []
    return ImportedMeasures(task, ", ".join(evidence), _loss_measure(epochs) if task != "classification" else "loss")


def _loss_measure(epochs: pd.DataFrame) -> str:
    for measure, label in _LABELS.items():
        pairs = [(epochs[loss], epochs[column]) for loss, column in (("loss", measure), ("val_loss", f"val_{measure}"))
                 if loss in epochs and column in epochs]
        values = [(float(a), float(b)) for losses, measured in pairs for a, b in zip(losses, measured, strict=True)
                  if math.isfinite(float(a)) and math.isfinite(float(b))]
        if values and all(math.isclose(a, b, rel_tol=_SAME, abs_tol=1e-9) for a, b in values):
            return label
    return "loss"
