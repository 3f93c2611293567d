"""Fit-aware stopping (`tuner.stopping: verdict`): stop an execution once its verdict is settled.

`VerdictStopping` follows a sweep: the best validation levels every execution has reached so far
(the sweep's reachable level so far, `fitsweep.analysis.reachable_levels`' yardstick) and the
verdicts' settings. `train_executions` makes an `ActiveStopping` of it the stopping of every
`Selection` made while it trains (a context variable: the fused trainer and `train_alone` make
their `Selection`s themselves), and feeds it each member's records; after each epoch
`Selection.judge` hands it the member's state.

A configuration's repeats stop together, as the final verdicts judge them together
(`fitsweep.analysis.settled_repeats`): once every repeat still training has reached the epoch,
their verdict is read from all of them, and when it is settled all of them stop. Repeats trained
alone train one after another: the first trains to its end, and the others are judged with it.

The reachable level comes from what this process has trained, its fused partners included, and,
on resume, from the trials its oracle had completed. A worker of a chief sees only the trials it
trained itself: its reachable level is higher (later, less stopping), never lower.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from fitsweep.analysis import RowCounts, Settled, settled_repeats, verdict_settings
from fitsweep.analysis._reachable import Reachable
from fitsweep.analysis._settled import with_planned_trials
from fitsweep.data import Splits
from fitsweep.training._members import Member
from fitsweep.vocabulary import STOP_CODES

if TYPE_CHECKING:
    from fitsweep.training.selection import Progress

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

    def settled(self, curves: Sequence[Sequence[Mapping[str, float]]], bests: Sequence[int], epochs: int,
                rows: RowCounts) -> Settled | None:
        """`settled_repeats` of a configuration's repeats against the reachable level so far."""
        return settled_repeats(curves, bests, self.reachable(), self.settings, epochs=epochs, rows=rows)


def _mean(values: list[float]) -> float:
    finite = [value for value in values if math.isfinite(value)]
    return sum(finite) / len(finite) if finite else math.nan


Key = tuple[str, int]  # (trial, execution)


class ActiveStopping:
    """The stopping of the executions `train_executions` trains now: the sweep's, their epochs and rows.

    `observe` takes every member's record into the sweep's reachable level; `settle`, called by
    `Selection.judge` after the member's epoch, judges the member its state belongs to (`Progress.key`).
    """

    def __init__(self, stopping: VerdictStopping, epochs: int, rows: RowCounts, members: Sequence[Member]) -> None:
        self.stopping, self.epochs, self.rows = stopping, epochs, rows
        self.repeats: dict[str, list[Key]] = {}
        for member in members:
            self.repeats.setdefault(member.trial_id, []).append((member.trial_id, member.execution))
        self.states: dict[Key, Progress] = {}
        self.firsts: dict[Key, int] = {}  # each member's first epoch: its curve's start

    def observe(self, member: Member, record: Mapping[str, float]) -> None:
        """Take a member's record into the sweep's reachable level."""
        self.stopping.observe(member, record)

    def settle(self, state: Progress, epoch: int) -> None:
        """After a member's epoch: stop it and its repeats still training once their verdict is settled."""
        key = state.key
        self.states[key] = state
        self.firsts.setdefault(key, epoch - len(state.curve) + 1)
        keys = self.repeats.get(key[0], [key])
        if any(repeat not in self.states for repeat in keys):
            return  # a repeat not trained yet: it is judged with this one once it trains
        training = [self.states[repeat] for repeat in keys if self._training(self.states[repeat])]
        if not training or any(len(other.curve) < len(state.curve) for other in training):
            return  # a repeat has not reached this epoch yet: the last one to reach it decides
        finite = [repeat for repeat in keys if self.states[repeat].diverged_at is None]
        settled = self.stopping.settled([self.states[repeat].curve for repeat in finite],
                                        [self.states[repeat].best_epoch - self.firsts[repeat] for repeat in finite],
                                        self.epochs, self.rows)
        if settled is not None:
            for repeat in training:
                repeat.settled, repeat.stopped_at, repeat.stopped = settled, epoch, True

    def _training(self, state: Progress) -> bool:
        return not state.stopped and len(state.curve) < self.epochs


_ACTIVE: contextvars.ContextVar[ActiveStopping | None] = contextvars.ContextVar("fitsweep_stopping", default=None)


def active_stopping() -> ActiveStopping | None:
    """The stopping of the executions training now (None: only divergence and patience stop them)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def stopping_for(stopping: VerdictStopping | None, epochs: int, splits: Splits,
                 members: Sequence[Member]) -> Iterator[ActiveStopping | None]:
    """Make `stopping` the one every `Selection` made meanwhile asks, for `members` of `epochs` epochs."""
    rows = RowCounts(len(splits.y_train), len(splits.y_train_measured), len(splits.y_val))
    active = None if stopping is None else ActiveStopping(stopping, epochs, rows, members)
    token = _ACTIVE.set(active)
    try:
        yield active
    finally:
        _ACTIVE.reset(token)

