"""The sweep's reachable level: the best any of its configurations generalises, the verdicts' yardstick.

An execution underfits when it fits its own training rows clearly worse than this level, and
overfits only when its validation level is clearly worse than it too (the best configuration
has a gap of its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fitsweep.analysis._common import as_float

__all__ = ["Reachable", "reachable_levels"]


@dataclass(frozen=True)
class Reachable:
    """The lowest mean validation error and cross-entropy any trial of a run reaches, and their spread."""

    error: float
    error_var: float  # variance of that mean between the best trial's repeats
    error_trial: str
    crossentropy: float
    crossentropy_var: float
    crossentropy_trial: str
    trials: int
    params: float
    # Only the linear reference to compare with: the sweep has one configuration (its curve is judged too).
    alone: bool = False
    # Whether anything (the sweep's best, or the linear reference) beats predicting the training mean beyond noise.
    baseline_beaten: bool = True
    # A regression's linear reference (`fitsweep.analysis._baseline`), when the run recorded one.
    linear_val_mse: float = math.nan
    # Where a classification's logistic regression lowered these levels: the sweep's own (None for one
    # configuration). The yardstick measures bias only: a gap between training and validation is
    # overfitting when it costs generalisation against the other configurations, not against a linear model.
    sweep_levels: Reachable | None = None
    yardstick: bool = False

    def of_the_sweep(self) -> Reachable | None:
        """The levels the sweep's own configurations reach, without the logistic regression."""
        return self.sweep_levels if self.yardstick else self


def reachable_levels(table: pd.DataFrame, keys: list[str]) -> dict[Any, Reachable]:
    """Per run (key None: the only run), the sweep's reachable levels; absent with fewer than two trials."""
    if "final_loss" not in table:
        return {}
    finite = table[table["diverged_at"].isna() & table["final_loss"].notna()]
    runs = finite.groupby("run", dropna=False) if "run" in keys else [(None, finite)]
    reachable = {}
    for run, rows in runs:
        per_trial = rows.groupby("trial_id")
        if per_trial.ngroups < 2:
            continue
        error_trial, error, error_var = _best_mean(per_trial["val_error"])
        ce_trial, crossentropy, ce_var = _best_mean(per_trial["val_crossentropy"])
        params = as_float(rows.loc[rows["trial_id"] == ce_trial, "params"]).max() if "params" in rows else math.nan
        reachable[run] = Reachable(error, error_var, error_trial, crossentropy, ce_var, ce_trial,
                                   per_trial.ngroups, float(params))
    return reachable


def _best_mean(values: Any) -> tuple[str, float, float]:
    means = values.mean()
    if means.isna().all():
        return "", math.nan, 0.0
    best = str(means.idxmin())
    repeats = as_float(values.get_group(best))
    spread = float(np.var(repeats, ddof=1) / len(repeats)) if len(repeats) > 1 else 0.0
    return best, float(means[best]), spread
