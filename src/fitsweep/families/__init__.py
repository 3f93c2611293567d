"""Model families: the kinds of network a sweep can train, behind one registry.

A family turns a sweep file's `model` section into a search space and each trial's values into
a compiled Keras model. A family whose networks stack trains them fused with its own
`train_fused` (the Dense family, `dense`, the default); every other family's models train one at
a time on `fitsweep.training.train_alone`'s path. Adding a family is its `model` section class in
`fitsweep.spec.MODEL_FAMILIES`, one module here with a class satisfying `ModelFamily`, and its
line in `FAMILIES`. Modules here import Keras only when they build a model, so reading a run's
space (the report) never imports TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import keras
    import keras_tuner

    from fitsweep.data import Splits
    from fitsweep.spec import SweepSpec
    from fitsweep.training import FusedTrainer
    from fitsweep.training.heads import Head

__all__ = ["FAMILIES", "ModelFamily", "family_for"]


class ModelFamily(Protocol):
    """What fitsweep needs of a kind of model, for one sweep."""

    @property
    def train_fused(self) -> FusedTrainer | None:
        """Its trainer of several networks stacked in one model; None: its models train one at a time.

        `fitsweep.training.train_executions` calls it (`fitsweep.training.FusedTrainer`), and
        sweeps group trials for it; a family without one has its `build` models trained alone.
        """
        ...

    def searched_parameters(self) -> dict[str, Any]:
        """Hyperparameter name -> its sweep-file form (a constant, `Choice` or `Range`), in table order."""
        ...

    def hyperparameter_names(self) -> list[str]:
        """The trials table's hyperparameter columns, in table order."""
        ...

    def declare(self, hp: keras_tuner.HyperParameters) -> None:
        """Declare the search space on `hp`, for a KerasTuner oracle."""
        ...

    def check_data(self, splits: Splits) -> None:
        """Raise `SpecError` (one line naming the key) when the sweep's models cannot take this data."""
        ...

    def build(self, values: Mapping[str, Any], splits: Splits,
              hyperparameters: keras_tuner.HyperParameters | None = None) -> keras.Model:
        """The compiled model of one trial's values, for data shaped as `splits`.

        `hyperparameters` is the trial's own KerasTuner object, when there is one: a family whose
        models declare hyperparameters as they are built (a user's build function) declares them
        there, as KerasTuner's tuners do, so the trial records them and the oracle learns them.
        """
        ...

    def parameter_count(self, values: Mapping[str, Any], splits: Splits) -> int:
        """The model's weights, as cheaply as the family can count them."""
        ...

    def head(self, splits: Splits) -> Head:
        """The models' output for the data's task and the sweep's `train.loss` (`fitsweep.training.heads`)."""
        ...


# family name -> "module:class" under fitsweep.families, imported when a sweep uses it.
FAMILIES = {
    "dense": "dense:DenseFamily",
    "build": "user_build:BuildFamily",
    "conv": "conv:ConvFamily",
}


def family_for(spec: SweepSpec) -> ModelFamily:
    """The family of a sweep's `model` section, bound to the sweep.

    Example:
        >>> from fitsweep.spec import parse_spec
        >>> family_for(parse_spec({"name": "s", "data": {"source": "moons"}})).train_fused is not None
        True
    """
    module, name = FAMILIES[spec.model.family].split(":")
    family_class = getattr(importlib.import_module(f"fitsweep.families.{module}"), name)
    family: ModelFamily = family_class(spec)
    return family
