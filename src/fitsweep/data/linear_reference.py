"""A run's linear reference: what a linear model, fitted on the training split, reaches on validation.

A linear model is the cheapest model of the data and the textbook yardstick for a network: a
network that fits its own training rows worse than a linear model predicts unseen ones
underfits, whatever the rest of the sweep did. A regression's is ordinary least squares (on
scikit-learn's diabetes data it explains about half the variance); its gain over predicting the
training mean is measured row by row on the same validation rows, so its noise is that of a
paired difference. A classification's is a logistic regression (L2, C = 1, scikit-learn's
defaults), fitted on at most `_MOST_ROWS` training rows and to a looser tolerance, so that it
costs a fraction of a second, not a minute: a weaker fit only makes it a lower yardstick, which
can never call a network underfit that is not.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import mean_squared_error, r2_score

from fitsweep.data.splits import Splits

__all__ = ["linear_reference"]

_MOST_ROWS = 5_000
# Ten times scikit-learn's default, and at most 30 iterations: on the digits 23 instead of 77 (0.3 s, not
# 1.1; validation cross-entropy 0.186, not 0.175), on notMNIST's 784 features 1.4 s instead of 3.9 (validation
# accuracy 0.891, not 0.876). A yardstick need not be the best logistic fit.
_TOLERANCE = 1e-3
_MOST_ITERATIONS = 30
# Keras clips probabilities at this before taking their logarithm: the same cross-entropy as the networks'.
_EPSILON = 1e-7


def linear_reference(splits: Splits) -> dict[str, float] | None:
    """What a linear model fitted on the training split reaches on the validation (and test) split.

    Returns:
        A regression's: `val_mse` (in the target's units), `val_mse_sd` (the spread of its rows'
        squared errors), `gain` (the validation MSE of predicting the training mean, minus
        `val_mse`) and `gain_se` (the standard error of that gain, from its rows' paired
        differences); and `val_r2`, `test_mse` and `test_r2` (R² against each split's own
        variance, as the tables' `val_r2` and `test_r2`), for the report to set beside the
        networks' scores. A classification's: `val_crossentropy`, `val_crossentropy_sd` (the
        spread of its rows' cross-entropies), `val_accuracy`, `test_crossentropy` and
        `test_accuracy`. None with fewer than two validation rows, or training rows of one class.

    Example:
        >>> from fitsweep import parse_spec
        >>> from fitsweep.data import prepare_data
        >>> splits = prepare_data(parse_spec({"name": "d", "data": {"source": "diabetes"}}).data)
        >>> round(1 - linear_reference(splits)["val_mse"] / splits.target_variance, 2)
        0.53
    """
    if len(splits.y_val) < 2:
        return None
    return _least_squares(splits) if splits.task.regression else _logistic(splits)


def _least_squares(splits: Splits) -> dict[str, float]:
    model = LinearRegression().fit(splits.x_train.astype("float64"), splits.y_train)
    val = model.predict(splits.x_val.astype("float64"))
    test = model.predict(splits.x_test.astype("float64"))
    squared = (val - splits.y_val) ** 2
    gains = (splits.y_train.mean() - splits.y_val) ** 2 - squared
    return {"val_mse": float(squared.mean()), "val_mse_sd": float(squared.std(ddof=1)),
            "gain": float(gains.mean()), "gain_se": float(gains.std(ddof=1) / np.sqrt(len(gains))),
            "val_r2": float(r2_score(splits.y_val, val)), "test_mse": float(mean_squared_error(splits.y_test, test)),
            "test_r2": float(r2_score(splits.y_test, test))}


def _logistic(splits: Splits) -> dict[str, float] | None:
    rows = np.sort(np.random.default_rng(0).permutation(len(splits.y_train))[:_MOST_ROWS])
    x, y = splits.x_train[rows].astype("float64"), splits.y_train[rows]
    if len(np.unique(y)) < 2:
        return None
    with warnings.catch_warnings():  # a yardstick stopped short of convergence is only a weaker one
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(tol=_TOLERANCE, max_iter=_MOST_ITERATIONS).fit(x, y)
    reference = {}
    for split, features, labels in (("val", splits.x_val, splits.y_val), ("test", splits.x_test, splits.y_test)):
        entropies, right = _scored(model, features.astype("float64"), labels)
        reference[f"{split}_crossentropy"] = float(entropies.mean())
        reference[f"{split}_accuracy"] = float(right.mean())
        if split == "val":
            reference["val_crossentropy_sd"] = float(entropies.std(ddof=1))
    return reference


def _scored(model: LogisticRegression, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cross-entropy (a class the model never saw has probability 0, clipped) and whether it is right."""
    probabilities = np.zeros((len(y), int(max(y.max(), model.classes_.max())) + 1))
    probabilities[:, model.classes_] = model.predict_proba(x)
    truth = probabilities[np.arange(len(y)), y]
    return -np.log(np.clip(truth, _EPSILON, 1.0)), probabilities.argmax(axis=1) == y
