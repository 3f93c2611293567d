"""A regression's linear reference: what ordinary least squares, fitted on the training split, reaches on validation.

A linear regression is the cheapest model of a numeric target and the textbook yardstick for one
(on scikit-learn's diabetes data it explains about half the variance). The verdicts compare a
network against it when the sweep itself reaches nothing better, and read from it whether the
features predict the target at all: its gain over predicting the training mean is measured row
by row on the same validation rows, so its noise is that of a paired difference.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error, r2_score

from fitsweep.data.splits import Splits

__all__ = ["linear_reference"]


def linear_reference(splits: Splits) -> dict[str, float] | None:
    """The validation MSE of a linear regression fitted on the training split, and its noise; None for classes.

    Returns:
        `val_mse` (in the target's units), `val_mse_sd` (the spread of its rows' squared errors),
        `gain` (the validation MSE of predicting the training mean, minus `val_mse`) and `gain_se`
        (the standard error of that gain, from its rows' paired differences); and `val_r2`,
        `test_mse` and `test_r2` (R² against each split's own variance, as the tables' `val_r2` and
        `test_r2`), for the report to set beside the networks' scores.

    Example:
        >>> from fitsweep import parse_spec
        >>> from fitsweep.data import prepare_data
        >>> splits = prepare_data(parse_spec({"name": "d", "data": {"source": "diabetes"}}).data)
        >>> round(1 - linear_reference(splits)["val_mse"] / splits.target_variance, 2)
        0.53
    """
    if not splits.task.regression or len(splits.y_val) < 2:
        return None
    model = LinearRegression().fit(splits.x_train.astype("float64"), splits.y_train)
    val = model.predict(splits.x_val.astype("float64"))
    test = model.predict(splits.x_test.astype("float64"))
    squared = (val - splits.y_val) ** 2
    gains = (splits.y_train.mean() - splits.y_val) ** 2 - squared
    return {"val_mse": float(squared.mean()), "val_mse_sd": float(squared.std(ddof=1)),
            "gain": float(gains.mean()), "gain_se": float(gains.std(ddof=1) / np.sqrt(len(gains))),
            "val_r2": float(r2_score(splits.y_val, val)), "test_mse": float(mean_squared_error(splits.y_test, test)),
            "test_r2": float(r2_score(splits.y_test, test))}
