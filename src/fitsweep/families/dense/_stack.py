"""Members of one architecture as one Keras layer: every weight carries a leading member axis.

A batched matmul runs all of them in the ops of one network. Each member keeps what makes it an
independent run: its own seeded initial weights (Keras' Glorot uniform, seeded per layer), its own
dropout rate and masks (drawn from its own seed, the layer and the step, whichever members it is
trained beside) and its own L1/L2 penalties. A stack can be rebuilt from some of its members'
current weights (`Stack.kept_weights`), so members that stopped training leave the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fitsweep.families.dense.network import hidden_widths, layer_seed
from fitsweep.training import Member

__all__ = ["Stack", "architecture"]


def architecture(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Members with equal architectures share one stack of batched weights."""
    return (tuple(hidden_widths(values)), values["activation"])


class Stack(keras.layers.Layer):
    """Members of one architecture: each layer's kernel is (members, inputs, units), its bias (members, units)."""

    def __init__(self, members: Sequence[Member], n_features: int, output_units: int, name: str,
                 weights: list[np.ndarray] | None = None) -> None:
        """`weights` (as `stacked_weights` gives them) continue members' training; else each starts afresh."""
        super().__init__(name=name)
        values = members[0].values
        widths = [*hidden_widths(values), output_units]
        sizes = list(zip([n_features, *widths[:-1]], widths, strict=True))
        self.activation = keras.activations.get(values["activation"])
        if weights is None:
            weights = [array for layer, (fan_in, units) in enumerate(sizes)
                       for array in (_initial_kernels(members, layer, (fan_in, units)),
                                     np.zeros((len(members), 1, units), "float32"))]
        self.kernels = [self._weight(weights[2 * layer], f"kernel_{layer}") for layer in range(len(sizes))]
        self.biases = [self._weight(weights[2 * layer + 1], f"bias_{layer}") for layer in range(len(sizes))]
        self.rates = [float(member.values["dropout"]) for member in members]
        self.seeds = [member.seed for member in members]
        l1 = np.array([float(member.values["l1"]) for member in members], "float32")
        l2 = np.array([float(member.values["l2"]) for member in members], "float32")
        self.l1 = tf.constant(l1) if l1.any() else None
        self.l2 = tf.constant(l2) if l2.any() else None

    def _weight(self, initial: np.ndarray, name: str) -> Any:
        return self.add_weight(shape=initial.shape, initializer=lambda shape, dtype=None: tf.constant(initial),
                               name=name)

    def call(self, x: Any, training: bool = False, step: Any = None) -> Any:
        """Every member's logits: the output layer before its sigmoid or softmax (a regression's linear output).

        `x` is (members, rows, features), or (rows, features) shared by every member.
        """
        hidden = x
        last = len(self.kernels) - 1
        for layer, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            if len(hidden.shape) == 2:
                hidden = tf.einsum("bi,kio->kbo", hidden, kernel) + bias
            else:
                hidden = tf.matmul(hidden, kernel) + bias
            if layer == last:
                return hidden
            hidden = self.activation(hidden)
            if training:
                hidden = self._dropout(hidden, layer, step)
        return hidden

    def _dropout(self, hidden: Any, layer: int, step: Any) -> Any:
        """Each dropping member's units zeroed where its draw falls below its rate, the rest scaled up.

        As Keras' Dropout: kept units times 1 / (1 - rate). Only the members from the first that
        drops on are drawn for (`train` puts those that drop last in their stack): a member
        without dropout costs no draws.
        """
        first = next((place for place, rate in enumerate(self.rates) if rate), None)
        if first is None:
            return hidden
        keys = tf.constant([layer_seed(seed, 1000 + layer) for seed in self.seeds[first:]], tf.uint64)
        bits = _member_bits(keys, step, tf.shape(hidden)[1:])
        # A draw is (bits >> 11) / 2**53; it is at least the rate exactly when bits reach this threshold.
        thresholds = [math.ceil(float(np.float32(rate)) * 2.0**53) << 11 for rate in self.rates[first:]]
        keep = bits >= tf.constant(thresholds, tf.uint64)[:, None, None]
        if first:
            keep = tf.concat([tf.ones(tf.concat([[first], tf.shape(keep)[1:]], 0), tf.bool), keep], axis=0)
        scale = tf.constant([1.0 / (1.0 - np.float32(rate)) for rate in self.rates], hidden.dtype)[:, None, None]
        return tf.where(keep, hidden * scale, tf.zeros_like(hidden))

    def penalty_terms(self) -> Any:
        """Each layer's L1/L2 penalty of each member: (layers, members), as Keras' L1L2 computes it."""
        terms = []
        for kernel in self.kernels:
            term = tf.zeros(kernel.shape[:1])
            if self.l1 is not None:
                term += self.l1 * tf.reduce_sum(tf.abs(kernel), axis=[1, 2])
            if self.l2 is not None:
                term += self.l2 * tf.reduce_sum(tf.square(kernel), axis=[1, 2])
            terms.append(term)
        return tf.stack(terms)

    def penalised_gradients(self, gradients: list[Any]) -> tuple[Any, list[Any]]:
        """Each member's L1/L2 penalty (members,), and the kernels' `gradients` with the penalty's own added.

        The penalty's gradient is written out, l1 sign(k) + 2 l2 k, as autodiff of Keras' L1L2 gives
        it: taped, the penalty cost a dozen passes over every kernel a step (abs, square, their
        sums, tiled gradients), as much as the step's matmuls.
        """
        members = self.kernels[0].shape[0]
        total, penalised = tf.zeros([members]), []
        for kernel, gradient in zip(self.kernels, gradients, strict=True):
            if self.l1 is not None:
                total += self.l1 * tf.reduce_sum(tf.abs(kernel), axis=[1, 2])
                gradient += self.l1[:, None, None] * tf.sign(kernel)
            if self.l2 is not None:
                total += self.l2 * tf.reduce_sum(tf.square(kernel), axis=[1, 2])
                gradient += (2.0 * self.l2)[:, None, None] * kernel
            penalised.append(gradient)
        return total, penalised

    @property
    def penalised(self) -> bool:
        return self.l1 is not None or self.l2 is not None

    def stacked_weights(self) -> list[np.ndarray]:
        """Every member's weights: kernel (members, inputs, units), bias (members, 1, units), ... per layer."""
        return [variable.numpy() for pair in zip(self.kernels, self.biases, strict=True) for variable in pair]

    def kept_weights(self, positions: Sequence[int]) -> list[np.ndarray]:
        """`stacked_weights` of only the members at `positions`: a smaller stack continues them."""
        return [array[list(positions)] for array in self.stacked_weights()]

    @staticmethod
    def member_weights(stacked: list[np.ndarray], position: int) -> list[np.ndarray]:
        """One member's weights from `stacked_weights`, in Keras' Dense order: kernel, bias, kernel, ..."""
        return [array[position, 0] if index % 2 else array[position] for index, array in enumerate(stacked)]

    def set_member_weights(self, position: int, weights: list[np.ndarray]) -> None:
        variables = [variable for pair in zip(self.kernels, self.biases, strict=True) for variable in pair]
        for variable, array in zip(variables, weights, strict=True):
            current = variable.numpy()
            current[position] = array.reshape(current.shape[1:])
            variable.assign(current)


