"""Importance: which hyperparameters move the validation loss (or the gap) the most?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fitsweep.analysis._common import (
    HYPERPARAMETERS, AnalysisError, FloatArray, as_float, completed, require_rows,
)

__all__ = ["importance", "MIN_ROWS"]

MIN_ROWS = 4
_DERIVED_TARGETS = {
    "accuracy_gap": ("train_accuracy", "val_accuracy"),  # train - val: positive when overfitting
    "loss_gap": ("val_loss", "train_loss"),  # val - train
}


def importance(
    trials: pd.DataFrame,
    target: str = "val_loss",
    *,
    seed: int = 0,
    n_estimators: int = 200,
    n_repeats: int = 10,
) -> pd.DataFrame:
    """Permutation importance of each hyperparameter for predicting `target`.

    A random forest learns `target` from the hyperparameters of the completed executions; a
    hyperparameter's importance is how much the forest's R^2 drops when that column is shuffled
    (mean and standard deviation over `n_repeats` shuffles). It is measured on the sweep's own
    trials, so it tells which settings the results depend on in this sweep, not a guarantee for
    other ranges. Strings (activation, optimizer, layers) are encoded as ordinal codes, which a
    forest can split as finely as one-hot columns while keeping one column per hyperparameter.
    Hyperparameters the sweep never varied are left out.

    Args:
        trials: The trials table; only completed rows with a finite target count.
        target: A numeric column ("val_loss", "test_accuracy", ...), or "accuracy_gap"
            (train_accuracy - val_accuracy) or "loss_gap" (val_loss - train_loss).
        seed: Seeds the forest and the shuffles, so the result is reproducible.
        n_estimators: Trees in the forest.
        n_repeats: Shuffles per hyperparameter.

    Returns:
        One row per varied hyperparameter, most important first: `hyperparameter`,
        `importance`, `std`.

    Raises:
        AnalysisError: Fewer than 4 usable rows, an unknown target, or no varied hyperparameter.

    Example:
        >>> run = fitsweep.load("results/moons")  # doctest: +SKIP
        >>> importance(run.trials, target="accuracy_gap").head(3)  # doctest: +SKIP
    """
    # scikit-learn takes a second to import; only this analysis needs it.
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    rows = completed(trials)
    y = _target(rows, target)
    rows, y = rows[np.isfinite(y)], y[np.isfinite(y)]
    require_rows(rows, MIN_ROWS, f"importance of {target} (completed trials with a finite {target})")
    features = _features(rows)
    forest = RandomForestRegressor(n_estimators=n_estimators, random_state=seed, n_jobs=1).fit(features, y)
    result = permutation_importance(forest, features, y, n_repeats=n_repeats, random_state=seed, n_jobs=1)
    table = pd.DataFrame({"hyperparameter": features.columns, "importance": result.importances_mean,
                          "std": result.importances_std})
    return table.sort_values("importance", ascending=False, ignore_index=True)


def _target(rows: pd.DataFrame, target: str) -> FloatArray:
    if target in _DERIVED_TARGETS:
        left, right = _DERIVED_TARGETS[target]
        _require(rows, [left, right], target)
        difference: FloatArray = as_float(rows[left]) - as_float(rows[right])
        return difference
    _require(rows, [target], target)
    if not (pd.api.types.is_numeric_dtype(rows[target]) or rows[target].isna().all()):
        raise AnalysisError(f"target {target!r} is not numeric; choose a loss, an accuracy or a gap")
    return as_float(rows[target])


def _require(rows: pd.DataFrame, columns: list[str], target: str) -> None:
    missing = [column for column in columns if column not in rows.columns]
    if missing:
        choices = ", ".join(["val_loss", "val_accuracy", "test_accuracy", *_DERIVED_TARGETS])
        raise AnalysisError(f"target {target!r} needs column(s) {', '.join(missing)}; try one of {choices}")


def _features(rows: pd.DataFrame) -> pd.DataFrame:
    """The varied hyperparameters, numbers as floats and strings as ordinal codes."""
    present = [name for name in HYPERPARAMETERS if name in rows.columns]
    varied = [name for name in present if rows[name].astype("string").nunique(dropna=False) > 1]
    if not varied:
        raise AnalysisError(
            f"no hyperparameter varies across these trials ({', '.join(present) or 'none found'}); "
            "importance needs a sweep over at least one of them"
        )
    return pd.DataFrame({name: _encode(rows[name]) for name in varied}, index=rows.index)


def _encode(values: pd.Series) -> FloatArray:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return np.nan_to_num(as_float(values), nan=-1.0)  # a missing value as its own level
    codes, _ = pd.factorize(values.astype("string"), sort=True)
    return np.asarray(codes, dtype=np.float64)
