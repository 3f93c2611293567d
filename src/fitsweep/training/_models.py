"""Which members train in one Keras model, and the fresh session every model starts in."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

import keras
import tensorflow as tf

__all__ = ["FUSION_KEYS", "MAX_FUSED_MEMBERS", "fresh_session", "fusion_key"]

# The hyperparameters every member of one fused model must share (with the number of epochs).
FUSION_KEYS = ("batch_size", "optimizer", "learning_rate")
# The most executions one fused model holds: past it a step's arithmetic, not its overhead, dominates.
MAX_FUSED_MEMBERS = 32


def fusion_key(values: Mapping[str, Any], epochs: int) -> tuple[Any, ...]:
    """Members with equal keys can train in one model."""
    return (*(values[name] for name in FUSION_KEYS), int(epochs))


def fresh_session() -> None:
    """Clear Keras' session (it runs a full garbage collection) for the next model, with deterministic ops.

    Op determinism makes one seed give one run on CPU, whoever asks for the training.

    When the caller has frozen long-lived objects (`gc.freeze`, as `SweepTuner.search` does for
    TensorFlow's and Keras' own), what survived this collection is long-lived as well (a sweep's
    trials and records): it is frozen too, so that the next model's collection walks only what
    was made since, not every trial of the sweep so far.
    """
    keras.backend.clear_session()
    tf.config.experimental.enable_op_determinism()
    if gc.get_freeze_count():
        gc.freeze()
