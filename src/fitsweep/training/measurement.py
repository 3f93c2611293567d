"""How a model's fit is measured on a split: inference mode, with and without the L1/L2 penalty.

Keras' training logs are running averages over an epoch's batches, taken with dropout active
while the weights change, so "training minus validation" from them measures dropout and
averaging as much as generalisation. fitsweep measures the training rows, the validation split
and the test split in one way: the model in inference mode, at the end of the epoch, from the
predicted probabilities, or from the logits where the model's output layer is a sigmoid or a
softmax: Keras computes its cross-entropy from those logits too, so a saturated output costs what
Keras says it costs rather than the loss of a probability clipped at 1e-7. The cross-entropy comes
with the standard deviation of its per-sample values, so the analysis can tell a real difference
from the noise of a split of that size.

A regression is measured alike, from its linear output in the target's own units: the mean
squared and absolute errors, R² (1 - MSE / the rows' variance: 0 for predicting their mean), and
the standard deviation of the per-row squared errors (`mse_sd`), the regression's noise; `loss`
is the training loss (on the standardized target where `data.standardize_target`) plus the penalty.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from fitsweep.training.heads import Head

__all__ = ["measure", "penalty", "scores", "head_scores", "members_head_scores", "regression_scores", "MEASURES",
           "REGRESSION_MEASURES", "PROBABILITY_EPSILON"]

# Keras clips predicted probabilities to this before taking logarithms; so does fitsweep.
PROBABILITY_EPSILON = 1e-7
MEASURE_BATCH = 4096
# What `measure` returns, in the order of the epochs table.
MEASURES = ("loss", "accuracy", "crossentropy", "crossentropy_sd")
REGRESSION_MEASURES = ("loss", "mse", "mae", "r2", "mse_sd")
# Keras' Huber loss switches from squared to absolute error at this size of error (its default delta).
HUBER_DELTA = 1.0


def penalty(model: Any) -> float:
    """The model's L1/L2 penalty now: the part of Keras' `loss` that is not the data's cross-entropy."""
    compiled = _PENALTIES.get(model)
    if compiled is None:
        compiled = _PENALTIES[model] = _compile_penalty(model)
    return compiled()


def _compile_penalty(model: Any) -> Callable[[], float]:
    # Keras computes `model.losses` eagerly, a few milliseconds per call on every epoch; traced
    # once per model, the same sum over the current weights costs a fraction of that.
    if not model.losses:
        return lambda: 0.0
    import tensorflow as tf

    # Each layer's penalty comes back on its own and is summed in Python, as Keras' eager values are.
    losses = tf.function(lambda: list(model.losses))
    return lambda: sum(float(value) for value in losses())


_PENALTIES: weakref.WeakKeyDictionary[Any, Callable[[], float]] = weakref.WeakKeyDictionary()


def measure(
    model: Any, x: np.ndarray, y: np.ndarray, n_classes: int, model_penalty: float | None = None
) -> dict[str, float]:
    """Accuracy and cross-entropy of `model` on `(x, y)` in inference mode (dropout off).

    Args:
        model: A compiled Keras classifier (one sigmoid unit for two classes, softmax otherwise).
        x: Features.
        y: Integer class labels.
        n_classes: Number of classes.
        model_penalty: The L1/L2 penalty, when already computed (it does not depend on the rows).

    Returns:
        `loss` (cross-entropy plus the penalty, as Keras' `loss`), `accuracy`, `crossentropy`
        (without the penalty) and `crossentropy_sd` (the standard deviation of the per-sample
        cross-entropy; divided by the square root of the rows it is the standard error).

    Example:
        >>> scores = measure(model, splits.x_val, splits.y_val, splits.n_classes)  # doctest: +SKIP
        >>> sorted(scores)
        ['accuracy', 'crossentropy', 'crossentropy_sd', 'loss']
    """
    extra = penalty(model) if model_penalty is None else model_penalty
    return scores(_predict(model, x), y, n_classes, extra)


def scores(outputs: np.ndarray, y: np.ndarray, n_classes: int, model_penalty: float = 0.0, *,
           logits: bool = False) -> dict[str, float]:
    """`measure`'s scores from a model's outputs on the rows `y` labels.

    `outputs` are probabilities (rows, 1) of the positive class for two classes, else (rows,
    classes); with `logits=True` they are the logits before the sigmoid or softmax, and the
    cross-entropy is taken from them as Keras takes it (no clipping).

    Example:
        >>> scores(np.array([[0.9], [0.2]]), np.array([1, 0]), n_classes=2)["accuracy"]
        1.0
        >>> round(scores(np.array([[-30.0]]), np.array([1]), n_classes=2, logits=True)["crossentropy"], 3)
        30.0
    """
    per_sample = _per_sample_from_logits if logits else _per_sample
    losses, correct = per_sample(np.asarray(outputs, dtype="float64"), np.asarray(y).astype("int64"), n_classes)
    crossentropy = float(losses.mean())
    return {
        "loss": crossentropy + model_penalty,
        "accuracy": float(correct.mean()),
        "crossentropy": crossentropy,
        "crossentropy_sd": float(losses.std(ddof=1)) if len(losses) > 1 else 0.0,
    }


