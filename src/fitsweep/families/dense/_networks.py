"""The fused model: stacks of members (`_stack.Stack`), and one optimizer step of all of them.

Members with the same layers form a stack whose weights carry a leading member axis, so a
batched matmul runs all of them in the ops of one network; one optimizer step serves every
member. Each member's loss is Keras' own, as the output head (`fitsweep.training.heads`) says:
the cross-entropy of its sigmoid or softmax output taken from the logits (as Keras takes it for a
Dense layer with that activation), so a saturated output still has a gradient and a learning
rate that sends Keras to NaN sends the member there too; or a regression's loss of its linear
output. The gradient of the sum of the members' losses, for each member's weights, is that member's
own; the optimizers fitsweep offers update each weight from its own gradient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fitsweep.data import Splits
from fitsweep.families.dense._stack import Stack, architecture
from fitsweep.training import Member
from fitsweep.training.heads import Head

__all__ = ["FusedNetworks", "RUNNING"]

# The running sums a step adds to, per member: the penalised loss, the data's loss and each row's
# measure (a hit, or a squared error: `Head.row_measures`), each summed over the step's rows; the rows.
RUNNING = ("loss", "data", "row", "rows")


class FusedNetworks(keras.Model):
    """Stacks of members, in member order; `names` names each architecture's stack.

    `weights` maps an architecture to its stack's weights (as `Stack.stacked_weights` gives them)
    to continue from; stacks without start afresh.
    """

    def __init__(self, members: Sequence[Member], splits: Splits, head: Head, names: Mapping[tuple[Any, ...], str],
                 weights: Mapping[tuple[Any, ...], list[np.ndarray]] | None = None) -> None:
        super().__init__(name="fused_networks")
        self.head = head
        self.n_members = len(members)
        groups: dict[tuple[Any, ...], list[Member]] = {}
        for member in members:
            groups.setdefault(architecture(member.values), []).append(member)
        self.architectures = list(groups)  # each stack's
        self.stacks = [Stack(group, splits.n_features, head.units, name=names[shape],
                             weights=(weights or {}).get(shape))
                       for shape, group in groups.items()]

    def call(self, x: Any, training: bool = False, step: Any = None) -> Any:
        """Every member's logits, (members, rows, outputs): of shared rows (rows, features), or of each
        member's own, (members, rows, features)."""
        if len(x.shape) == 2:
            return tf.concat([stack(x) for stack in self.stacks], axis=0)
        outputs, start = [], 0
        for stack in self.stacks:
            size = stack.kernels[0].shape[0]
            outputs.append(stack(x[start:start + size], training=training, step=step))
            start += size
        return tf.concat(outputs, axis=0)

    def train_on(self, x: Any, y: Any, optimizer: keras.optimizers.Optimizer, step: Any) -> Any:
        """One optimizer step on each member's rows `x` (members, rows, features), labels `y`.

        Returns the step's `RUNNING` sums, (4, members).
        """
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            logits = self(x, training=True, step=step)
            losses = self.head.sample_losses(y, logits)  # (members, rows)
            total = tf.reduce_sum(tf.reduce_mean(losses, axis=1))
        penalties, gradients = self._penalised(tape.gradient(total, variables))
        optimizer.apply(gradients, variables)
        rows = tf.cast(tf.shape(losses)[1], "float32")
        penalised = tf.reduce_mean(losses, axis=1) + penalties
        return tf.stack([penalised * rows, tf.reduce_sum(losses, axis=1),
                         tf.reduce_sum(self.head.row_measures(y, logits), axis=1), tf.fill([self.n_members], rows)])

    def _penalised(self, gradients: list[Any]) -> tuple[Any, list[Any]]:
        """Each member's penalty, and the gradients with the penalties' own added (`Stack.penalised_gradients`)."""
        by_variable = dict(zip((id(variable) for variable in self.trainable_variables), gradients, strict=True))
        penalties = []
        for stack in self.stacks:
            kernels = [by_variable[id(kernel)] for kernel in stack.kernels]
            penalty, penalised = stack.penalised_gradients(kernels)
            penalties.append(penalty)
            by_variable.update(zip((id(kernel) for kernel in stack.kernels), penalised, strict=True))
        return tf.concat(penalties, axis=0), [by_variable[id(variable)] for variable in self.trainable_variables]

    def positions(self) -> list[tuple[Stack, int]]:
        """Each member's stack and place in it, in member order."""
        return [(stack, position) for stack in self.stacks for position in range(stack.kernels[0].shape[0])]
