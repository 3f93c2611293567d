"""The moons group's epoch written in plain TensorFlow, as fitsweep's fused trainer runs it: the reference.

The same step as `_jax_epoch`, in the form of `fitsweep.families.dense._epoch`: one
`tf.function` (not converted by autograph) an epoch, a `tf.while_loop` over the full batches and
the last, shorter batch after it, a `GradientTape` over stacked variables, the penalty's gradient
written out; the optimizer is a plain SGD update (`assign_sub`) rather than Keras' optimizer.
Run in the project's virtual environment (TensorFlow); it does not import fitsweep.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import _harness
import _moons_group as group
import numpy as np

_harness.quiet_tensorflow()
import tensorflow as tf  # noqa: E402 - after silencing its start-up chatter

LAYOUT = group.stacks()


def hash32(z: Any) -> Any:
    return group.lowbias32(z, tf.bitwise.bitwise_xor, tf.bitwise.right_shift,
                           lambda value: tf.constant(value, tf.uint32))


def dropout(hidden: Any, stack: group.StackLayout, layer: int, step: Any) -> Any:
    first = stack.first_dropping
    if first == len(stack.seeds):
        return hidden
    rows, units = hidden.shape[1:]
    positions = tf.constant(np.arange(rows * units, dtype=np.uint32).reshape(1, rows, units))
    streams = hash32(tf.constant(stack.dropout_keys(layer)) + step)[:, None, None]
    keep = hash32(tf.bitwise.bitwise_xor(streams, positions)) >= tf.constant(stack.thresholds())[:, None, None]
    dropped = tf.where(keep, hidden[first:] * stack.scales(), tf.zeros_like(hidden[first:]))
    return tf.concat([hidden[:first], dropped], axis=0)


def logits(variables: list[list[Any]], x: Any, step: Any = None) -> Any:
    """Every member's logit, (members, rows): `x` (members, rows, 2) with dropout at `step`, or shared (rows, 2)."""
    outputs, start = [], 0
    for stack, weights in zip(LAYOUT, variables, strict=True):
        hidden = x if len(x.shape) == 2 else x[start:start + len(stack.seeds)]
        start += len(stack.seeds)
        last = len(weights) // 2 - 1
        for layer in range(last + 1):
            kernel, bias = weights[2 * layer], weights[2 * layer + 1]
            product = tf.einsum("bi,kio->kbo", hidden, kernel) if len(hidden.shape) == 2 else tf.matmul(hidden, kernel)
            hidden = product + bias
            if layer < last:
                hidden = tf.nn.relu(hidden)
                if step is not None:
                    hidden = dropout(hidden, stack, layer, step)
        outputs.append(hidden[..., 0])
    return tf.concat(outputs, axis=0)


def penalties(variables: list[list[Any]]) -> Any:
    return tf.concat([tf.add_n([tf.constant(stack.l1) * tf.reduce_sum(tf.abs(kernel), [1, 2])
                                + tf.constant(stack.l2) * tf.reduce_sum(tf.square(kernel), [1, 2])
                                for kernel in weights[0::2]])
                      for stack, weights in zip(LAYOUT, variables, strict=True)], axis=0)


