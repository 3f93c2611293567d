"""The one door that trains fitsweep's networks: `train_executions`, fused into one model or each alone.

Every caller (the sweep, the learning curve, a retrained trial) trains through it, so a network
trains the same way whoever asks, and the choice between fused and alone is made here only: a
family that stacks its networks trains them with its own `train_fused` (the Dense family's
stacks, `fitsweep.families.dense`); any other family's compiled models train one at a time
(`train_alone`). Either way each member is measured after every epoch in inference mode
(`fitsweep.training.measurement`), its best epoch chosen alike (`fitsweep.training.selection`),
and each model starts in a fresh, deterministic session.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fitsweep.data import Splits
from fitsweep.training._alone import ModelError, check_model, train_alone
from fitsweep.training._members import EpochListener, FusedTrainer, Member, Outcome
from fitsweep.training._models import MAX_FUSED_MEMBERS, fresh_session, fusion_groups, fusion_key, require_fusable
from fitsweep.training.stopping import ActiveStopping, VerdictStopping, stopping_for

if TYPE_CHECKING:
    import keras

    from fitsweep.families import ModelFamily

__all__ = [
    "MAX_FUSED_MEMBERS", "EpochListener", "FusedTrainer", "Member", "ModelError", "Outcome", "check_model",
    "fusion_groups", "fusion_key", "train_alone", "train_executions", "VerdictStopping",
]


def train_executions(
    members: Sequence[Member],
    splits: Splits,
    family: ModelFamily,
    *,
    build: Callable[[Member], keras.Model] | None = None,
    epochs: int,
    objective: str | None = "val_crossentropy",
    direction: str = "min",
    patience: int | None = None,
    on_epoch: EpochListener | None = None,
    stopping: VerdictStopping | None = None,
) -> list[Outcome]:
    """Train executions as a sweep does: in one model by the family's `train_fused`, or each alone.

    Args:
        members: The executions; where the family fuses, they must share `fusion_key`
            (`fusion_groups` splits any into such groups).
        splits: The data; training rows feed the steps, measured rows and validation the records.
        family: The sweep's model family (`fitsweep.families.family_for`).
        build: The compiled model of a member trained alone; by default the family's
            `build(member.values, splits)`.
        epochs: Epochs to train (each member stops earlier on divergence or patience).
        objective: The record a member's best epoch is chosen by; None keeps the last epoch.
        direction: "min" or "max" for the objective.
        patience: Stop a member this many epochs after its best; None trains every epoch.
        on_epoch: Told each member's record after each epoch.
        stopping: The sweep's fit-aware stopping (`tuner.stopping: verdict`): told every record, it
            stops a member whose verdict is settled; None stops on divergence and patience only.

    Returns:
        One `Outcome` per member, in their order.

    Example:
        >>> [outcome] = train_executions([Member("0", 0, values, seed=7)], splits, family, epochs=5)  # doctest: +SKIP
        >>> outcome.summary["test_accuracy"]  # doctest: +SKIP
    """
    with stopping_for(stopping, epochs, splits, members) as active:
        listener = on_epoch if active is None else _observed(active, on_epoch)
        if family.train_fused is not None:
            require_fusable(members, epochs)
            fresh_session(0)  # every draw of a fused member is seeded by its own seed; this fixes anything else
            return family.train_fused(members, splits, epochs=epochs, objective=objective, direction=direction,
                                      patience=patience, on_epoch=listener)
        made = build or (lambda member: family.build(member.values, splits))
        head = family.head(splits)
        return [train_alone(member, functools.partial(made, member), splits, epochs=epochs,
                            batch_size=int(member.values["batch_size"]), objective=objective, direction=direction,
                            patience=patience, on_epoch=listener, head=head)
                for member in members]


def _observed(stopping: ActiveStopping, on_epoch: EpochListener | None) -> EpochListener:
    """`on_epoch`, after the record has joined the sweep's reachable level so far."""
    def listener(member: Member, epoch: int, record: dict[str, float], seconds: float) -> None:
        stopping.observe(member, record)
        if on_epoch is not None:
            on_epoch(member, epoch, record, seconds)
    return listener
