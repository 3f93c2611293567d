"""Which members train in one Keras model, and the fresh session every model starts in.

Members fused in one model step through the same batches under one optimizer, so they share
`fusion_key`; a model holds at most `MAX_FUSED_MEMBERS`. Every model, fused or trained alone,
starts in `fresh_session`, the one place TensorFlow's op determinism is set.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import tensorflow as tf

from fitsweep.training._members import Member

__all__ = ["FUSION_KEYS", "MAX_FUSED_MEMBERS", "fresh_session", "fusion_groups", "fusion_key", "require_fusable"]

# The hyperparameters every member of one fused model must share (with the number of epochs).
FUSION_KEYS = ("batch_size", "optimizer", "learning_rate")
# The most executions one fused model holds: past it a step's arithmetic, not its overhead, dominates.
MAX_FUSED_MEMBERS = 32


def fusion_key(values: Mapping[str, Any], epochs: int) -> tuple[Any, ...]:
    """Members with equal keys can train in one model."""
    return (*(values[name] for name in FUSION_KEYS), int(epochs))


def fusion_groups(members: Sequence[Member], epochs: int, limit: int = MAX_FUSED_MEMBERS) -> list[list[Member]]:
    """The members split into models: by `fusion_key` in the order first met, at most `limit` a model.

    Example:
        >>> values = {"batch_size": 32, "optimizer": "adam", "learning_rate": 0.01}
        >>> members = [Member(str(trial), 0, values, seed=trial) for trial in range(3)]
        >>> [len(group) for group in fusion_groups(members, epochs=5, limit=2)]
        [2, 1]
    """
    groups: dict[tuple[Any, ...], list[Member]] = {}
    for member in members:
        groups.setdefault(fusion_key(member.values, epochs), []).append(member)
    return [group[start:start + limit] for group in groups.values() for start in range(0, len(group), limit)]


def require_fusable(members: Sequence[Member], epochs: int) -> None:
    """Raise `ValueError` unless the members can train in one model: some, all sharing `fusion_key`."""
    if not members or len({fusion_key(member.values, epochs) for member in members}) != 1:
        raise ValueError(f"members to train together must share {', '.join(FUSION_KEYS)} and epochs")


def fresh_session(seed: int) -> None:
    """Clear Keras' session (it runs a full garbage collection) for the next model, with deterministic ops.

    Op determinism makes one seed give one run on CPU, whoever asks for the training; `seed` seeds
    Python's, NumPy's and Keras' draws (`keras.utils.set_random_seed`).

    When the caller has frozen long-lived objects (`gc.freeze`, as `SweepTuner.search` does for
    TensorFlow's and Keras' own), what survived this collection is long-lived as well (a sweep's
    trials and records): it is frozen too, so that the next model's collection walks only what
    was made since, not every trial of the sweep so far.
    """
    keras.backend.clear_session()
    tf.config.experimental.enable_op_determinism()
    if gc.get_freeze_count():
        gc.freeze()
    keras.utils.set_random_seed(seed)
