"""The test metric a comparison ranks by, with its direction: accuracy and R² higher is better, MSE and MAE lower.

Every place that ranks, picks the best or calls a difference better or worse asks the metric,
so no sign is flipped anywhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fitsweep.analysis._common import AnalysisError, FloatArray

__all__ = ["COMPARED_METRICS", "ComparedMetric", "compared_metric", "metric_of_table", "other_metrics",
           "task_of_trials"]

_INF = math.inf


@dataclass(frozen=True)
class ComparedMetric:
    """A test metric of the trials table (`test_<name>`, with `val_` and `train_` twins).

    Example:
        >>> COMPARED_METRICS["mse"].better(-0.5), COMPARED_METRICS["r2"].better(-0.5)
        (True, False)
    """

    name: str  # accuracy, mse, mae, r2
    label: str  # as a sentence says it: "accuracy", "MSE", "R²"
    higher_is_better: bool
    bounds: tuple[float, float]  # the values it can take: an interval is clipped to them

    @property
    def test(self) -> str:
        return f"test_{self.name}"

    @property
    def gap(self) -> str:
        """The name of its train-validation gap: how far training beats validation (positive when overfitting)."""
        return f"{self.name}_gap"

    @property
    def gap_bounds(self) -> tuple[float, float]:
        low, high = self.bounds
        return low - high, high - low

    @property
    def best_word(self) -> str:
        return "Highest" if self.higher_is_better else "Lowest"

    def text(self, value: float, *, signed: bool = False) -> str:
        """A value as reports write it: a score up to 1 to 3 decimals, an error (the target's units) to 4 digits."""
        sign = "+" if signed else ""
        return f"{value:{sign}.3f}" if self.bounds[1] == 1.0 else f"{value:{sign}.4g}"

    def gap_values(self, train: FloatArray, val: FloatArray) -> FloatArray:
        """Training minus validation for a score, validation minus training for an error."""
        gap: FloatArray = train - val if self.higher_is_better else val - train
        return gap

    def better(self, difference: float) -> bool:
        """Whether a difference in this metric (a group's mean minus another's) is an improvement."""
        return difference > 0 if self.higher_is_better else difference < 0

    def best_position(self, means: FloatArray) -> int:
        """The position of the best mean; 0 where no mean is known."""
        if np.isnan(means).all():
            return 0
        return int(np.nanargmax(means) if self.higher_is_better else np.nanargmin(means))


COMPARED_METRICS = {
    "accuracy": ComparedMetric("accuracy", "accuracy", True, (0.0, 1.0)),
    "mse": ComparedMetric("mse", "MSE", False, (0.0, _INF)),
    "mae": ComparedMetric("mae", "MAE", False, (0.0, _INF)),
    "r2": ComparedMetric("r2", "R²", True, (-_INF, 1.0)),
}
# Each task's metrics, the default first.
_TASK_METRICS: dict[str, Sequence[str]] = {"classification": ("accuracy",), "regression": ("mse", "r2", "mae")}


def task_of_trials(trials: pd.DataFrame) -> str:
    """"regression" for a trials table with squared errors and no accuracy, else "classification"."""
    return "regression" if "test_mse" in trials.columns and "test_accuracy" not in trials.columns else "classification"


def compared_metric(trials: pd.DataFrame, metric: str | None = None) -> ComparedMetric:
    """The metric `compare` ranks `trials` by: `metric`, or the task's default (accuracy, or MSE for a regression).

    Raises:
        AnalysisError: A metric unknown or of the other task, naming the allowed ones.

    Example:
        >>> compared_metric(regression_trials).label  # doctest: +SKIP
        'MSE'
    """
    task = task_of_trials(trials)
    allowed = _TASK_METRICS[task]
    if metric is None:
        return COMPARED_METRICS[allowed[0]]
    if metric not in allowed:
        raise AnalysisError(f"does not measure a {task}; allowed: {', '.join(allowed)}", key="metric", value=metric)
    return COMPARED_METRICS[metric]


def other_metrics(chosen: ComparedMetric, trials: pd.DataFrame) -> list[ComparedMetric]:
    """The task's other test metrics, summarised beside the chosen one (a regression's R² and MAE beside its MSE)."""
    return [COMPARED_METRICS[name] for name in _TASK_METRICS[task_of_trials(trials)] if name != chosen.name]


def metric_of_table(table: pd.DataFrame) -> ComparedMetric:
    """The metric a `compare` table was ranked by (accuracy for a table that does not say)."""
    return COMPARED_METRICS[str(table.attrs.get("metric", "accuracy"))]
