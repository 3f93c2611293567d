"""How a member's best epoch is chosen as it trains, and what it leaves when it ends.

The same for every trainer, fused or alone: after each epoch `Selection.judge` keeps or passes
over the member's weights and stops it on divergence, patience or, under `tuner.stopping:
verdict`, a settled verdict (`fitsweep.training.stopping`); `final_outcome` makes its `Outcome`
once it stops.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fitsweep.analysis import weight_stats
from fitsweep.data import Splits
from fitsweep.training._members import Member, Outcome
from fitsweep.training.stopping import STOP_CODES, ActiveStopping, Settled, active_stopping

if TYPE_CHECKING:
    import keras

__all__ = ["Progress", "Selection", "final_outcome"]


@dataclass(frozen=True)
class Selection:
    """How a member's best epoch is chosen, and when it stops."""

    objective: str | None
    direction: str
    patience: int | None
    # Made where the trainer makes its Selection: the stopping `train_executions` set for it.
    stopping: ActiveStopping | None = field(default_factory=active_stopping)

    def signed(self, record: Mapping[str, float]) -> float:
        if self.objective is None:
            return -math.inf  # every epoch is the best so far: the last is kept
        return (1.0 if self.direction == "min" else -1.0) * record[self.objective]

    def judge(self, state: Progress, epoch: int, record: Mapping[str, float]) -> bool:
        """Whether this epoch is the member's best so far; stops it on divergence, patience or a settled verdict."""
        if not all(math.isfinite(value) for value in record.values()):
            state.diverged_at, state.stopped = epoch, True
            return False
        value = self.signed(record)
        best = value < state.best_value or self.objective is None
        if best:
            state.best_value, state.best_epoch = value, epoch
        elif self.patience is not None and epoch - state.best_epoch >= self.patience:
            state.stopped = True
        if self.stopping is not None:
            self._settle(state, epoch, record)
        return best

    def _settle(self, state: Progress, epoch: int, record: Mapping[str, float]) -> None:
        """Stop the member, with its repeats, once their verdict is settled, saying which and why."""
        state.curve.append(record)
        if self.stopping is not None:
            self.stopping.settle(state, epoch)


@dataclass
class Progress:
    """One member's state during training."""

    key: tuple[str, int]  # its member's (trial, execution): whose repeats it is judged with
    best_value: float = math.inf
    best_epoch: int = -1
    best_weights: list[np.ndarray] | None = None
    diverged_at: int | None = None
    stopped: bool = False
    params: int = 0
    ended_at: float = 0.0  # Unix time of its last epoch's end
    curve: list[Mapping[str, float]] = field(default_factory=list)  # its records, kept for fit-aware stopping
    settled: Settled | None = None  # the verdict it was stopped for
    stopped_at: int | None = None


def final_outcome(member: Member, state: Progress, splits: Splits, summary: dict[str, float],
                  tested: Callable[[], tuple[dict[str, float], list[np.ndarray]]],
                  restore: Callable[[list[np.ndarray]], keras.Model]) -> Outcome:
    """A member's outcome: diverged, or its best epoch with the test scores and kernels `tested` gives.

    `summary` holds the row counts and `started_at`; the rest of what is reported once per
    execution is added here, the same for fused members and models trained alone. `restore`
    makes the member's compiled model from its best epoch's weights, should anyone ask for it.
    """
    summary = {**summary, "params": state.params, "ended_at": state.ended_at or time.time()}
    if state.settled is not None and state.stopped_at is not None:
        summary.update(stopped_at=float(state.stopped_at), stopped_for=STOP_CODES[state.settled.verdict])
    if state.diverged_at is not None or state.best_weights is None:
        # The epoch it diverged at is what marks its trial diverged (`fitsweep.results.tables.trial_status`).
        diverged = {} if state.diverged_at is None else {"diverged_at": float(state.diverged_at)}
        return Outcome(member, None, state.best_epoch, state.best_value, state.diverged_at, {**summary, **diverged})
    test, kernels = tested()
    weights = weight_stats(kernels) if kernels else dict.fromkeys(("l1_norm", "l2_norm", "near_zero_share"), math.nan)
    summary.update({
        "weight_l1": weights["l1_norm"], "weight_l2": weights["l2_norm"],
        "near_zero_share": weights["near_zero_share"],
        # loss and either accuracy and crossentropy, or a regression's mse, mae and r2 (no spreads: they are for epochs)
        **{f"test_{name}": value for name, value in test.items() if not name.endswith("_sd")},
        "best_epoch": state.best_epoch,
    })
    return Outcome(member, state.best_weights, state.best_epoch, state.best_value, None, summary,
                   functools.partial(restore, state.best_weights))
