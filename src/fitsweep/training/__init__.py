"""The one door that trains fitsweep's networks: `train_executions`, fused into one model or each alone.

Every caller (the sweep, the learning curve, a retrained trial) trains through it, so a network
trains the same way whoever asks. Its parts: `_members` (what training takes and leaves),
`_models` (which members share one model, and the fresh session each model starts in),
`_selection` (each member's best epoch), `_fused` (Dense networks stacked in one model), `_alone`
(any other compiled model, one at a time) and `measurement` (how a model is measured on a split).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import keras

from fitsweep.data import Splits
from fitsweep.training._alone import ModelError, check_model, train_alone
from fitsweep.training._fused import train
from fitsweep.training._members import EpochListener, Member, Outcome
from fitsweep.training._models import MAX_FUSED_MEMBERS, fusion_key

__all__ = [
    "MAX_FUSED_MEMBERS", "Member", "Outcome", "EpochListener", "ModelError", "check_model", "fusion_key",
    "train", "train_alone", "train_executions",
]


def train_executions(
    members: Sequence[Member],
    splits: Splits,
    *,
    fused: bool,
    build: Callable[[Member], keras.Model] | None = None,
    epochs: int,
    objective: str | None = "val_crossentropy",
    direction: str = "min",
    patience: int | None = None,
    on_epoch: EpochListener | None = None,
) -> list[Outcome]:
    """Train executions as a sweep does: fused in one model (`train`), or each alone (`train_alone`).

    The one door every caller (the sweep, the learning curve, a retrained trial) trains through.

    Args:
        members: The executions; fused, they must share `fusion_key`.
        splits: The data.
        fused: Whether the family stacks its networks (`train`); else each member's model is
            `build(member)` (compiled), trained alone.
        build: Required when not `fused`.
        epochs, objective, direction, patience, on_epoch: As `train` takes them.
    """
    if fused:
        return train(members, splits, epochs=epochs, objective=objective, direction=direction, patience=patience,
                     on_epoch=on_epoch)
    if build is None:
        raise ValueError("executions trained alone need a build function")
    return [train_alone(member, functools.partial(build, member), splits, epochs=epochs,
                        batch_size=int(member.values["batch_size"]), objective=objective, direction=direction,
                        patience=patience, on_epoch=on_epoch)
            for member in members]
