"""The Keras model of one Dense trial: a network built from its hyperparameter values.

It is the network a trial's model is saved as; the sweep trains it stacked beside others
(`fitsweep.families.dense._fused`), whose layers compute the same function.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from fitsweep.space import decode_layers
from fitsweep.training.heads import Head

__all__ = [
    "build_model", "build_network", "compile_network", "hidden_widths", "layer_seed", "optimizer_for",
    "parameter_count", "restored_network",
]


def hidden_widths(values: Mapping[str, Any]) -> list[int]:
    """Widths of the hidden layers, from `layers` or from `depth` x `width`."""
    if "layers" in values:
        return decode_layers(values["layers"])
    return [int(values["width"])] * int(values["depth"])


def parameter_count(values: Mapping[str, Any], n_features: int, head: Head) -> int:
    """The weights and biases of the network `values` describe, without building it."""
    widths = [n_features, *hidden_widths(values), head.units]
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in itertools.pairwise(widths))


def build_network(values: Mapping[str, Any], n_features: int, head: Head) -> keras.Model:
    """The uncompiled Dense network a trial's hyperparameters describe.

    Each hidden layer is Dense(width, activation) followed by Dropout when `dropout` > 0. L1/L2
    penalties apply to the kernels of every Dense layer, output included. The output is the
    head's (`fitsweep.training.heads`): one sigmoid unit for two classes, softmax for more, one
    linear unit for a regression.
    """
    regularizer = _regularizer(float(values["l1"]), float(values["l2"]))
    inputs = keras.Input(shape=(n_features,))
    hidden = inputs
    for width in hidden_widths(values):
        hidden = keras.layers.Dense(width, activation=values["activation"], kernel_regularizer=regularizer)(hidden)
        if float(values["dropout"]) > 0:
            hidden = keras.layers.Dropout(float(values["dropout"]))(hidden)
    outputs = keras.layers.Dense(head.units, activation=head.activation, kernel_regularizer=regularizer)(hidden)
    return keras.Model(inputs, outputs)


def compile_network(model: keras.Model, values: Mapping[str, Any], head: Head,
                    steps_per_execution: int = 1) -> keras.Model:
    """Compile a network with the trial's optimizer, the head's loss and fitsweep's metrics."""
    # Keras adds L1/L2 penalties to `loss`; the crossentropy (mse) metric is the data's loss without them.
    metrics: list[Any] = ([keras.metrics.MeanSquaredError(name="mse")] if head.regression
                          else ["accuracy", _crossentropy(head.binary)])
    model.compile(optimizer=optimizer_for(values), loss=head.keras_loss(), metrics=metrics,
                  steps_per_execution=steps_per_execution)
    return model


def build_model(values: Mapping[str, Any], n_features: int, head: Head, steps_per_execution: int = 1
                ) -> keras.Model:
    """Build and compile the Dense network a trial's hyperparameters describe (`build_network`).

    Two classes are trained with binary cross-entropy, more with sparse categorical cross-entropy,
    a regression with its `train.loss` (the head's).

    Example:
        >>> model = build_model({"layers": "25-50-50-25", "activation": "relu", "dropout": 0.0,
        ...                      "l1": 0.0, "l2": 0.0, "optimizer": "sgd", "learning_rate": 0.01},
        ...                     n_features=2, head=Head(n_classes=2))
        >>> model.count_params()
        5226
    """
    network = build_network(values, n_features, head)
    return compile_network(network, values, head, steps_per_execution)


def restored_network(values: Mapping[str, Any], weights: list[np.ndarray], n_features: int, head: Head
                     ) -> keras.Model:
    """The compiled network with `weights` (in Keras' order), as a trial's model is saved."""
    model = build_network(values, n_features, head)
    model.set_weights(weights)
    compile_network(model, values, head)
    model.optimizer.build(model.trainable_variables)  # saved and loaded with all its (fresh) state
    return model


def optimizer_for(values: Mapping[str, Any]) -> keras.optimizers.Optimizer:
    """A fresh optimizer of the trial's kind and learning rate."""
    config = {"learning_rate": float(values["learning_rate"])}
    return keras.optimizers.get({"class_name": values["optimizer"], "config": config})


def layer_seed(seed: int, layer: int) -> int:
    """The seed of one layer's draws (initial kernel, dropout masks) in an execution seeded with `seed`."""
    return zlib.crc32(f"{seed}:{layer}".encode()) & 0x7FFFFFFF


def _crossentropy(binary: bool) -> keras.metrics.Metric:
    if binary:
        return keras.metrics.BinaryCrossentropy(name="crossentropy")
    return keras.metrics.SparseCategoricalCrossentropy(name="crossentropy")


def _regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    if l1 == 0 and l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)
