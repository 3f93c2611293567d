"""Fit-aware stopping (`tuner.stopping: verdict`): stop an execution once its verdict is settled.

`VerdictStopping` follows a sweep: the best validation levels every execution has reached so far
(the sweep's reachable level so far, `fitsweep.analysis.reachable_levels`' yardstick) and the
verdicts' settings. `train_executions` makes it the stopping of every `Selection` made while it
trains (a context variable: the fused trainer and `train_alone` make their `Selection`s
themselves), and feeds it each member's records; `Selection.judge` asks it, after each epoch,
whether the member's verdict is settled (`fitsweep.analysis.settled_verdict`).

The reachable level comes from what this process has trained, its fused partners included, and,
on resume, from the trials its oracle had completed. A worker of a chief sees only the trials it
trained itself: its reachable level is higher (later, less stopping), never lower.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from fitsweep.analysis import RowCounts, Settled, settled_verdict, verdict_settings
from fitsweep.analysis._reachable import Reachable
from fitsweep.analysis._settled import with_planned_trials
from fitsweep.data import Splits
from fitsweep.training._members import Member
from fitsweep.vocabulary import STOP_CODES

__all__ = ["STOP_CODES", "ActiveStopping", "Settled", "VerdictStopping", "active_stopping", "stopping_for"]

class VerdictStopping:
    """The reachable level a sweep has reached so far, and whether an execution's verdict is settled.

    Args:
        chance_loss: The task's chance-level loss (`fitsweep.analysis.chance_level_loss`).
        planned_trials: The trials the sweep will run: the final verdicts' Bonferroni count.
        objective: The record each execution's best epoch is chosen by.
        direction: "min" or "max".
    """

    def __init__(self, chance_loss: float | None, planned_trials: int, objective: str, direction: str) -> None:
        self.settings = verdict_settings(chance_loss)
        self.planned_trials = planned_trials
        self.objective, self.sign = objective, 1.0 if direction == "min" else -1.0
        # (trial, execution) -> (signed objective, validation cross-entropy, validation error) at its best epoch
        self.bests: dict[tuple[str, int], tuple[float, float, float]] = {}

    def observe(self, member: Member, record: Mapping[str, float]) -> None:
        """Take a member's epoch into the reachable level, where it is the member's best so far."""
        self.record(member.trial_id, member.execution, record)

    def record(self, trial_id: str, execution: int, record: Mapping[str, float]) -> None:
        value = self.sign * float(record.get(self.objective, math.nan))
        crossentropy, accuracy = record.get("val_crossentropy", math.nan), record.get("val_accuracy", math.nan)
        if not (math.isfinite(value) and math.isfinite(crossentropy)):
            return
        held = self.bests.get((trial_id, execution))
        if held is None or value < held[0]:
            self.bests[(trial_id, execution)] = (value, float(crossentropy), 1.0 - float(accuracy))

    def reachable(self) -> Reachable | None:
        """The lowest mean validation error and cross-entropy of a trial so far; None before two trials."""
        trials: dict[str, list[tuple[float, float]]] = {}
        for (trial_id, _), (_, crossentropy, error) in self.bests.items():
            trials.setdefault(trial_id, []).append((crossentropy, error))
        if len(trials) < 2:
            return None
        means = {trial: (_mean([c for c, _ in levels]), _mean([e for _, e in levels]))
                 for trial, levels in trials.items()}
        ce_trial = min(means, key=lambda trial: means[trial][0])
        error_trial = min(means, key=lambda trial: means[trial][1])
        reachable = Reachable(means[error_trial][1], 0.0, error_trial, means[ce_trial][0], 0.0, ce_trial,
                              len(trials), math.nan)
        return with_planned_trials(reachable, self.planned_trials)

    def settled(self, curve: Sequence[Mapping[str, float]], best: int, epochs: int, rows: RowCounts
                ) -> Settled | None:
        """`settled_verdict` of an execution's curve against the reachable level so far."""
        return settled_verdict(curve, best, self.reachable(), self.settings, epochs=epochs, rows=rows)


def _mean(values: list[float]) -> float:
    finite = [value for value in values if math.isfinite(value)]
    return sum(finite) / len(finite) if finite else math.nan


@dataclass(frozen=True)
class ActiveStopping:
    """The stopping of the executions `train_executions` trains now: the sweep's, their epochs and rows."""

    stopping: VerdictStopping
    epochs: int
    rows: RowCounts

    def settled(self, curve: Sequence[Mapping[str, float]], best: int) -> Settled | None:
        return self.stopping.settled(curve, best, self.epochs, self.rows)


_ACTIVE: contextvars.ContextVar[ActiveStopping | None] = contextvars.ContextVar("fitsweep_stopping", default=None)


def active_stopping() -> ActiveStopping | None:
    """The stopping of the executions training now (None: only divergence and patience stop them)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def stopping_for(stopping: VerdictStopping | None, epochs: int, splits: Splits) -> Iterator[None]:
    """Make `stopping` the one every `Selection` made meanwhile asks, for executions of `epochs` epochs."""
    rows = RowCounts(len(splits.y_train), len(splits.y_train_measured), len(splits.y_val))
    token = _ACTIVE.set(None if stopping is None else ActiveStopping(stopping, epochs, rows))
    try:
        yield
    finally:
        _ACTIVE.reset(token)

