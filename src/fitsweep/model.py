"""The Keras model of one trial: a Dense network built from its hyperparameter values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from fitsweep.space import decode_layers

__all__ = ["build_model", "hidden_widths"]


def hidden_widths(values: Mapping[str, Any]) -> list[int]:
    """Widths of the hidden layers, from `layers` or from `depth` x `width`."""
    if "layers" in values:
        return decode_layers(values["layers"])
    return [int(values["width"])] * int(values["depth"])


def build_model(
    values: Mapping[str, Any], n_features: int, n_classes: int, steps_per_execution: int = 1
) -> keras.Model:
    """Build and compile the Dense network a trial's hyperparameters describe.

    Each hidden layer is Dense(width, activation) followed by Dropout when `dropout` > 0. L1/L2
    penalties apply to the kernels of every Dense layer, output included. Two classes get one
    sigmoid unit and binary cross-entropy; more get softmax and sparse categorical cross-entropy.

    Example:
        >>> model = build_model({"layers": "25-50-50-25", "activation": "relu", "dropout": 0.0,
        ...                      "l1": 0.0, "l2": 0.0, "optimizer": "sgd", "learning_rate": 0.01},
        ...                     n_features=2, n_classes=2)
        >>> model.count_params()
        5226
    """
    regularizer = _regularizer(float(values["l1"]), float(values["l2"]))
    inputs = keras.Input(shape=(n_features,))
    hidden = inputs
    for width in hidden_widths(values):
        hidden = keras.layers.Dense(width, activation=values["activation"], kernel_regularizer=regularizer)(hidden)
        if float(values["dropout"]) > 0:
            hidden = keras.layers.Dropout(float(values["dropout"]))(hidden)
    binary = n_classes == 2
    outputs = keras.layers.Dense(
        1 if binary else n_classes,
        activation="sigmoid" if binary else "softmax",
        kernel_regularizer=regularizer,
    )(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=_optimizer(values["optimizer"], float(values["learning_rate"])),
        loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
        # Keras adds L1/L2 penalties to `loss`; the crossentropy metric is the same loss without them.
        metrics=["accuracy", _crossentropy(binary)],
        steps_per_execution=steps_per_execution,
    )
    return model


def _crossentropy(binary: bool) -> keras.metrics.Metric:
    if binary:
        return keras.metrics.BinaryCrossentropy(name="crossentropy")
    return keras.metrics.SparseCategoricalCrossentropy(name="crossentropy")


def _regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    if l1 == 0 and l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


def _optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    return keras.optimizers.get({"class_name": name, "config": {"learning_rate": learning_rate}})
