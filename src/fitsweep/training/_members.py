"""What training takes and leaves: the executions to train ("members") and each one's outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from fitsweep.model import build_network, compile_network

__all__ = ["EpochListener", "Member", "Outcome"]


@dataclass(frozen=True)
class Member:
    """One execution to train: a trial's hyperparameter values and the execution's seed."""

    trial_id: str
    execution: int
    values: Mapping[str, Any]
    seed: int
    # The training rows it steps through (indices into the training split); None: every row. Its
    # training metrics are then measured on the first of them, as many as the measured rows.
    rows: tuple[int, ...] | None = None


@dataclass
class Outcome:
    """What training left of one member.

    `weights` are its network's weights at the best epoch, in Keras' order (None when it
    diverged); `summary` holds what is reported once per execution: test scores at the best
    epoch, weight statistics, row counts, the parameter count, `best_epoch` (or `diverged`), and
    `started_at` / `ended_at`: Unix times of its training's start and of its last epoch's end.
    """

    member: Member
    weights: list[np.ndarray] | None
    best_epoch: int
    best_value: float
    diverged_at: int | None
    summary: dict[str, float]
    n_features: int = 0
    n_classes: int = 2
    # The model itself, when it trained alone (`train_alone`): with its best epoch's weights.
    model: keras.Model | None = None

    def network(self) -> keras.Model:
        """The member as a compiled Keras model of its own, with its best epoch's weights."""
        if self.weights is None:
            raise ValueError(f"execution {self.member.execution} of trial {self.member.trial_id} diverged")
        if self.model is not None:
            return self.model
        model = build_network(self.member.values, self.n_features, self.n_classes)
        model.set_weights(self.weights)
        compile_network(model, self.member.values, self.n_classes)
        model.optimizer.build(model.trainable_variables)  # saved and loaded with all its (fresh) state
        return model


# Told after every epoch of every member still training: member, epoch, its record, its seconds.
EpochListener = Callable[[Member, int, dict[str, float], float], None]
