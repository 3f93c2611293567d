"""What every verdict rule shares: its settings, its finding, and how it reads one row of evidence.

A row is one execution, or a configuration's repeats pooled into their mean (`repeats` > 1).
Its numbers come from `evidence_table` and the trials table; their noise is the standard error
of a level measured on the split's rows, or, without row counts, the curve's own scatter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fitsweep.analysis._noise import finite_population, one_sided_z

__all__ = [
    "Finding", "Settings", "at_chance", "at_epoch", "flat", "level_se", "mean_of", "measured_rows", "nan_extreme",
    "number", "repeats", "train_se", "trend_bound",
]

# A training loss that moved less than this share of its level over the whole run never moved: it
# reads the same to the three digits a loss is read at.
_FLAT_RANGE = 1e-3


@dataclass(frozen=True)
class Settings:
    """`diagnose`'s settings, checked, and the words for inputs the run left unscaled by request ("" if none)."""

    confidence: float
    margin: float
    accuracy_margin: float
    underfit_chance_share: float
    chance_loss: float | None
    trend_epochs: int
    unscaled: str
    # A regression: the losses are squared errors, there is no error rate, and chance_loss is the
    # squared error of predicting the training mean.
    regression: bool = False
    # A regression's validation split's own target variance (None: unknown), which the validation R² in a
    # reason is against, as the tables' val_r2 is; chance_loss is the training split's.
    val_variance: float | None = None

    @property
    def validation_variance(self) -> float | None:
        """What a validation MSE's R² is against: the validation split's variance where known."""
        return self.val_variance if self.val_variance is not None else self.chance_loss

    @property
    def baseline(self) -> str:
        """What `chance_loss` is called in a reason."""
        return "baseline of predicting the training mean (R² 0)" if self.regression else "chance level"


@dataclass(frozen=True)
class Finding:
    """One side of the verdict: whether it is clear, how large (cross-entropy), and why."""

    clear: bool
    size: float
    text: str


def number(row: dict[str, Any], name: str) -> float:
    """A row's value as a float; absent or missing is NaN."""
    value = row.get(name)
    if value is None or value is pd.NA:
        return math.nan
    return float(value)  # NaN stays NaN


def repeats(row: dict[str, Any]) -> int:
    """How many executions the row stands for: 1 unless it pools a configuration's repeats."""
    count = number(row, "repeats")
    return int(count) if math.isfinite(count) else 1


def mean_of(row: dict[str, Any]) -> str:
    """" (mean of N repeats)" after a pooled configuration's number, "" after one execution's."""
    return f" (mean of {repeats(row)} repeats)" if repeats(row) > 1 else ""


def at_epoch(row: dict[str, Any], name: str, words: str = " at epoch ") -> str:
    """Where one execution's number was read; a pooled configuration's repeats have each their own epochs."""
    return f"{words}{int(row[name])}" if repeats(row) == 1 and math.isfinite(number(row, name)) else ""


def nan_extreme(pick: Any, first: float, second: float) -> float:
    """`pick` (min or max) of two numbers, NaN ignored, as np.nanmin/np.nanmax give it without their cost."""
    values = [value for value in (first, second) if not math.isnan(value)]
    return float(pick(values)) if values else math.nan


def at_chance(train_ce: float, settings: Settings) -> bool:
    """Within `margin` of the chance level (or above it): as good as predicting the class priors (or the mean)."""
    chance = settings.chance_loss
    return chance is not None and math.isfinite(train_ce) and train_ce >= (1 - settings.margin) * chance


def flat(row: dict[str, Any]) -> bool:
    """The training loss never moved over two epochs or more."""
    return number(row, "train_range") < _FLAT_RANGE and number(row, "epochs_run") >= 2


def level_se(row: dict[str, Any], counted: float, scatter: str, level: float) -> float:
    """A validation level's standard error: from its row count, else from its curve's epoch-to-epoch scatter."""
    if math.isfinite(number(row, "val_rows")):
        return counted
    relative = number(row, scatter)
    return relative * abs(level) if math.isfinite(relative) else 0.0


def measured_rows(row: dict[str, Any]) -> float:
    """The training rows the training metrics were measured on."""
    return number(row, "train_measured_rows")


def train_se(row: dict[str, Any], sample_se: float) -> float:
    """A training estimate's standard error: 0 when every training row was measured."""
    return sample_se * finite_population(measured_rows(row), number(row, "train_rows"))


def trend_bound(row: dict[str, Any], settings: Settings, scatter_column: str = "train_scatter") -> float:
    """How steep a relative trend a loss's own scatter (the training loss's by default) gives by chance.

    A least-squares slope over the final k epochs has standard error s / sqrt(k (k^2 - 1) / 12) for
    independent noise s; unknown scatter gives 0.
    """
    scatter = number(row, scatter_column)
    k = min(settings.trend_epochs, number(row, "epochs_run"))
    if not (math.isfinite(scatter) and k >= 2):
        return 0.0
    return one_sided_z(settings.confidence) * scatter / math.sqrt(k * (k * k - 1) / 12)
