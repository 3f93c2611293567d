"""A network's output for its task: the units, activation and loss, and how the labels are fed to it.

Classification: one sigmoid unit for two classes, one softmax unit a class for more, trained on
the cross-entropy taken from the logits. Regression: one linear unit trained on Keras' mean
squared error, mean absolute error or Huber loss, on the target as it is or standardized by the
training split's mean and standard deviation (`data.standardize_target`); the network's output is
then in standardized units, and `predictions` turns it back into the target's own.

Every trainer (the fused Dense stacks, a model trained alone) and every builder takes the output
from here, so a network is the same whoever builds or trains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from fitsweep.data import Splits

__all__ = ["Head", "head_for", "REGRESSION_LOSSES"]

# `train.loss` -> Keras' loss class name (keras.losses), for regression.
REGRESSION_LOSSES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError", "huber": "Huber"}


@dataclass(frozen=True)
class Head:
    """The output of a network for a task.

    Example:
        >>> Head(n_classes=3).units, Head(n_classes=3).activation
        (3, 'softmax')
        >>> Head(n_classes=0, loss="huber").activation
        'linear'
    """

    n_classes: int  # 0 for regression
    loss: str = "crossentropy"  # crossentropy, or a regression loss of REGRESSION_LOSSES
    center: float = 0.0  # a regression target is trained as (y - center) / scale
    scale: float = 1.0

    @property
    def regression(self) -> bool:
        return self.n_classes == 0

    @property
    def binary(self) -> bool:
        return self.n_classes == 2

    @property
    def units(self) -> int:
        """Output units: one for a regression or two classes, else one a class."""
        return 1 if self.regression or self.binary else self.n_classes

    @property
    def activation(self) -> str:
        if self.regression:
            return "linear"
        return "sigmoid" if self.binary else "softmax"

    def keras_loss(self) -> Any:
        """The Keras loss a model of this head is compiled with."""
        import keras

        if self.regression:
            return getattr(keras.losses, REGRESSION_LOSSES[self.loss])()
        return "binary_crossentropy" if self.binary else "sparse_categorical_crossentropy"

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Labels as the loss takes them: float (rows, 1) for one unit (scaled for a regression), else indices."""
        if self.regression:
            return ((np.asarray(y, dtype="float64") - self.center) / self.scale).astype("float32").reshape(-1, 1)
        return y.astype("float32").reshape(-1, 1) if self.binary else y

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """A regression's outputs (rows, 1) in the target's own units, as a (rows,) array."""
        return np.asarray(outputs, dtype="float64").reshape(-1) * self.scale + self.center

    def sample_losses(self, y: Any, outputs: Any) -> Any:
        """Each row's training loss from the outputs before the activation (a tensor op; `y` from `labels`).

        Keras' own losses, with its reduction undone: per row, as Keras reduces them over a batch.
        """
        import keras

        if self.regression:
            loss = getattr(keras.losses, REGRESSION_LOSSES[self.loss])(reduction=None)
            return loss(y, outputs)
        if self.binary:
            return keras.losses.binary_crossentropy(y, outputs, from_logits=True)
        return keras.losses.sparse_categorical_crossentropy(y, outputs, from_logits=True)

    def row_measures(self, y: Any, outputs: Any) -> Any:
        """Each row's second running measure (a tensor op): whether it is classified right, or its squared error."""
        import tensorflow as tf

        if self.regression:  # in the target's own units, as every regression metric is reported
            return tf.square((outputs[..., 0] - y[..., 0]) * self.scale)
        if self.binary:  # probability above 0.5: a positive logit
            return tf.cast(tf.equal(tf.cast(outputs[..., 0] > 0, "float32"), y[..., 0]), "float32")
        return tf.cast(tf.equal(tf.argmax(outputs, axis=-1), tf.cast(y, "int64")), "float32")

    @property
    def running(self) -> dict[str, str]:
        """The running_* records of a fused member: name -> the sum it is the mean of (loss, data, rows)."""
        if self.regression:
            return {"loss": "loss", "mse": "row"}
        return {"loss": "loss", "accuracy": "row", "crossentropy": "data"}


def head_for(splits: Splits, loss: str = "auto") -> Head:
    """The head of networks for the data's task, with `train.loss` (auto: crossentropy or mse).

    Example:
        >>> head_for(splits).units  # doctest: +SKIP
        1
    """
    if splits.task.regression:
        return Head(0, "mse" if loss in ("auto", "crossentropy") else loss, splits.target_center, splits.target_scale)
    return Head(splits.n_classes)
