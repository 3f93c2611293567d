"""The Dense family: fully connected networks (`network`), trained stacked in one model (`_fused`).

Its modules import Keras only when the family builds or trains a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fitsweep.results.columns import HYPERPARAMETER_COLUMNS, REGULARIZERS, REGULARIZERS_COLUMN
from fitsweep.space import declare_form
from fitsweep.spec import ModelSpec, SweepSpec

if TYPE_CHECKING:
    import keras
    import keras_tuner

    from fitsweep.data import Splits
    from fitsweep.training import EpochListener, Member, Outcome
    from fitsweep.training.heads import Head

__all__ = ["DenseFamily"]


class DenseFamily:
    """Dense networks over the data's features (`fitsweep.families.dense.network.build_network`)."""

    def __init__(self, spec: SweepSpec) -> None:
        if not isinstance(spec.model, ModelSpec):
            raise TypeError(f"the dense family cannot build a {spec.model.family} model")
        self.spec, self.model = spec, spec.model

    def searched_parameters(self) -> dict[str, Any]:
        model, train = self.model, self.spec.train
        shape = {"layers": model.layers} if model.layers is not None else {"depth": model.depth, "width": model.width}
        regularization: dict[str, Any]
        if model.regularizers is not None:
            regularization = {"regularizers": model.regularizers}
        else:
            regularization = {"dropout": model.dropout, "l1": model.l1, "l2": model.l2}
        return {
            **shape,
            "activation": model.activation,
            **regularization,
            "optimizer": train.optimizer,
            "learning_rate": train.learning_rate,
            "batch_size": train.batch_size,
        }

    def hyperparameter_names(self) -> list[str]:
        searched = self.searched_parameters()
        # A `regularizers` combination is recorded both as itself and spelled out as its parts.
        spelled_out = set(REGULARIZERS) if REGULARIZERS_COLUMN in searched else set()
        return [name for name in HYPERPARAMETER_COLUMNS if name in searched or name in spelled_out]

    def declare(self, hp: keras_tuner.HyperParameters) -> None:
        for name, form in self.searched_parameters().items():
            declare_form(hp, name, form)

    def check_data(self, splits: Splits) -> None:
        """Dense networks take any number of features."""

    def build(self, values: Mapping[str, Any], splits: Splits,
              hyperparameters: keras_tuner.HyperParameters | None = None) -> keras.Model:
        from fitsweep.families.dense.network import build_model

        return build_model(values, splits.n_features, self.head(splits))

    def parameter_count(self, values: Mapping[str, Any], splits: Splits) -> int:
        from fitsweep.families.dense.network import parameter_count

        return parameter_count(values, splits.n_features, self.head(splits))

    def head(self, splits: Splits) -> Head:
        """The networks' output for the data's task, with the sweep's `train.loss`."""
        from fitsweep.training.heads import head_for

        return head_for(splits, self.spec.train.loss)

    def train_fused(self, members: Sequence[Member], splits: Splits, *, epochs: int, objective: str | None,
                    direction: str, patience: int | None, on_epoch: EpochListener | None) -> list[Outcome]:
        """Train members stacked in one model, each as if alone (`fitsweep.families.dense._fused`)."""
        from fitsweep.families.dense._fused import train

        return train(members, splits, self.head(splits), epochs=epochs, objective=objective, direction=direction,
                     patience=patience, on_epoch=on_epoch)
