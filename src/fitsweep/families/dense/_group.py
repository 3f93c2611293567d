"""The members a fused model holds now, with its optimizer and traced epoch; and a smaller one without some.

A model rebuilt without members that stopped continues its survivors exactly: their weights, the
optimizer's state for them (its slots sliced along the member axis, its step count carried) and
the count of steps their dropout masks are drawn from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from fitsweep.data import Splits
from fitsweep.families.dense._epoch import Epoch, Measurement
from fitsweep.families.dense._networks import FusedNetworks
from fitsweep.families.dense._stack import architecture
from fitsweep.families.dense.network import optimizer_for
from fitsweep.training import Member
from fitsweep.training.heads import Head

__all__ = ["Group"]


class Group:
    """A fused model of `members[i]` for i in `indices` (in stack order), its optimizer, epoch and measurement."""

    def __init__(self, members: Sequence[Member], indices: list[int], splits: Splits, head: Head,
                 names: dict[tuple[Any, ...], str], own_rows: np.ndarray | None, step: tf.Variable,
                 weights: dict[tuple[Any, ...], list[np.ndarray]] | None = None) -> None:
        self.members, self.indices, self.splits, self.head = members, indices, splits, head
        self.names, self.own_rows, self.step = names, own_rows, step
        chosen = [members[index] for index in indices]
        self.model = FusedNetworks(chosen, splits, head, names, weights)
        self.optimizer = optimizer_for(chosen[0].values)
        self.optimizer.build(self.model.trainable_variables)  # now, not inside the first traced epoch
        own = None if own_rows is None else own_rows[indices]
        self.epoch = Epoch(self.model, self.optimizer, splits, [member.seed for member in chosen],
                           int(chosen[0].values["batch_size"]), own, step)
        self.measurement = Measurement(self.model, splits, own)
        n_measured = len(splits.y_train_measured)
        self.row_counts = ((len(splits.y_train), n_measured) if own_rows is None
                           else (own_rows.shape[1], min(n_measured, own_rows.shape[1])))

    @classmethod
    def first(cls, members: Sequence[Member], splits: Splits, head: Head) -> Group:
        """Every member, from its own initial weights."""
        names: dict[tuple[Any, ...], str] = {}
        for member in members:
            names.setdefault(architecture(member.values), f"stack_{len(names)}")
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        return cls(members, list(range(len(members))), splits, head, names, _own_rows(members), step)

    def without(self, leaving: set[int]) -> Group:
        """The same training without the members `leaving` (indices): a smaller model from here on."""
        kept = [index for index in self.indices if index not in leaving]
        places: dict[tuple[Any, ...], list[int]] = {}  # each stack's kept members, by place in it
        place = 0
        for shape, stack in zip(self.model.architectures, self.model.stacks, strict=True):
            for offset in range(stack.kernels[0].shape[0]):
                if self.indices[place + offset] not in leaving:
                    places.setdefault(shape, []).append(offset)
            place += stack.kernels[0].shape[0]
        weights = {shape: stack.kept_weights(places[shape])
                   for shape, stack in zip(self.model.architectures, self.model.stacks, strict=True) if shape in places}
        smaller = Group(self.members, kept, self.splits, self.head, self.names, self.own_rows, self.step, weights)
        kept_places = {f"{self.names[shape]}_": np.array(offsets) for shape, offsets in places.items()}
        _carry_optimizer_state(self.optimizer, smaller.optimizer, kept_places)
        return smaller


def _carry_optimizer_state(old: keras.optimizers.Optimizer, new: keras.optimizers.Optimizer,
                           kept: dict[str, np.ndarray]) -> None:
    """`new` continues `old`: scalars (its step count) carried, each stack's slots cut to its kept members.

    Keras names a slot after its weight's path (`stack_0/kernel_0` gives `stack_0_kernel_0_momentum`),
    and a rebuilt stack keeps its name, so a slot is found by name and its stack by the prefix.
    """
    values = {variable.name: variable.numpy() for variable in old.variables}
    for variable in new.variables:
        value = values[variable.name]
        prefixes = [prefix for prefix in kept if variable.name.startswith(prefix)]
        if prefixes:
            value = value[kept[prefixes[0]]]
        variable.assign(value)


def _own_rows(members: Sequence[Member]) -> np.ndarray | None:
    """Every member's own training rows as (members, rows), or None when all train on every row."""
    if all(member.rows is None for member in members):
        return None
    counts = {None if member.rows is None else len(member.rows) for member in members}
    if None in counts or len(counts) != 1 or 0 in counts:
        raise ValueError("members to train together must all have their own rows, as many each, or none")
    return np.array([member.rows for member in members], dtype="int64")
