"""The input path of every trial: per-member row orders from a prefetched `tf.data` pipeline.

Keras' per-step overhead dominates small models, so the pipeline carries only each member's row
indices (the fused model gathers the rows itself, from one copy) and the model runs several steps
per call (`steps_per_execution`). Validation and test rows are measured after each epoch
(`fitsweep.training`), not through a pipeline.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

__all__ = ["member_orders", "steps_per_execution"]

MAX_STEPS_PER_EXECUTION = 32


def member_orders(n_rows: int, batch_size: int, seeds: list[int], epoch: tf.Variable,
                  rows: np.ndarray | None = None) -> tf.data.Dataset:
    """One epoch of row indices per member, batched: elements `(batch, members)`.

    Member i's order is a permutation of the rows drawn from `seeds[i]` and the epoch (read from
    `epoch` when each epoch's iteration starts), so it is the same whichever members it is trained
    beside. The model gathers its rows by these indices, so the data is held once for all members.
    With `rows` (members, n_rows), member i steps through its own rows `rows[i]`, in the order a
    permutation of `n_rows` positions puts them: as it would through a split of only those rows.
    """
    own = None if rows is None else tf.constant(np.asarray(rows, dtype="int64"))

    def orders(_: tf.Tensor) -> tf.data.Dataset:
        positions = tf.range(n_rows, dtype=tf.int64)
        permutations = [tf.random.experimental.stateless_shuffle(positions,
                                                                 seed=tf.stack([tf.constant(seed, tf.int64),
                                                                                epoch.read_value()]))
                        for seed in seeds]
        if own is not None:
            permutations = [tf.gather(own[index], permutation) for index, permutation in enumerate(permutations)]
        return tf.data.Dataset.from_tensor_slices(tf.stack(permutations, axis=1)).batch(batch_size)

    batches = tf.data.Dataset.from_tensors(0).flat_map(orders)
    # Known length: Keras then starts each epoch on a fresh iteration, which draws that epoch's orders.
    batches = batches.apply(tf.data.experimental.assert_cardinality(math.ceil(n_rows / batch_size)))
    return batches.prefetch(tf.data.AUTOTUNE)


def steps_per_execution(n_samples: int, batch_size: int) -> int:
    """Steps per compiled call: up to 32, never more than one epoch's steps."""
    return max(1, min(MAX_STEPS_PER_EXECUTION, math.ceil(n_samples / batch_size)))