def _initial_kernels(members: Sequence[Member], layer: int, size: tuple[int, int]) -> np.ndarray:
    """Keras' default kernel initializer (Glorot uniform), seeded per member and layer: (members, *size)."""
    return np.stack([np.asarray(keras.initializers.GlorotUniform(seed=layer_seed(member.seed, layer))(size))
                     for member in members]).astype("float32")


def _member_bits(keys: Any, step: Any, shape: Any) -> Any:
    """64 random bits for each position of `shape` and each member: (members, *shape), uint64.

    Member i's draws depend only on `keys[i]`, the step and the position, so its dropout masks
    are the same whichever members it is trained beside; all members' draws come from the same
    few vectorised ops. The bits are SplitMix64's (Steele, Lea and Flood, 2014), a counter-based
    generator: mix(mix(key + step) ^ position); a uniform draw in [0, 1) is (bits >> 11) / 2**53.
    """
    size = tf.reduce_prod(shape)
    positions = tf.reshape(tf.cast(tf.range(size, dtype=tf.int64), tf.uint64), tf.concat([[1], shape], 0))
    streams = _splitmix64(keys + tf.cast(step, tf.uint64))
    streams = tf.reshape(streams, tf.concat([[-1], tf.ones_like(shape)], 0))
    return _splitmix64(tf.bitwise.bitwise_xor(streams, positions))


def _splitmix64(z: Any) -> Any:
    def shift_xor(value: Any, bits: int) -> Any:
        return tf.bitwise.bitwise_xor(value, tf.bitwise.right_shift(value, tf.constant(bits, tf.uint64)))

    z = z + tf.constant(0x9E3779B97F4A7C15, tf.uint64)
    z = shift_xor(z, 30) * tf.constant(0xBF58476D1CE4E5B9, tf.uint64)
    z = shift_xor(z, 27) * tf.constant(0x94D049BB133111EB, tf.uint64)
    return shift_xor(z, 31)