class Epoch:
    """`Epoch()(e)`: trains epoch `e` of the group from its numpy-seeded start; running sums and measurement."""

    def __init__(self) -> None:
        x_train, y_train, x_val, y_val = group.moons()
        self.x, self.y = tf.constant(x_train), tf.constant(y_train)
        self.measured_x = tf.constant(np.concatenate([x_train, x_val]))
        self.measured_y = tf.constant(np.concatenate([y_train, y_val]))
        self.variables = [[tf.Variable(array) for array in arrays] for arrays in group.initial_weights()]
        self.flat = [variable for weights in self.variables for variable in weights]
        self.step = tf.Variable(0, dtype=tf.int64)
        self.run = tf.function(self._epoch, autograph=False)

    def __call__(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        sums, measured = self.run(tf.constant(group.row_orders(epoch)))
        return sums.numpy(), measured.numpy()

    def _step(self, orders: Any) -> Any:
        indices = tf.transpose(orders)  # (members, rows)
        x, y = tf.gather(self.x, indices), tf.gather(self.y, indices)
        with tf.GradientTape() as tape:
            z = logits(self.variables, x, tf.cast(self.step, tf.uint32))
            losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z)
            total = tf.reduce_sum(tf.reduce_mean(losses, axis=1))
        gradients = iter(tape.gradient(total, self.flat))
        penalty = penalties(self.variables)
        for stack, weights in zip(LAYOUT, self.variables, strict=True):
            for index, weight in enumerate(weights):
                gradient = next(gradients)
                if index % 2 == 0:
                    gradient += (tf.constant(stack.l1[:, None, None]) * tf.sign(weight)
                                 + tf.constant(2.0 * stack.l2[:, None, None]) * weight)
                weight.assign_sub(group.LEARNING_RATE * gradient)
        self.step.assign_add(1)
        rows = tf.cast(tf.shape(losses)[1], tf.float32)
        hits = tf.cast(tf.equal(z > 0, y > 0.5), tf.float32)
        return tf.stack([(tf.reduce_mean(losses, axis=1) + penalty) * rows, tf.reduce_sum(losses, axis=1),
                         tf.reduce_sum(hits, axis=1), tf.fill([group.n_members()], rows)])

    def _epoch(self, orders: Any) -> tuple[Any, Any]:
        full, rest = divmod(group.TRAIN_ROWS, group.BATCH)
        batches = tf.reshape(orders[:full * group.BATCH], [full, group.BATCH, group.n_members()])
        _, sums = tf.while_loop(lambda batch, _: batch < full,
                                lambda batch, sums: (batch + 1, sums + self._step(batches[batch])),
                                (tf.constant(0), tf.zeros([4, group.n_members()])))
        if rest:
            sums += self._step(orders[full * group.BATCH:])
        return sums, self._measure()

    def _measure(self) -> Any:
        z = logits(self.variables, self.measured_x)
        losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.broadcast_to(self.measured_y, z.shape), logits=z)
        hits = tf.cast(tf.equal(z > 0, self.measured_y > 0.5), tf.float32)
        train, val = slice(0, group.TRAIN_ROWS), slice(group.TRAIN_ROWS, None)
        return tf.stack([tf.reduce_mean(losses[:, train], 1), tf.reduce_mean(hits[:, train], 1),
                         tf.reduce_mean(losses[:, val], 1), tf.reduce_mean(hits[:, val], 1),
                         penalties(self.variables)], axis=1)


def matmul_rates() -> tuple[Any, Any]:
    """GFLOP/s of TensorFlow's batched matmul of the group's largest shapes: chained products, independent ones."""
    start, orthogonal, operands = (tf.constant(array) for array in group.matmul_operands())

    def chained(hidden: Any) -> Any:
        return tf.while_loop(lambda index, _: index < group.PRODUCTS,
                             lambda index, h: (index + 1, tf.matmul(h, orthogonal)), (tf.constant(0), hidden))[1]

    def independent(xs: Any) -> Any:
        return [tf.matmul(xs[index], orthogonal) for index in range(group.PRODUCTS)]

    chained, independent = tf.function(chained, autograph=False), tf.function(independent, autograph=False)
    chained(start).numpy()  # traced
    [product.numpy() for product in independent(operands)]
    return functools.partial(_rate, chained, start), functools.partial(_rate, independent, operands)


def _rate(function: Any, argument: Any) -> float:
    started = time.perf_counter()
    tf.nest.map_structure(lambda tensor: tensor.numpy(), function(argument))
    return group.matmul_gflop() / (time.perf_counter() - started)


def side(epochs: int) -> dict[str, Any]:
    chained, independent = matmul_rates()
    result = group.timed_epochs(Epoch(), chained, independent, epochs)
    return {**result, "versions": f"tensorflow {tf.__version__}"}
