"""The Dense family's fused trainer: executions ("members") of Dense networks trained as one Keras model.

Small networks spend their time in per-step and per-model overhead, not arithmetic. `train` takes
members that share the data, batch size, optimizer, learning rate and epochs and trains them as
one model (`_networks.FusedNetworks`): members with the same layers form a stack whose weights
carry a leading member axis, so a batched matmul runs all of them in the ops of one network, and
an epoch of every member is one traced call (`_epoch.Epoch`). The members share nothing else.
Each has its own seeded initial weights, its own dropout masks, its own shuffle order
(`inputs.member_permutations`), its own dropout rate and penalties, its own loss, its own early
stopping and best-epoch weights. So a member trains to the same weights alone as beside others,
and `train` with one member is the unfused path.

Each member's loss is Keras' own, as the output head (`fitsweep.training.heads`) says.

After each epoch every member is measured in inference mode on the measured training rows and
the validation split (`fitsweep.training.measurement.scores`, from the logits); Keras-style running
averages over the epoch's batches, with dropout active, are kept as `running_*`.

A member that stops (early, or diverged) leaves the arithmetic: when the steps it would still
cost outweigh a rebuild, the model is rebuilt without it (`Shedding`), its survivors continuing
from their weights and optimizer state, so a group's cost follows its live members.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fitsweep.data import Splits
from fitsweep.families.dense._group import Group
from fitsweep.families.dense._stack import Stack, architecture
from fitsweep.families.dense.network import parameter_count, restored_network
from fitsweep.training import EpochListener, Member, Outcome
from fitsweep.training.heads import Head
from fitsweep.training.measurement import head_scores, members_head_scores
from fitsweep.training.selection import Progress, Selection, final_outcome

__all__ = ["Shedding", "train"]


@dataclass(frozen=True)
class Shedding:
    """When members that stopped leave the fused model.

    At most every `interval` epochs, and only while the arithmetic they would still cost (their
    share of the model's weights x the epochs left x an epoch's time) is `payback` times what
    the last build of the model cost beyond an epoch (its tracing: a rebuild traces anew, and
    one epoch's time is a noisy estimate of it); `always` drops that condition. `on_rebuild` is
    told the number of members each rebuilt model holds.
    """

    interval: int = 5
    payback: float = 2.0
    always: bool = False
    on_rebuild: Callable[[int], None] | None = None


def train(
    members: Sequence[Member],
    splits: Splits,
    head: Head,
    *,
    epochs: int,
    objective: str | None = "val_crossentropy",
    direction: str = "min",
    patience: int | None = None,
    on_epoch: EpochListener | None = None,
    shedding: Shedding = Shedding(),
) -> list[Outcome]:
    """Train `members` together, each as if alone; one `Outcome` per member, in their order.

    A `fitsweep.training.FusedTrainer`: `train_executions` calls it (as `DenseFamily.train_fused`)
    with members that share `fusion_key`, in a fresh session.
    """
    order = sorted(range(len(members)), key=_stack_order(members))
    ordered = [members[index] for index in order]
    trainer = _Trainer(ordered, splits, head, Selection(objective, direction, patience), on_epoch, shedding)
    for epoch in range(epochs):
        trainer.run_epoch(epoch)
        if trainer.finished():
            break
        trainer.shed(epochs - epoch - 1)
    by_index = dict(zip(order, trainer.outcomes(), strict=True))
    return [by_index[index] for index in range(len(members))]


def _stack_order(members: Sequence[Member]) -> Callable[[int], tuple[Any, ...]]:
    """Members by architecture, those with dropout last, then by trial and execution.

    The same set makes the same model in any order; a stack draws dropout masks only from its
    first member with dropout on (`Stack._dropout`).
    """

    def key(index: int) -> tuple[Any, ...]:
        member = members[index]
        trial = (int(member.trial_id), "") if member.trial_id.isdigit() else (-1, member.trial_id)
        return (repr(architecture(member.values)), float(member.values["dropout"]) > 0, *trial, member.execution)

    return key


class _Trainer:
    """Every member's epochs: trains the group, measures its members, keeps their best weights, sheds."""

    def __init__(self, members: Sequence[Member], splits: Splits, head: Head, selection: Selection,
                 on_epoch: EpochListener | None, shedding: Shedding) -> None:
        self.members, self.splits, self.head, self.selection = members, splits, head, selection
        self.on_epoch, self.shedding = on_epoch, shedding
        self.group = Group.first(members, splits, head)
        self.progress = [Progress((member.trial_id, member.execution),
                                  params=parameter_count(member.values, splits.n_features, head)) for member in members]
        self.test_logits: dict[int, np.ndarray] = {}
        self.seconds: list[float] = []  # the current model's epochs
        self.started_at = time.time()

    def run_epoch(self, epoch: int) -> None:
        started = time.perf_counter()
        group, splits = self.group, self.splits
        running = group.epoch(epoch)
        train, labels, val, penalties = group.measurement()
        active = [(position, index) for position, index in enumerate(group.indices)
                  if not self.progress[index].stopped]
        self.seconds.append(time.perf_counter() - started)
        seconds = self.seconds[-1] / len(active)  # the epoch's time, shared
        positions = [position for position, _ in active]
        trained = members_head_scores(self.head, train[positions], labels[positions], penalties[positions])
        validated = members_head_scores(self.head, val[positions], splits.y_val, penalties[positions])
        improved = []
        for (position, index), train_scores, val_scores in zip(active, trained, validated, strict=True):
            record = {
                **train_scores,
                **{f"val_{name}": value for name, value in val_scores.items()},
                **{f"running_{name}": float(values[position]) for name, values in running.items()},
            }
            if self.on_epoch is not None:
                self.on_epoch(self.members[index], epoch, record, seconds)
            if self.selection.judge(self.progress[index], epoch, record):
                improved.append(position)
            self.progress[index].ended_at = time.time()
        self._keep_best(improved)

    def finished(self) -> bool:
        return all(self.progress[index].stopped for index in self.group.indices)

    def _keep_best(self, improved: list[int]) -> None:
        positions = self.group.model.positions()
        arrays: dict[int, list[np.ndarray]] = {}  # each stack's weights, read once an epoch
        for position in improved:
            stack, place = positions[position]
            if id(stack) not in arrays:  # not `setdefault`, which would read the weights for every member
                arrays[id(stack)] = stack.stacked_weights()
            self.progress[self.group.indices[position]].best_weights = Stack.member_weights(arrays[id(stack)], place)

    def shed(self, epochs_left: int) -> None:
        """Rebuild the model without the members that stopped, when `shedding` says it is worth it."""
        group = self.group
        stopped = [index for index in group.indices if self.progress[index].stopped]
        if not stopped or len(self.seconds) < self.shedding.interval:
            return
        if not self.shedding.always:
            if len(self.seconds) < 2:  # an epoch past the first (which traces) to weigh against
                return
            params = sum(self.progress[index].params for index in group.indices)
            share = sum(self.progress[index].params for index in stopped) / params
            epoch_seconds = statistics.median(self.seconds[1:])
            build_seconds = self.seconds[0] - epoch_seconds  # the first epoch's extra: tracing
            if share * epochs_left * epoch_seconds < self.shedding.payback * build_seconds:
                return
        self._retire(stopped)
        self.group = group.without(set(stopped))
        self.seconds = []
        if self.shedding.on_rebuild is not None:
            self.shedding.on_rebuild(self.group.model.n_members)

    def _retire(self, indices: list[int]) -> None:
        """Measure members on the test split with their best weights, before they leave the model."""
        group, chosen = self.group, set(indices)
        for (stack, place), index in zip(group.model.positions(), group.indices, strict=True):
            state = self.progress[index]
            if index in chosen and state.diverged_at is None and state.best_weights is not None:
                stack.set_member_weights(place, state.best_weights)
        test = group.measurement.infer(self.splits.x_test)
        for position, index in enumerate(group.indices):
            if index in chosen:
                self.test_logits[index] = test[position]

    def outcomes(self) -> list[Outcome]:
        """Each member's best weights restored, its test split measured, its summary; in member order."""
        self._retire(list(self.group.indices))
        splits = self.splits
        train_rows, measured_rows = self.group.row_counts
        sizes = {"train_rows": train_rows, "train_measured_rows": measured_rows,
                 "val_rows": len(splits.y_val), "test_rows": len(splits.y_test), "started_at": self.started_at}
        return [self._outcome(index, sizes) for index in range(len(self.members))]

    def _outcome(self, index: int, sizes: dict[str, Any]) -> Outcome:
        state, member, splits = self.progress[index], self.members[index], self.splits

        def tested() -> tuple[dict[str, float], list[np.ndarray]]:
            assert state.best_weights is not None  # `final_outcome` asks only a member that did not diverge
            tested = head_scores(self.head, self.test_logits[index], splits.y_test, logits=True)
            return tested, state.best_weights[0::2]

        restore = functools.partial(restored_network, member.values, n_features=splits.n_features, head=self.head)
        return final_outcome(member, state, splits, sizes, tested, restore)
