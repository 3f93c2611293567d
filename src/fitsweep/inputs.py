"""The rows each member of a fused model steps through: its own shuffle, drawn inside the traced epoch.

The fused model holds the training rows once and gathers each member's batch by index, so an
epoch's input is only each member's permutation of the row indices, drawn from its seed and the
epoch. Validation and test rows are measured after each epoch (`fitsweep.training`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

__all__ = ["member_permutations"]


def member_permutations(n_rows: int, seeds: Sequence[int], epoch: Any, rows: Any = None) -> Any:
    """One epoch of row indices per member, (n_rows, members); traceable, `epoch` an int64 tensor.

    Member i's order is a permutation of the rows drawn from `seeds[i]` and the epoch, so it is
    the same whichever members it is trained beside. With `rows` (members, n_rows), member i
    steps through its own rows `rows[i]`, in the order a permutation of `n_rows` positions puts
    them: as it would through a split of only those rows.
    """
    positions = tf.range(n_rows, dtype=tf.int64)
    permutations = [tf.random.experimental.stateless_shuffle(
        positions, seed=tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)])) for seed in seeds]
    if rows is not None:
        permutations = [tf.gather(rows[index], permutation) for index, permutation in enumerate(permutations)]
    return tf.stack(permutations, axis=1)
