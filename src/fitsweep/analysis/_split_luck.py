"""Validation above training: when most executions score better on the validation split, and how likely luck is.

A network fits its training rows at least as well as rows it never saw, so validation accuracy
above training accuracy in one execution is noise, and in nearly all of them is a property of
what they share: the one validation split. Its rows may simply be easier than the training
rows. Two random samples of n_val and n_train rows from data a model classifies with accuracy p
differ by sqrt(p (1 - p) (1 / n_val + 1 / n_train)) (one standard deviation) by chance alone;
the lead is read against that spread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fitsweep.analysis._common import as_float, completed, require_columns

__all__ = ["ValidationLead", "validation_lead"]


@dataclass(frozen=True)
class ValidationLead:
    """How far validation accuracy runs ahead of training accuracy, over a sweep's executions.

    Attributes:
        executions: Executions with both accuracies at their last epoch.
        ahead: How many of them have the higher validation accuracy.
        lead_low: The smallest lead (validation minus training accuracy) among those ahead.
        lead_high: The largest lead among those ahead.
        lead_median: The median lead among those ahead.
        accuracy: The median validation accuracy (at each execution's best epoch).
        val_rows: Rows of the validation split (NaN when not recorded).
        train_rows: Training rows the training accuracy was measured on (NaN when not recorded).
        spread: One standard deviation of the accuracy difference of two random samples of
            `val_rows` and `train_rows` rows at `accuracy` (NaN when the rows are not recorded).
    """

    executions: int
    ahead: int
    lead_low: float
    lead_high: float
    lead_median: float
    accuracy: float
    val_rows: float
    train_rows: float
    spread: float


def validation_lead(diagnosis: pd.DataFrame, trials: pd.DataFrame, *, share: float = 0.8,
                    minimum: int = 3) -> ValidationLead | None:
    """The validation split's lead over training accuracy, when at least `share` of the executions show it.

    Args:
        diagnosis: `diagnose`'s output (its `accuracy_gap`, training minus validation accuracy at
            the last epoch, and `val_error`).
        trials: The trials table, for the rows each accuracy was measured on (`val_rows`,
            `train_measured_rows`, else `train_rows`).
        share: The smallest share of executions ahead on validation that counts as "most".
        minimum: The fewest executions a pattern is read from.

    Returns:
        A `ValidationLead`, or None when fewer than `minimum` executions have both accuracies or
        fewer than `share` of them are ahead on validation.

    Example:
        >>> lead = validation_lead(verdicts_of(run), run.trials)  # doctest: +SKIP
        >>> lead.ahead, lead.executions, round(lead.spread, 3)  # doctest: +SKIP
        (96, 96, 0.014)
    """
    require_columns(diagnosis, ["accuracy_gap"], "diagnosis")
    gaps = as_float(diagnosis["accuracy_gap"])
    measured = np.isfinite(gaps)
    ahead = measured & (gaps < 0)
    if measured.sum() < minimum or ahead.sum() < share * measured.sum():
        return None
    leads = -gaps[ahead]
    accuracy = float(np.nanmedian(1 - as_float(diagnosis["val_error"]))) if "val_error" in diagnosis else math.nan
    val_rows, train_rows = _rows(trials, "val_rows"), _rows(trials, "train_measured_rows", "train_rows")
    spread = math.nan
    if all(math.isfinite(v) and v > 0 for v in (accuracy, val_rows, train_rows)):
        spread = math.sqrt(accuracy * (1 - accuracy) * (1 / val_rows + 1 / train_rows))
    return ValidationLead(executions=int(measured.sum()), ahead=int(ahead.sum()), lead_low=float(leads.min()),
                          lead_high=float(leads.max()), lead_median=float(np.median(leads)), accuracy=accuracy,
                          val_rows=val_rows, train_rows=train_rows, spread=spread)


def _rows(trials: pd.DataFrame, *columns: str) -> float:
    """The median row count of the first recorded column (NaN when none is)."""
    rows = completed(trials)
    for column in columns:
        if column in rows.columns:
            values = as_float(rows[column])
            if np.isfinite(values).any():
                return float(np.nanmedian(values))
    return math.nan
