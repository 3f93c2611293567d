"""Figures of a sweep: functions that take a run's tables and return a matplotlib Figure.

Each figure is computed in two steps, as Optuna's plots are: a private `_<plot>_info` function
reduces the tables to a small typed record, and a draw step turns that record into a Figure.
Nothing is saved and no window opens: figures live on an Agg canvas, outside pyplot, so they
need no closing and leave a notebook's backend alone. In a notebook a figure shows as an image
when it is a cell's value or passed to `display` (`fitsweep.jupyter`), with no `%matplotlib`
magic. `fitsweep.report` writes them to files.

- `plot_learning_curves`: each trial's loss and accuracy per epoch, coloured by verdict.
- `plot_gap_vs_capacity`: the generalisation gap against the parameter count.
- `plot_regularizer_comparison`: test accuracy, gap and overfit share per regularization.
- `plot_importance`: which hyperparameters the objective and the gap depend on.
- `plot_hyperparameters`: the objective against each varied hyperparameter.
- `plot_decision_boundaries`: the best model's (and optionally other models') predictions on 2-D data.
- `plot_decision_boundary_epochs`: one execution's decision boundary after a few of its epochs.
- `plot_confusion_matrix`: the kept model (`kept_execution`: one execution of the best trial) on the test split.
- `plot_predictions`: a regression's kept model on the test split: predicted against actual, and residuals.
- `plot_weight_sparsity`: weight norms and near-zero share per regularization (when recorded).
- `plot_training_size_curves`: error against training-set size, with its power-law fit and
  extrapolation (from `fitsweep learning-curve`'s table).

A figure that has nothing to show (no completed trial, a single regularization, data with more
than two features for decision boundaries) raises `FigureError` with the reason.

Example:
    >>> from fitsweep.figures import plot_learning_curves
    >>> figure = plot_learning_curves("results/moons")  # doctest: +SKIP
    >>> figure.savefig("curves.png", dpi=150)  # doctest: +SKIP
"""

from __future__ import annotations

from fitsweep.figures._boundary_epochs import plot_decision_boundary_epochs
from fitsweep.figures._capacity import plot_gap_vs_capacity
from fitsweep.figures._common import VERDICT_COLORS, FigureError
from fitsweep.figures._comparison import plot_regularizer_comparison
from fitsweep.figures._curves import plot_learning_curves
from fitsweep.figures._hyperparameters import plot_hyperparameters
from fitsweep.figures._importance import plot_importance
from fitsweep.figures._models import (
    kept_execution,
    load_splits,
    plot_confusion_matrix,
    plot_decision_boundaries,
    retrain_execution,
)
from fitsweep.figures._predictions import plot_predictions
from fitsweep.figures._training_size import plot_training_size_curves
from fitsweep.figures._weights import WEIGHT_COLUMNS, plot_weight_sparsity

__all__ = [
    "FigureError",
    "VERDICT_COLORS",
    "WEIGHT_COLUMNS",
    "kept_execution",
    "load_splits",
    "plot_confusion_matrix",
    "plot_decision_boundaries",
    "plot_decision_boundary_epochs",
    "plot_predictions",
    "plot_gap_vs_capacity",
    "plot_hyperparameters",
    "plot_importance",
    "plot_learning_curves",
    "plot_regularizer_comparison",
    "plot_training_size_curves",
    "plot_weight_sparsity",
    "retrain_execution",
]
