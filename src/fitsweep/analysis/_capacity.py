"""Capacity: does the generalisation gap grow with the network's size?"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from fitsweep.analysis._common import (
    AnalysisError,
    FloatArray,
    as_float,
    completed,
    require_columns,
    require_rows,
    trial_keys,
    with_derived_columns,
)

__all__ = ["GAP_NAMES", "capacity"]

_CAPACITY = ("params", "depth", "width")
# Each gap `capacity` correlates, named as the report's text and its figure both name it.
GAP_NAMES = {
    "accuracy_gap": "accuracy gap at the last epoch (training - validation)",
    "loss_gap": "loss gap at the last epoch (validation - training)",
    "val_rise": "rise of the validation loss after its minimum",
}


def capacity(trials: pd.DataFrame, diagnosis: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spearman rank correlation of the generalisation gap with the network's size.

    Rank correlation asks only whether bigger networks tend to have bigger gaps, not whether
    the relation is a straight line, so one huge network cannot dominate it. Depth is the number
    of hidden layers and width the widest one; a sweep that used `layers` ("600-400-200") has
    them read from that string.

    Args:
        trials: The trials table; only completed rows count. A `run` column (several runs
            concatenated) is allowed: rows are matched to the diagnosis by run too.
        diagnosis: `diagnose`'s output, optional. Without it the gaps are those at each
            execution's best epoch, from the trials table: `accuracy_gap` (train_accuracy -
            val_accuracy) and `loss_gap` (val_loss - train_loss). With it, the gaps at the final
            epoch, where overfitting shows even when the best epoch came early, and `val_rise`.

    Returns:
        One row per (capacity, gap) pair: `capacity` ("params", "depth", "width"), `gap`, `n`
        (rows with both values), `spearman_rho` and `p_value`. Both are NaN when fewer than three
        rows have values or either side never varies (a sweep with a fixed depth says nothing
        about depth).

    Raises:
        AnalysisError: No completed trial, or a diagnosis that matches none of them.

    Example:
        >>> run = fitsweep.load("results/notmnist")  # doctest: +SKIP
        >>> capacity(run.trials, diagnose(run.epochs, run.trials))  # doctest: +SKIP
    """
    require_columns(trials, ["trial_id", "execution"], "trials")
    rows = with_derived_columns(completed(trials))
    require_rows(rows, 1, "capacity (completed trials)")
    rows, gaps = _gaps(rows, diagnosis)
    records = [
        {"capacity": size, "gap": gap, **_spearman(_column(rows, size), as_float(rows[gap]))}
        for size in _CAPACITY
        for gap in gaps
    ]
    return pd.DataFrame(records, columns=["capacity", "gap", "n", "spearman_rho", "p_value"])


def _gaps(rows: pd.DataFrame, diagnosis: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    if diagnosis is None:
        require_columns(rows, ["train_accuracy", "val_accuracy", "train_loss", "val_loss"], "trials")
        rows = rows.assign(
            accuracy_gap=as_float(rows["train_accuracy"]) - as_float(rows["val_accuracy"]),
            loss_gap=as_float(rows["val_loss"]) - as_float(rows["train_loss"]),
        )
        return rows, ["accuracy_gap", "loss_gap"]
    gaps = ["accuracy_gap", "loss_gap", "val_rise"]
    keys = [*trial_keys(rows), "execution"]
    require_columns(diagnosis, [*keys, *gaps], "diagnosis")
    key_types = {"trial_id": "string", "execution": "int64"}
    left = rows.drop(columns=[c for c in gaps if c in rows.columns]).astype(key_types)
    right = diagnosis[[*keys, *gaps]].astype(key_types)
    merged = left.merge(right, on=keys, how="inner")
    if merged.empty:
        raise AnalysisError("the diagnosis matches none of the completed trials; pass diagnose() of the same run")
    return merged, gaps


def _column(rows: pd.DataFrame, name: str) -> FloatArray:
    return as_float(rows[name]) if name in rows.columns else np.full(len(rows), np.nan)


def _spearman(x: FloatArray, y: FloatArray) -> dict[str, float]:
    from scipy import stats  # a second to import: loaded where a statistic needs it

    both = np.isfinite(x) & np.isfinite(y)
    x, y = x[both], y[both]
    result = {"n": int(both.sum()), "spearman_rho": math.nan, "p_value": math.nan}
    if len(x) < 3 or np.unique(x).size < 2 or np.unique(y).size < 2:
        return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny samples: scipy warns, the numbers still stand
        rho, p_value = stats.spearmanr(x, y)
    return {**result, "spearman_rho": float(rho), "p_value": float(p_value)}
