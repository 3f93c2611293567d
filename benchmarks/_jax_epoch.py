"""The moons group's epoch written in JAX: one jitted call, a `lax.scan` over the batches, then the measurement.

The same step as fitsweep's fused trainer (`fitsweep.families.dense`) and `_tf_epoch`: every
member's batch gathered by its own row order, each stack's layers as batched matmuls, ReLU,
dropout where the member has it, sigmoid cross-entropy from the logits (as Keras'
`binary_crossentropy` takes it), the L1/L2 penalty's gradient written out (l1 sign(k) + 2 l2 k),
plain SGD; then every member in inference mode on the 720 measured and 180 validation rows.

The traced arithmetic goes through `ops`: `jax.numpy`, or with `use_keras_ops` Keras 3's
backend-neutral `keras.ops` under its JAX backend (as a Keras layer written for every backend
computes); differentiation, `jit` and the scan are JAX's either way. Run only in the JAX virtual
environment.
"""

from __future__ import annotations

import functools
import os
import time
from importlib import metadata
from typing import Any

import _moons_group as group
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

LAYOUT = group.stacks()
ops: Any = jnp


def use_keras_ops() -> None:
    """Trace through `keras.ops` (KERAS_BACKEND=jax) instead of `jax.numpy`."""
    global ops
    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    ops = keras.ops


def uint32(value: Any) -> Any:
    return ops.array(value, dtype="uint32")


def hash32(z: Any) -> Any:
    return group.lowbias32(z, ops.bitwise_xor, ops.right_shift, uint32)


def dropout(hidden: Any, stack: group.StackLayout, layer: int, step: Any) -> Any:
    """The dropping members' units zeroed where their bits fall below the threshold, the rest scaled up."""
    first = stack.first_dropping
    if first == len(stack.seeds):
        return hidden
    rows, units = hidden.shape[1:]
    positions = ops.reshape(ops.arange(rows * units, dtype="uint32"), (1, rows, units))
    streams = hash32(uint32(stack.dropout_keys(layer)) + step)[:, None, None]
    keep = hash32(ops.bitwise_xor(streams, positions)) >= uint32(stack.thresholds())[:, None, None]
    dropped = ops.where(keep, hidden[first:] * stack.scales(), 0.0)
    return ops.concatenate([hidden[:first], dropped])


def logits(params: list[list[Any]], x: Any, step: Any = None) -> Any:
    """Every member's logit, (members, rows): `x` (members, rows, 2) with dropout at `step`, or shared (rows, 2)."""
    outputs, start = [], 0
    for stack, weights in zip(LAYOUT, params, strict=True):
        hidden = x if x.ndim == 2 else x[start:start + len(stack.seeds)]
        start += len(stack.seeds)
        last = len(weights) // 2 - 1
        for layer in range(last + 1):
            kernel, bias = weights[2 * layer], weights[2 * layer + 1]
            product = ops.einsum("bi,kio->kbo", hidden, kernel) if hidden.ndim == 2 else ops.matmul(hidden, kernel)
            hidden = product + bias
            if layer < last:
                hidden = ops.maximum(hidden, 0.0)
                if step is not None:
                    hidden = dropout(hidden, stack, layer, step)
        outputs.append(hidden[..., 0])
    return ops.concatenate(outputs)


def sigmoid_crossentropy(labels: Any, z: Any) -> Any:
    """As `tf.nn.sigmoid_cross_entropy_with_logits`: max(z, 0) - z y + log(1 + exp(-|z|))."""
    return ops.maximum(z, 0.0) - z * labels + ops.log1p(ops.exp(-ops.abs(z)))


def penalties(params: list[list[Any]]) -> Any:
    """Each member's L1/L2 penalty over all its kernels, (members,)."""
    return ops.concatenate([sum(stack.l1 * ops.sum(ops.abs(kernel), axis=(1, 2))
                                + stack.l2 * ops.sum(ops.square(kernel), axis=(1, 2)) for kernel in weights[0::2])
                            for stack, weights in zip(LAYOUT, params, strict=True)])


def sgd(params: list[list[Any]], gradients: list[list[Any]]) -> list[list[Any]]:
    """One SGD step, each kernel's gradient with its penalty's added."""
    updated = []
    for stack, weights, grads in zip(LAYOUT, params, gradients, strict=True):
        l1, l2 = stack.l1[:, None, None], 2.0 * stack.l2[:, None, None]
        updated.append([weight - group.LEARNING_RATE * (grad + l1 * ops.sign(weight) + l2 * weight if index % 2 == 0
                                                       else grad)
                        for index, (weight, grad) in enumerate(zip(weights, grads, strict=True))])
    return updated