def head_scores(head: Head, outputs: np.ndarray, y: np.ndarray, model_penalty: float = 0.0, *,
                logits: bool = False) -> dict[str, float]:
    """The scores of a network with this output head: `scores` for classes, `regression_scores` for a target."""
    if head.regression:
        return regression_scores(head.predictions(outputs), y, head, model_penalty)
    return scores(outputs, y, head.n_classes, model_penalty, logits=logits)


def members_head_scores(head: Head, logits: np.ndarray, y: np.ndarray, penalties: np.ndarray
                        ) -> list[dict[str, float]]:
    """`head_scores` of many members at once, from their logits (members, rows, outputs): one dict each.

    `y` is the rows' labels (rows,), or each member's own (members, rows). A classifier's scores
    come from a few array operations over every member; each member's values are those
    `head_scores` gives it alone (each row of the arrays is reduced as the one member's would be).
    """
    labels = np.broadcast_to(np.asarray(y), logits.shape[:2])
    if head.regression:
        return [head_scores(head, outputs, rows, penalty) for outputs, rows, penalty
                in zip(logits, labels, penalties, strict=True)]
    losses, correct = _members_per_sample(np.asarray(logits, dtype="float64"), labels.astype("int64"), head.n_classes)
    crossentropies = losses.mean(axis=1)
    spreads = losses.std(axis=1, ddof=1) if losses.shape[1] > 1 else np.zeros(len(losses))
    accuracies = correct.mean(axis=1)
    return [{"loss": float(mean) + float(penalty), "accuracy": float(accuracy), "crossentropy": float(mean),
             "crossentropy_sd": float(spread)}
            for mean, spread, accuracy, penalty in zip(crossentropies, spreads, accuracies, penalties, strict=True)]


def _members_per_sample(logits: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """`_per_sample_from_logits` of every member: (members, rows) losses and hits."""
    if n_classes == 2:
        z = logits[..., 0]
        with np.errstate(invalid="ignore"):  # a diverged network's NaN logits give NaN losses
            return np.logaddexp(0.0, z) - y * z, (z > 0) == (y == 1)
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_normaliser = np.log(np.exp(shifted).sum(axis=2))
    picked = np.take_along_axis(shifted, y[..., None], axis=2)[..., 0]
    return log_normaliser - picked, logits.argmax(axis=2) == y


def regression_scores(predictions: np.ndarray, y: np.ndarray, head: Head, model_penalty: float = 0.0
                      ) -> dict[str, float]:
    """A regression's scores from its predictions in the target's own units.

    Example:
        >>> scored = regression_scores(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 5.0]), Head(0))
        >>> round(scored["mse"], 4), round(scored["r2"], 4)
        (0.6667, 0.8571)
    """
    target = np.asarray(y, dtype="float64").reshape(-1)
    errors = np.asarray(predictions, dtype="float64").reshape(-1) - target
    squared = errors**2
    mse = float(squared.mean())
    variance = float(target.var())
    with np.errstate(invalid="ignore", over="ignore"):  # a diverged network's NaN outputs give NaN scores
        return {
            "loss": _training_loss(errors / head.scale, head.loss) + model_penalty,
            "mse": mse,
            "mae": float(np.abs(errors).mean()),
            "r2": 1.0 - mse / variance if variance > 0 else float("nan"),
            "mse_sd": float(squared.std(ddof=1)) if len(squared) > 1 else 0.0,
        }


def _training_loss(errors: np.ndarray, loss: str) -> float:
    """Keras' MeanSquaredError, MeanAbsoluteError or Huber of these errors (in the units trained on)."""
    size = np.abs(errors)
    if loss == "mae":
        return float(size.mean())
    if loss == "huber":
        return float(np.where(size <= HUBER_DELTA, 0.5 * errors**2, HUBER_DELTA * (size - 0.5 * HUBER_DELTA)).mean())
    return float((errors**2).mean())


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    # predict_on_batch runs the model's compiled predict step: no per-call callbacks or progress.
    chunks = [np.asarray(model.predict_on_batch(x[start:start + MEASURE_BATCH]))
              for start in range(0, len(x), MEASURE_BATCH)]
    return np.concatenate(chunks).astype("float64")


def _per_sample(probabilities: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cross-entropy (nats, as Keras computes it) and whether it is classified right."""
    if n_classes == 2:
        positive = np.clip(probabilities.reshape(-1), PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)
        losses = -(y * np.log(positive) + (1 - y) * np.log(1 - positive))
        return losses, (probabilities.reshape(-1) > 0.5) == (y == 1)
    shares = probabilities / probabilities.sum(axis=1, keepdims=True)
    picked = np.clip(shares[np.arange(len(y)), y], PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)
    return -np.log(picked), probabilities.argmax(axis=1) == y


def _per_sample_from_logits(logits: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cross-entropy from logits, as Keras' sigmoid and softmax cross-entropies compute it."""
    if n_classes == 2:
        z = logits.reshape(-1)
        with np.errstate(invalid="ignore"):  # a diverged network's NaN logits give NaN losses
            return np.logaddexp(0.0, z) - y * z, (z > 0) == (y == 1)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_normaliser = np.log(np.exp(shifted).sum(axis=1))
    return log_normaliser - shifted[np.arange(len(y)), y], logits.argmax(axis=1) == y
