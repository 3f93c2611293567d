"""A fused model's epoch as one traced call, and its end-of-epoch measurement as another.

`Epoch` draws every member's row order, steps through the batches in a loop inside the graph
(no Python per batch, no input pipeline) and returns each member's running averages over the
epoch's batches, with dropout active (Keras' training logs). `Measurement` then measures every
member in inference mode on its measured training rows and the validation split in one pass,
with its L1/L2 penalty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fitsweep import inputs
from fitsweep.data import Splits
from fitsweep.families.dense._networks import RUNNING, FusedNetworks
from fitsweep.training.measurement import MEASURE_BATCH

__all__ = ["Epoch", "Measurement"]


class Epoch:
    """One epoch of a fused model's training: `Epoch(...)(epoch)` gives each member's running averages.

    `step` counts the optimizer steps of the members' training so far (their dropout masks are
    drawn from it); a model rebuilt from a bigger one continues its count.
    """

    def __init__(self, model: FusedNetworks, optimizer: keras.optimizers.Optimizer, splits: Splits,
                 seeds: list[int], batch_size: int, own_rows: np.ndarray | None, step: tf.Variable) -> None:
        self.model, self.optimizer, self.step = model, optimizer, step
        self.x = tf.constant(splits.x_train, tf.float32)
        self.y = tf.constant(model.head.labels(splits.y_train))
        self.seeds, self.batch_size = seeds, batch_size
        self.own = None if own_rows is None else tf.constant(own_rows, tf.int64)
        self.n_rows = len(splits.x_train) if own_rows is None else own_rows.shape[1]
        # Not converted by autograph: its only loop is an explicit while loop, the rest is plain ops, and
        # converting every function a step calls made tracing a model about a second longer.
        self.train = tf.function(self._train, autograph=False)

    def __call__(self, epoch: int) -> dict[str, np.ndarray]:
        sums = self.train(tf.constant(epoch, tf.int64)).numpy()
        rows = sums[RUNNING.index("rows")]
        return {name: sums[RUNNING.index(slot)] / rows for name, slot in self.model.head.running.items()}

    def _train(self, epoch: Any) -> Any:
        orders = inputs.member_permutations(self.n_rows, self.seeds, epoch, self.own)  # (rows, members)
        full, rest = divmod(self.n_rows, self.batch_size)
        # Full batches in a loop, then the last, shorter one: every step's shapes are known when
        # traced, so the graph's shape arithmetic is folded away rather than run each step.
        batches = tf.reshape(orders[:full * self.batch_size], [full, self.batch_size, self.model.n_members])
        sums = tf.zeros([len(RUNNING), self.model.n_members])
        if full:
            _, sums = tf.while_loop(lambda batch, _: batch < full,
                                    lambda batch, sums: (batch + 1, sums + self._step(batches[batch])),
                                    (tf.constant(0), sums))
        if rest:
            sums += self._step(orders[full * self.batch_size:])
        return sums

    def _step(self, orders: Any) -> Any:
        indices = tf.transpose(orders)  # (members, batch rows)
        sums = self.model.train_on(tf.gather(self.x, indices), tf.gather(self.y, indices), self.optimizer, self.step)
        self.step.assign_add(1)
        return sums


class Measurement:
    """Every member's logits on its measured training rows and on the validation split, and its penalty.

    One traced call an epoch; `infer` gives every member's logits on any shared rows (the test split).
    """

    def __init__(self, model: FusedNetworks, splits: Splits, own_rows: np.ndarray | None) -> None:
        self.model, self.splits = model, splits
        # Members on their own rows measure the first of them, up to the measured count (fewer on a small subset).
        self.own = None if own_rows is None else own_rows[:, :len(splits.y_train_measured)]
        self.n_measured = len(splits.y_train_measured) if self.own is None else self.own.shape[1]
        self.infer = _inference(model, splits.n_features)
        penalised = any(stack.penalised for stack in model.stacks)
        self.terms = (tf.function(lambda: [stack.penalty_terms() for stack in model.stacks], autograph=False)
                      if penalised else None)
        if self.own is None:
            self.rows = np.concatenate([splits.x_train_measured, splits.x_val])
        else:  # each member's own measured rows, then the validation rows: (members, rows, features)
            val = np.broadcast_to(splits.x_val, (len(self.own), *splits.x_val.shape))
            self.rows = np.concatenate([splits.x_train[self.own], val], axis=1)
            self.predict = tf.function(lambda x: model(x, training=False), autograph=False)

    def __call__(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Logits on the measured training rows, their labels (members, rows), logits on validation, penalties."""
        splits = self.splits
        if self.own is None:
            logits = self.infer(self.rows)
            labels = np.broadcast_to(splits.y_train_measured, (self.model.n_members, self.n_measured))
        else:
            logits = self.predict(tf.constant(self.rows, tf.float32)).numpy().astype("float64")
            labels = splits.y_train[self.own]
        return logits[:, :self.n_measured], labels, logits[:, self.n_measured:], self.penalties()

    def penalties(self) -> np.ndarray:
        """Every member's L1/L2 penalty now; each layer's term summed in Python, as Keras' eager values are."""
        if self.terms is None:
            return np.zeros(self.model.n_members)
        return np.array([sum(float(term) for term in member_terms)
                         for stack_terms in self.terms() for member_terms in stack_terms.numpy().T])


def _inference(model: FusedNetworks, n_features: int) -> Callable[[np.ndarray], np.ndarray]:
    """Every member's logits on the same rows, (members, rows, outputs), from one traced function."""
    predict = tf.function(lambda x: model(x, training=False), autograph=False,
                          input_signature=[tf.TensorSpec((None, n_features), tf.float32)])

    def infer(x: np.ndarray) -> np.ndarray:
        chunks = [predict(tf.constant(x[start:start + MEASURE_BATCH], tf.float32)).numpy()
                  for start in range(0, len(x), MEASURE_BATCH)]
        return np.concatenate(chunks, axis=1).astype("float64")

    return infer