class Epoch:
    """`Epoch()(e)`: trains epoch `e` of the group from its numpy-seeded start; running sums and measurement."""

    def __init__(self) -> None:
        x_train, y_train, x_val, y_val = group.moons()
        self.x, self.y = jnp.asarray(x_train), jnp.asarray(y_train)
        self.measured_x = jnp.asarray(np.concatenate([x_train, x_val]))
        self.measured_y = jnp.asarray(np.concatenate([y_train, y_val]))
        self.params = jax.tree.map(jnp.asarray, group.initial_weights())
        self.step = jnp.uint32(0)
        self.run = jax.jit(self._epoch, donate_argnums=0)

    def __call__(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        self.params, self.step, sums, measured = self.run(self.params, jnp.asarray(group.row_orders(epoch)), self.step)
        return np.asarray(sums), np.asarray(measured)

    def _step(self, params: list[list[Any]], indices: Any, step: Any) -> tuple[list[list[Any]], Any]:
        x, y = ops.take(self.x, indices, axis=0), ops.take(self.y, indices, axis=0)

        def total(params: list[list[Any]]) -> tuple[Any, Any]:
            z = logits(params, x, step)
            losses = sigmoid_crossentropy(y, z)
            return ops.sum(ops.mean(losses, axis=1)), (z, losses)

        gradients, (z, losses) = jax.grad(total, has_aux=True)(params)
        rows = float(indices.shape[1])
        hits = ops.where((z > 0) == (y > 0.5), 1.0, 0.0)
        sums = ops.stack([(ops.mean(losses, axis=1) + penalties(params)) * rows, ops.sum(losses, axis=1),
                          ops.sum(hits, axis=1), ops.full(losses.shape[:1], rows)])
        return sgd(params, gradients), sums

    def _epoch(self, params: list[list[Any]], orders: Any, step: Any) -> tuple[Any, ...]:
        full, rest = divmod(group.TRAIN_ROWS, group.BATCH)
        batches = orders[:full * group.BATCH].reshape(full, group.BATCH, -1).transpose(0, 2, 1)

        def body(carry: tuple[Any, Any], indices: Any) -> tuple[tuple[Any, Any], Any]:
            params, step = carry
            params, sums = self._step(params, indices, step)
            return (params, step + 1), sums

        (params, step), sums = lax.scan(body, (params, step), batches)
        sums = sums.sum(0)
        if rest:
            params, last = self._step(params, orders[full * group.BATCH:].T, step)
            sums, step = sums + last, step + 1
        return params, step, sums, self._measure(params)

    def _measure(self, params: list[list[Any]]) -> Any:
        """(members, 5): measured loss and accuracy, validation loss and accuracy, penalty; inference mode."""
        z = logits(params, self.measured_x)
        losses = sigmoid_crossentropy(self.measured_y, z)
        hits = ops.where((z > 0) == (self.measured_y > 0.5), 1.0, 0.0)
        train, val = slice(0, group.TRAIN_ROWS), slice(group.TRAIN_ROWS, None)
        return ops.stack([ops.mean(losses[:, train], axis=1), ops.mean(hits[:, train], axis=1),
                          ops.mean(losses[:, val], axis=1), ops.mean(hits[:, val], axis=1), penalties(params)], axis=1)


def matmul_rates() -> tuple[Any, Any]:
    """GFLOP/s of JAX's batched matmul of the group's largest shapes: chained products, independent ones."""
    start, orthogonal, operands = (jnp.asarray(array) for array in group.matmul_operands())
    chained = jax.jit(lambda hidden: lax.fori_loop(0, group.PRODUCTS, lambda _, h: jnp.matmul(h, orthogonal), hidden))
    independent = jax.jit(lambda xs: [jnp.matmul(xs[index], orthogonal) for index in range(group.PRODUCTS)])
    jax.block_until_ready((chained(start), independent(operands)))  # compiled
    return (functools.partial(_rate, chained, start), functools.partial(_rate, independent, operands))


def _rate(function: Any, argument: Any) -> float:
    started = time.perf_counter()
    jax.block_until_ready(function(argument))
    return group.matmul_gflop() / (time.perf_counter() - started)


def side(epochs: int, keras_ops: bool = False) -> dict[str, Any]:
    if keras_ops:
        use_keras_ops()
    chained, independent = matmul_rates()
    result = group.timed_epochs(Epoch(), chained, independent, epochs)
    versions = [f"{package} {metadata.version(package)}" for package in ("jax", "jaxlib", "keras", "numpy")]
    return {**result, "versions": ", ".join(versions)}
