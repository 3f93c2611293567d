"""What training takes and leaves: the executions to train ("members") and each one's outcome."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import keras

    from fitsweep.data import Splits

__all__ = ["EpochListener", "FusedTrainer", "Member", "Outcome"]


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
    epoch, weight statistics, row counts, the parameter count, `best_epoch` (or `diverged_at`), and
    `started_at` / `ended_at`: Unix times of its training's start and of its last epoch's end.
    """

    member: Member
    weights: list[np.ndarray] | None
    best_epoch: int
    best_value: float
    diverged_at: int | None
    summary: dict[str, float]
    # Makes its compiled Keras model with the best epoch's weights, when `network` asks: the model
    # itself when it trained alone; a fused member's is built anew, which a sweep asks of few.
    restore: Callable[[], keras.Model] | None = None

    def network(self) -> keras.Model:
        """The member as a compiled Keras model of its own, with its best epoch's weights."""
        if self.weights is None or self.restore is None:
            raise ValueError(f"execution {self.member.execution} of trial {self.member.trial_id} diverged")
        return self.restore()


# Told after every epoch of every member still training: member, epoch, its record, its seconds.
EpochListener = Callable[[Member, int, dict[str, float], float], None]


class FusedTrainer(Protocol):
    """A family's trainer of members stacked in one model, each as if alone (`ModelFamily.train_fused`).

    `train_executions` calls it with members that share `fusion_key`, in a fresh session
    (`fitsweep.training._models.fresh_session`); it returns one `Outcome` per member, in their
    order, and tells `on_epoch` each member's record after each epoch. A member's best epoch is
    chosen, and it stops, as `fitsweep.training.selection` says.
    """

    def __call__(self, members: Sequence[Member], splits: Splits, *, epochs: int, objective: str | None,
                 direction: str, patience: int | None, on_epoch: EpochListener | None) -> list[Outcome]: ...
